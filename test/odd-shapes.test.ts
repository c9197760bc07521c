// Nothing may assume the dev shapes: a checkpoint with odd sizes everywhere (head_dim 12, 6 query heads
// over 3 KV heads, 5 experts with 3 per token, vocab 777, window 5, sliding layers not on even indices,
// other YaRN parameters) loads, runs finite, and its KV cache equals recomputation.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectedTensors } from "../src/checkpoint/layout.js";
import { parseConfig } from "../src/checkpoint/config.js";
import { loadModel } from "../src/model/model.js";
import { bf16ToF32, decodeMxfp4, f32ToBf16 } from "../src/checkpoint/numerics.js";
import { Xoshiro128 } from "../src/util/prng.js";
import { SafetensorsFile, writeSafetensors } from "../src/checkpoint/safetensors.js";
import { maxAbsDiff, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const config = {
  architectures: ["GptOssForCausalLM"], model_type: "gpt_oss", attention_bias: true, tie_word_embeddings: false,
  hidden_size: 96, intermediate_size: 160, num_hidden_layers: 3, head_dim: 12, num_attention_heads: 6, num_key_value_heads: 3,
  num_local_experts: 5, num_experts_per_tok: 3, experts_per_token: 3, vocab_size: 777, sliding_window: 5,
  layer_types: ["full_attention", "sliding_attention", "sliding_attention"], rms_norm_eps: 1e-6, swiglu_limit: 5.0,
  rope_theta: 10000, max_position_embeddings: 2048, initial_context_length: 256,
  rope_scaling: { rope_type: "yarn", factor: 8.0, beta_fast: 16.0, beta_slow: 2.0, original_max_position_embeddings: 256, truncate: false },
};

function writeOddCheckpoint(dir: string, seed: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  const c = parseConfig(config, "config.json", "hf");
  const rng = new Xoshiro128(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
  const tensors = expectedTensors(c, "hf").map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.kind === "bytes") {
      const scales = t.name.endsWith("_scales");
      // scales 2^-6..2^-4 keep the experts O(1); blocks are any FP4 codes
      return { name: t.name, dtype: "U8", shape: t.shape, data: new Uint8Array(n).map(() => (scales ? 121 + Math.floor(rng.float() * 3) : Math.floor(rng.float() * 256))) };
    }
    const isNorm = t.name.endsWith("layernorm.weight") || t.name === "model.norm.weight";
    const std = isNorm ? 0.1 : t.kind === "vector" ? 0.2 : 1 / Math.sqrt(t.shape[t.shape.length - 1]);
    const data = new Uint16Array(n).map(() => f32ToBf16((isNorm ? 1 : 0) + std * normal()));
    return { name: t.name, dtype: "BF16", shape: t.shape, data };
  });
  writeSafetensors(join(dir, "model.safetensors"), tensors);
}

describe("odd shapes", () => {
  it("runs finite and decodes with the cache exactly as it recomputes", async () => {
    const dir = join(tmp, "odd");
    writeOddCheckpoint(dir, 99);
    const model = await loadModel(dir);
    expect(model.config.layerTypes).toEqual(config.layer_types);
    const V = 777;
    const seq = Array.from({ length: 17 }, (_, i) => (i * 131 + 5) % V);
    const full = model.forward(seq);
    expect(full.every(Number.isFinite)).toBe(true);
    const rms = Math.sqrt(full.reduce((s, x) => s + x * x, 0) / full.length);
    expect(rms).toBeGreaterThan(0.05);
    expect(rms).toBeLessThan(50);
    const cache = model.newCache();
    for (let t = 0; t < seq.length; t++) {
      const step = model.transformer.forward([seq[t]], cache);
      expect(maxAbsDiff(step, full.subarray(t * V, (t + 1) * V)), `position ${t}`).toBeLessThan(1e-4);
    }
    // layer types come from the config, not from the parity of the layer index
    expect(cache.layers.map((l) => l.sliding)).toEqual([false, true, true]);
  });

  it("matches an independent float64 forward written the way the PyTorch reference computes it", async () => {
    const dir = join(tmp, "odd2");
    writeOddCheckpoint(dir, 7);
    const model = await loadModel(dir);
    const seq = Array.from({ length: 11 }, (_, i) => (i * 71 + 3) % 777);
    const ours = model.forward(seq);
    const theirs = naiveForward(dir, seq);
    expect(maxAbsDiff(ours, theirs)).toBeLessThan(1e-4); // measured: 1.1e-6
  });
});

/**
 * A second, deliberately different implementation: whole-matrix dequantization, the attention matrix
 * built with masks and a sink column as in the reference, float64 throughout. Shares nothing with the
 * engine but the safetensors reader and the bf16/MXFP4 decoders (tested bit-exactly elsewhere).
 */
