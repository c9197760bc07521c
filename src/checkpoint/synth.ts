// Synthetic gpt-oss checkpoints: the exact Hugging Face layout of the released models (config.json,
// generation_config.json, tensor names, shapes, dtypes, shard split and model.safetensors.index.json,
// byte for byte for gpt-oss-20b) filled with seeded random weights. Tests and benchmarks run on
// them instead of 13 GB of downloaded weights.
//
// The weights are scaled so that a forward pass stays sane: bf16 matrices ~ N(0, 1/sqrt(fan_in)), norm
// scales 1, small biases, and MXFP4 experts with uniform random FP4 codes under one scale exponent
// chosen so each row has about the same spread (value = FP4 * 2^(scale - 127)). Every sub-layer output
// is then O(1), and so are the logits.
//
// Writing streams through two 32 MiB buffers: nothing is ever whole in memory, and generating the next
// chunk overlaps writing the last one.
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig, type ModelConfig } from "./config.js";
import { expectedTensors, HF_NAMES, type ExpectedTensor } from "./layout.js";
import { f32ToBf16, FP4_VALUES } from "./numerics.js";
import { Xoshiro128 } from "../util/prng.js";
import { pythonJson } from "./pyjson.js";
import { encodeSafetensorsHeader, writeSafetensorsStreaming, type StreamedTensor } from "./safetensors.js";

export type PresetName = "tiny" | "20b" | "120b";

export interface Preset {
  description: string;
  /** config.json of the full model, as the Hub has it */
  config: Record<string, unknown>;
  /** generation_config.json */
  generationConfig: Record<string, unknown>;
  /** null: one model.safetensors; otherwise shards of at most this many data bytes, with an index */
  maxShardBytes: number | null;
  /** a README.md saying the weights are random (for folders a user may come across) */
  readme: boolean;
}

interface Shape {
  layers: number;
  hidden: number;
  intermediate: number;
  experts: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  slidingWindow: number;
}

/** Keys whose numbers the Hub's JSON writes as Python floats (7.0, 1e-05). */
const FLOAT_KEYS = new Set([
  "attention_dropout", "initializer_range", "rms_norm_eps", "router_aux_loss_coef", "swiglu_limit",
  "beta_fast", "beta_slow", "factor",
]);

/** The Hub's config.json of gpt-oss (every key), for a given shape. */
function hubConfig(s: Shape): Record<string, unknown> {
  return {
    architectures: ["GptOssForCausalLM"],
    attention_bias: true,
    attention_dropout: 0,
    eos_token_id: 200002,
    experts_per_token: 4,
    head_dim: s.headDim,
    hidden_act: "silu",
    hidden_size: s.hidden,
    initial_context_length: 4096,
    initializer_range: 0.02,
    intermediate_size: s.intermediate,
    layer_types: layerTypes(s.layers),
    max_position_embeddings: 131072,
    model_type: "gpt_oss",
    num_attention_heads: s.heads,
    num_experts_per_tok: 4,
    num_hidden_layers: s.layers,
    num_key_value_heads: s.kvHeads,
    num_local_experts: s.experts,
    output_router_logits: false,
    pad_token_id: 199999,
    quantization_config: {
      modules_to_not_convert: ["model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"],
      quant_method: "mxfp4",
    },
    rms_norm_eps: 1e-5,
    rope_scaling: { beta_fast: 32, beta_slow: 1, factor: 32, original_max_position_embeddings: 4096, rope_type: "yarn", truncate: false },
    rope_theta: 150000,
    router_aux_loss_coef: 0.9,
    sliding_window: s.slidingWindow,
    swiglu_limit: 7,
    tie_word_embeddings: false,
    transformers_version: "4.55.0.dev0",
    use_cache: true,
    vocab_size: 201088,
  };
}

/** Sliding window on even layers, full attention on odd ones, as released. */
function layerTypes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? "sliding_attention" : "full_attention"));
}

const GENERATION_CONFIG = {
  bos_token_id: 199998,
  do_sample: true,
  eos_token_id: [200002, 199999],
  pad_token_id: 199999,
  transformers_version: "4.55.0.dev0",
};

const BIG = { hidden: 2880, intermediate: 2880, heads: 64, kvHeads: 8, headDim: 64, slidingWindow: 128 };

