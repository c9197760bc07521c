// A small random-weight checkpoint with the real vocabulary (201088), so the real tokenizer and Harmony
// can drive it. Hidden size 64 keeps it at about 52 MB and a decode step at a few milliseconds.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expectedTensors } from "../src/checkpoint/layout.js";
import { parseConfig } from "../src/checkpoint/config.js";
import { f32ToBf16 } from "../src/numerics.js";
import { Rng } from "../src/sampling.js";
import { writeSafetensors } from "../src/safetensors.js";

export const REAL_VOCAB_CONFIG = {
  architectures: ["GptOssForCausalLM"], model_type: "gpt_oss", attention_bias: true, tie_word_embeddings: false,
  hidden_size: 64, intermediate_size: 64, num_hidden_layers: 2, head_dim: 16, num_attention_heads: 4, num_key_value_heads: 2,
  num_local_experts: 4, num_experts_per_tok: 2, experts_per_token: 2, vocab_size: 201088, sliding_window: 16,
  layer_types: ["sliding_attention", "full_attention"], rms_norm_eps: 1e-5, swiglu_limit: 7.0,
  rope_theta: 150000, max_position_embeddings: 4096, initial_context_length: 4096,
  rope_scaling: { rope_type: "yarn", factor: 1.0, beta_fast: 32.0, beta_slow: 1.0, original_max_position_embeddings: 4096, truncate: false },
};

export function writeRandomCheckpoint(dir: string, seed = 1): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(REAL_VOCAB_CONFIG));
  const c = parseConfig(REAL_VOCAB_CONFIG, "config.json", "hf");
  const rng = new Rng(seed);
  const tensors = expectedTensors(c, "hf").map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.kind === "bytes") {
      const scales = t.name.endsWith("_scales");
      return { name: t.name, dtype: "U8", shape: t.shape, data: new Uint8Array(n).map(() => (scales ? 121 + Math.floor(rng.next() * 3) : Math.floor(rng.next() * 256))) };
    }
    const isNorm = t.name.endsWith("layernorm.weight") || t.name === "model.norm.weight";
    // uniform with standard deviation `std` (sqrt(3) * std half-width)
    const std = isNorm ? 0.1 : t.kind === "vector" ? 0.2 : 1 / Math.sqrt(t.shape[t.shape.length - 1]);
    const data = new Uint16Array(n);
    for (let i = 0; i < n; i++) data[i] = f32ToBf16((isNorm ? 1 : 0) + std * Math.sqrt(3) * (2 * rng.next() - 1));
    return { name: t.name, dtype: "BF16", shape: t.shape, data };
  });
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  return dir;
}