function naiveForward(dir: string, ids: number[]): Float64Array {
  const f = SafetensorsFile.open(join(dir, "model.safetensors"));
  const get = (name: string): Float64Array => {
    const t = f.get(name);
    const b = new Uint8Array(t.byteLength);
    f.readInto(name, b);
    return Float64Array.from(new Uint16Array(b.buffer), bf16ToF32);
  };
  const bytes = (name: string) => {
    const b = new Uint8Array(f.get(name).byteLength);
    f.readInto(name, b);
    return b;
  };
  const c = config, H = c.hidden_size, d = c.head_dim, nq = c.num_attention_heads, nkv = c.num_key_value_heads;
  const E = c.num_local_experts, k = c.num_experts_per_tok, I = c.intermediate_size, T = ids.length, lim = c.swiglu_limit;
  const linear = (x: Float64Array[], w: Float64Array, b: Float64Array | null, out: number) =>
    x.map((row) => Float64Array.from({ length: out }, (_, r) => row.reduce((s, xv, i) => s + xv * w[r * row.length + i], b ? b[r] : 0)));
  const norm = (x: Float64Array[], g: Float64Array) =>
    x.map((row) => { const r = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / row.length + c.rms_norm_eps); return row.map((v, i) => v * r * g[i]); });
  // YaRN, from the formulas (float64)
  const half = d / 2, s = c.rope_scaling.factor, L0 = c.rope_scaling.original_max_position_embeddings;
  const low = (half * Math.log(L0 / (c.rope_scaling.beta_fast * 2 * Math.PI))) / Math.log(c.rope_theta);
  const high = (half * Math.log(L0 / (c.rope_scaling.beta_slow * 2 * Math.PI))) / Math.log(c.rope_theta);
  const conc = 0.1 * Math.log(s) + 1;
  const inv = Array.from({ length: half }, (_, i) => {
    const freq = c.rope_theta ** ((2 * i) / d), mask = 1 - Math.min(1, Math.max(0, (i - low) / (high - low)));
    return (1 / (s * freq)) * (1 - mask) + (1 / freq) * mask;
  });
  const rope = (v: Float64Array, p: number) => {
    const o = new Float64Array(d);
    for (let i = 0; i < half; i++) {
      const cs = Math.cos(p * inv[i]) * conc, sn = Math.sin(p * inv[i]) * conc;
      o[i] = v[i] * cs - v[i + half] * sn;
      o[i + half] = v[i + half] * cs + v[i] * sn;
    }
    return o;
  };
  let x = ids.map((id) => get("model.embed_tokens.weight").slice(id * H, (id + 1) * H));
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const a = norm(x, get(`${p}input_layernorm.weight`));
    const q = linear(a, get(`${p}self_attn.q_proj.weight`), get(`${p}self_attn.q_proj.bias`), nq * d);
    const kk = linear(a, get(`${p}self_attn.k_proj.weight`), get(`${p}self_attn.k_proj.bias`), nkv * d);
    const vv = linear(a, get(`${p}self_attn.v_proj.weight`), get(`${p}self_attn.v_proj.bias`), nkv * d);
    const sinks = get(`${p}self_attn.sinks`);
    const sliding = c.layer_types[l] === "sliding_attention";
    const ctx = Array.from({ length: T }, () => new Float64Array(nq * d));
    for (let h = 0; h < nq; h++) {
      const j = Math.floor(h / (nq / nkv));
      for (let qi = 0; qi < T; qi++) {
        const qh = rope(q[qi].slice(h * d, (h + 1) * d), qi);
        const row = Array.from({ length: T + 1 }, (_, t) => {
          if (t === T) return sinks[h];
          if (t > qi || (sliding && t <= qi - c.sliding_window)) return -Infinity;
          const kh = rope(kk[t].slice(j * d, (j + 1) * d), t);
          return qh.reduce((sum, v, i) => sum + v * kh[i], 0) / Math.sqrt(d);
        });
        const m = Math.max(...row), ex = row.map((z) => Math.exp(z - m)), den = ex.reduce((u, v) => u + v, 0);
        for (let t = 0; t < T; t++) for (let i = 0; i < d; i++) ctx[qi][h * d + i] += (ex[t] / den) * vv[t][j * d + i];
      }
    }
    const o = linear(ctx, get(`${p}self_attn.o_proj.weight`), get(`${p}self_attn.o_proj.bias`), H);
    x = x.map((row, t) => row.map((v, i) => v + o[t][i]));
    const m = norm(x, get(`${p}post_attention_layernorm.weight`));
    const logits = linear(m, get(`${p}mlp.router.weight`), get(`${p}mlp.router.bias`), E);
    const W1 = decodeMxfp4(bytes(`${p}mlp.experts.gate_up_proj_blocks`), bytes(`${p}mlp.experts.gate_up_proj_scales`), E * 2 * I, H);
    const W2 = decodeMxfp4(bytes(`${p}mlp.experts.down_proj_blocks`), bytes(`${p}mlp.experts.down_proj_scales`), E * H, I);
    const b1 = get(`${p}mlp.experts.gate_up_proj_bias`), b2 = get(`${p}mlp.experts.down_proj_bias`);
    x = x.map((row, t) => {
      const top = Array.from({ length: E }, (_, e) => e).sort((u, v) => logits[t][v] - logits[t][u]).slice(0, k);
      const mx = logits[t][top[0]], ws = top.map((e) => Math.exp(logits[t][e] - mx)), z = ws.reduce((u, v) => u + v, 0);
      const out = Float64Array.from(row);
      top.forEach((e, n) => {
        const h1 = Float64Array.from({ length: 2 * I }, (_, r) => m[t].reduce((sum, v, i) => sum + v * W1[(e * 2 * I + r) * H + i], b1[e * 2 * I + r]));
        const act = Float64Array.from({ length: I }, (_, i) => {
          const g = Math.min(h1[2 * i], lim), lin = Math.max(-lim, Math.min(h1[2 * i + 1], lim));
          return (g / (1 + Math.exp(-1.702 * g))) * (lin + 1);
        });
        for (let r = 0; r < H; r++) out[r] += (ws[n] / z) * act.reduce((sum, v, i) => sum + v * W2[(e * H + r) * I + i], b2[e * H + r]);
      });
      return out;
    });
  }
  const fin = norm(x, get("model.norm.weight"));
  const out = linear(fin, get("lm_head.weight"), null, c.vocab_size);
  f.close();
  const flat = new Float64Array(T * c.vocab_size);
  out.forEach((row, t) => flat.set(row, t * c.vocab_size));
  return flat;
}