export const PRESETS: Readonly<Record<PresetName, Preset>> = {
  tiny: {
    description: "gpt-oss shapes in miniature (hidden 64, 4 layers, 8 experts) with the real 201,088-token vocabulary",
    config: hubConfig({ layers: 4, hidden: 64, intermediate: 96, experts: 8, heads: 8, kvHeads: 2, headDim: 16, slidingWindow: 16 }),
    generationConfig: GENERATION_CONFIG,
    maxShardBytes: null,
    readme: true,
  },
  "20b": {
    description: "gpt-oss-20b: 24 layers, 32 experts, 13,761,264,768 bytes in 3 shards",
    config: hubConfig({ ...BIG, layers: 24, experts: 32 }),
    generationConfig: GENERATION_CONFIG,
    // The Hub's split (found by replaying it): fill a shard until the next tensor would pass 4.8 GB.
    maxShardBytes: 4_800_000_000,
    readme: false,
  },
  "120b": {
    description: "gpt-oss-120b: 36 layers, 128 experts, about 65 GB in 15 shards",
    config: hubConfig({ ...BIG, layers: 36, experts: 128 }),
    generationConfig: GENERATION_CONFIG,
    // The Hub reportedly has 15 shards (model-00000-of-00014 ... model-00014-of-00014); the 20b rule
    // gives exactly 15 (4.68, 4.12, 4.63, 4.12, ... 4.01 GB). The real boundaries were not checked.
    maxShardBytes: 4_800_000_000,
    readme: false,
  },
};

/** How a tensor's bytes are made. */
export type TensorInit =
  | { kind: "normal"; std: number } // bf16 ~ N(0, std)
  | { kind: "constant"; word: number } // a repeated 32-bit pattern (bf16 ones, a scale byte)
  | { kind: "uniform" }; // uniform random bytes (MXFP4 codes)

export interface PlannedTensor {
  name: string;
  dtype: "BF16" | "U8";
  shape: number[];
  byteLength: number;
  init: TensorInit;
}

export interface ShardPlan {
  /** file name inside the checkpoint folder */
  file: string;
  tensors: PlannedTensor[];
  /** bytes of tensor data (what the index's total_size adds up) */
  dataBytes: number;
  /** bytes of the whole file, header included */
  fileBytes: number;
}

export interface SafetensorsIndex {
  metadata: { total_size: number };
  weight_map: Record<string, string>;
}

export interface CheckpointPlan {
  preset: PresetName;
  /** the config.json object */
  config: Record<string, unknown>;
  modelConfig: ModelConfig;
  shards: ShardPlan[];
  /** model.safetensors.index.json (null for a single model.safetensors) */
  index: SafetensorsIndex | null;
  /** the small files, with their exact text: config.json, generation_config.json, the index, README.md */
  files: { name: string; text: string }[];
  /** bytes of all shard files */
  weightFileBytes: number;
}

const SHARD_METADATA = { format: "pt" };

/** Everything synthesize() writes except the random bytes: file names, tensors, index, small files. */
export function planCheckpoint(preset: PresetName, layers?: number): CheckpointPlan {
  const p = PRESETS[preset];
  if (!p) throw new Error(`unknown preset "${preset}" (known: ${Object.keys(PRESETS).join(", ")})`);
  const config = structuredClone(p.config) as Record<string, unknown>;
  if (layers !== undefined) {
    if (!Number.isInteger(layers) || layers < 1) throw new Error(`layers must be an integer >= 1, got ${layers}`);
    config.num_hidden_layers = layers;
    config.layer_types = layerTypes(layers);
  }
  const modelConfig = parseConfig(config, `${preset} preset`, "hf");
  const tensors = hubOrder(modelConfig).map((e) => planTensor(e, modelConfig));

  // Greedy split in the Hub's order: a new shard starts when the next tensor would pass the limit.
  const groups: PlannedTensor[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    if (p.maxShardBytes !== null && size > 0 && size + t.byteLength > p.maxShardBytes) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1].push(t);
    size += t.byteLength;
  }
  const last = String(groups.length - 1).padStart(5, "0");
  const shards = groups.map((g, i): ShardPlan => {
    // The Hub numbers shards from 0, and "of" names the last index (an artefact of its converter).
    const file = p.maxShardBytes === null ? "model.safetensors" : `model-${String(i).padStart(5, "0")}-of-${last}.safetensors`;
    const { prefix, dataBytes } = encodeSafetensorsHeader(g, SHARD_METADATA);
    return { file, tensors: g, dataBytes, fileBytes: prefix.byteLength + dataBytes };
  });

  const files = [
    { name: "config.json", text: pythonJson(config, { indent: 2, sortKeys: true, floatKeys: FLOAT_KEYS }) + "\n" },
    { name: "generation_config.json", text: pythonJson(p.generationConfig, { indent: 2, sortKeys: true }) + "\n" },
  ];
  let index: SafetensorsIndex | null = null;
  if (p.maxShardBytes !== null) {
    const weightMap: Record<string, string> = {};
    for (const s of shards) for (const t of s.tensors) weightMap[t.name] = s.file;
    index = { metadata: { total_size: shards.reduce((a, s) => a + s.dataBytes, 0) }, weight_map: weightMap };
    files.push({ name: "model.safetensors.index.json", text: pythonJson(index) });
  }
  if (p.readme) files.push({ name: "README.md", text: readme(preset, modelConfig) });
  return { preset, config, modelConfig, shards, index, files, weightFileBytes: shards.reduce((a, s) => a + s.fileBytes, 0) };
}

/** The Hub's tensor order: layers sorted by their number as text (0, 1, 10, 11, ...), each layer's
 * tensors in the converter's order, then the embedding, final norm and unembedding. */
function hubOrder(c: ModelConfig): ExpectedTensor[] {
  const byName = new Map(expectedTensors(c, "hf").map((e) => [e.name, e]));
  const layerIds = Array.from({ length: c.numLayers }, (_, n) => String(n)).sort();
  const names: string[] = [];
  for (const id of layerIds) {
    const l = HF_NAMES.layer(Number(id));
    names.push(
      l.attnNorm, l.outBias, l.out, ...l.qkvBias, ...l.qkv, l.sinks, l.gateBias, l.gate,
      l.mlp1Bias, l.mlp1Blocks, l.mlp1Scales, l.mlp2Bias, l.mlp2Blocks, l.mlp2Scales, l.mlpNorm,
    );
  }
  names.push(HF_NAMES.embedding, HF_NAMES.norm, HF_NAMES.unembedding);
  if (names.length !== byName.size) throw new Error(`internal: hub order lists ${names.length} tensors, the layout ${byName.size}`);
  return names.map((n) => {
    const e = byName.get(n);
    if (!e) throw new Error(`internal: ${n} is not in the layout`);
    return e;
  });
}

/** RMS of a uniformly random FP4 code: sqrt(mean of the 16 values squared) ≈ 2.93. */
const FP4_RMS = Math.sqrt(FP4_VALUES.reduce((s, v) => s + v * v, 0) / 16);
const BF16_ONES = 0x3f803f80;
const BIAS_STD = 0.02;

function planTensor(e: ExpectedTensor, c: ModelConfig): PlannedTensor {
  const name = e.name;
  const byteLength = e.kind === "bytes" ? e.shape.reduce((a, b) => a * b, 1) : 2 * e.shape.reduce((a, b) => a * b, 1);
  const dtype = e.kind === "bytes" ? "U8" : "BF16";
  let init: TensorInit;
  if (name.endsWith("_blocks")) {
    init = { kind: "uniform" };
  } else if (name.endsWith("_scales")) {
    // One exponent per tensor: rows of 2^(s-127) * FP4 with spread 1/sqrt(fan_in); fan_in is H for
    // gate_up and I for down, i.e. 32 x the scales' last dimension.
    const fanIn = 32 * e.shape[e.shape.length - 1];
    const byte = 127 + Math.round(Math.log2(1 / (Math.sqrt(fanIn) * FP4_RMS)));
    init = { kind: "constant", word: byte * 0x01010101 };
  } else if (name.endsWith("layernorm.weight") || name === HF_NAMES.norm) {
    init = { kind: "constant", word: BF16_ONES };
  } else if (name === HF_NAMES.embedding) {
    init = { kind: "normal", std: 1 };
  } else if (name.endsWith(".sinks")) {
    init = { kind: "normal", std: 1 };
  } else if (name.endsWith("bias")) {
    init = { kind: "normal", std: BIAS_STD };
  } else {
    // Matrices y = W x: rows are outputs, the last dimension is fan_in.
    init = { kind: "normal", std: 1 / Math.sqrt(e.shape[e.shape.length - 1]) };
  }
  return { name, dtype, shape: e.shape, byteLength, init };
}

function readme(preset: PresetName, c: ModelConfig): string {
  return [
    `# Synthetic gpt-oss checkpoint (preset "${preset}")`,
    "",
    "**Random weights.** This folder was written by `gpt-oss-ts synth`: it has the file layout, tensor",
    "names and dtypes of a Hugging Face gpt-oss checkpoint, but every weight is seeded random noise. It",
    "exercises the engine (loading, the forward pass, sampling, the tokenizer) and produces gibberish.",
    "",
    `Shape: ${c.numLayers} layers, hidden size ${c.hiddenSize}, ${c.numExperts} experts (${c.expertsPerToken} per token),`,
    `${c.numHeads} query / ${c.numKvHeads} key-value heads of ${c.headDim}, vocabulary ${c.vocabSize} (the real one).`,
    "",
    "For the real model: `gpt-oss-ts download openai/gpt-oss-20b`.",
    "",
  ].join("\n");
}

// ---- filling ------------------------------------------------------------------------------------

/** bf16 samples of N(0, std), 65536 of them: a 16-bit random index then picks one (per std, cached). */
const normalTables = new Map<number, Uint16Array>();
function normalTable(std: number): Uint16Array {
  let t = normalTables.get(std);
  if (!t) {
    t = new Uint16Array(65536);
    const rng = Xoshiro128.forStream(0, `normal:${std}`);
    for (let i = 0; i < t.length; i += 2) {
      // Box-Muller: two independent normals from two uniforms.
      const u = 1 - rng.float(), v = rng.float();
      const r = std * Math.sqrt(-2 * Math.log(u));
      t[i] = f32ToBf16(r * Math.cos(2 * Math.PI * v));
      t[i + 1] = f32ToBf16(r * Math.sin(2 * Math.PI * v));
    }
    normalTables.set(std, t);
  }
  return t;
}

/** Fills whole 32-bit words (little-endian: the low half is the first bf16). */
function wordFiller(init: TensorInit, rng: Xoshiro128): (out: Uint32Array) => void {
  switch (init.kind) {
    case "uniform":
      return (out) => rng.fill(out);
    case "constant":
      return (out) => out.fill(init.word);
    case "normal": {
      const table = normalTable(init.std);
      return (out) => {
        rng.fill(out);
        for (let i = 0; i < out.length; i++) {
          const w = out[i];
          out[i] = table[w & 0xffff] | (table[w >>> 16] << 16);
        }
      };
    }
  }
}

/**
 * A tensor's bytes as one stream of words, served in chunks of any length at any alignment: the
 * result does not depend on how the writer cuts it (a word split across two chunks carries over).
 */
class WordStream {
  private carry = 0;
  private carried = 0;
  private static scratch = new Uint32Array(1 << 16);

  constructor(private readonly words: (out: Uint32Array) => void) {}

  fill(out: Uint8Array): void {
    const n = out.byteLength;
    let i = 0;
    for (; this.carried > 0 && i < n; this.carried--) {
      out[i++] = this.carry & 0xff;
      this.carry >>>= 8;
    }
    let whole = (n - i) >>> 2;
    if (whole > 0 && (out.byteOffset + i) % 4 === 0) {
      this.words(new Uint32Array(out.buffer, out.byteOffset + i, whole));
      i += 4 * whole;
    } else {
      const scratch = WordStream.scratch;
      while (whole > 0) {
        const w = Math.min(whole, scratch.length);
        this.words(scratch.subarray(0, w));
        out.set(new Uint8Array(scratch.buffer, 0, 4 * w), i);
        i += 4 * w;
        whole -= w;
      }
    }
    if (i < n) {
      const one = WordStream.scratch.subarray(0, 1);
      this.words(one);
      let word = one[0];
      this.carried = 4;
      for (; i < n; this.carried--) {
        out[i++] = word & 0xff;
        word >>>= 8;
      }
      this.carry = word;
    }
  }
}

/** A planned tensor's seeded bytes, for writeSafetensorsStreaming. */
export function tensorStream(t: PlannedTensor, seed: number): StreamedTensor {
  const stream = new WordStream(wordFiller(t.init, Xoshiro128.forStream(seed, t.name)));
  return { name: t.name, dtype: t.dtype, shape: t.shape, fill: (out) => stream.fill(out) };
}

export interface SynthesizeOptions {
  preset: PresetName;
  outDir: string;
  /** fewer (or more) layers than the preset; config.json says so */
  layers?: number;
  /** the same seed gives the same bytes (default 0) */
  seed?: number;
  /** bytes of weight files written so far, of the total */
  onProgress?: (done: number, total: number) => void;
}

/** Writes a synthetic checkpoint folder. The JSON files come last, so an interrupted run leaves no
 * folder that looks complete. */
export async function synthesize(options: SynthesizeOptions): Promise<void> {
  const plan = planCheckpoint(options.preset, options.layers);
  const seed = options.seed ?? 0;
  mkdirSync(options.outDir, { recursive: true });
  for (const f of plan.files) {
    const path = join(options.outDir, f.name);
    if (existsSync(path)) unlinkSync(path);
  }
  const total = plan.weightFileBytes;
  let done = 0;
  options.onProgress?.(0, total);
  for (const shard of plan.shards) {
    await writeSafetensorsStreaming(join(options.outDir, shard.file), shard.tensors.map((t) => tensorStream(t, seed)), {
      metadata: SHARD_METADATA,
      onBytes: (n) => {
        done += n;
        options.onProgress?.(done, total);
      },
    });
  }
  for (const f of plan.files) writeFileSync(join(options.outDir, f.name), f.text);
}
