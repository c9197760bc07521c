// The model configuration, read from either the Hugging Face `config.json` or the reference's
// `original/config.json`, and validated against what the forward pass needs.
import { GptOssError } from "../util/errors.js";

export type LayerType = "sliding_attention" | "full_attention";

export interface RopeConfig {
  /** θ, the RoPE base */
  theta: number;
  /** "yarn" as released; "default" is plain RoPE (no rope_scaling) */
  type: "yarn" | "default";
  /** YaRN scaling factor s (32 for gpt-oss) */
  factor: number;
  /** HF beta_fast = reference ntk_beta (32): gives the `low` end of the ramp */
  betaFast: number;
  /** HF beta_slow = reference ntk_alpha (1): gives the `high` end of the ramp */
  betaSlow: number;
  /** the pre-scaling context L0 (4096) */
  originalMaxPositionEmbeddings: number;
  /** floor/ceil the ramp bounds (false for gpt-oss) */
  truncate: boolean;
}

export interface ModelConfig {
  numLayers: number;
  hiddenSize: number;
  /** per expert; gate_up produces 2 * intermediateSize values */
  intermediateSize: number;
  numExperts: number;
  expertsPerToken: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  slidingWindow: number;
  layerTypes: LayerType[];
  rmsNormEps: number;
  swigluLimit: number;
  swigluAlpha: number;
  rope: RopeConfig;
  /** the longest context the model allows */
  maxPositionEmbeddings: number;
  /** stop tokens named by the config (may be empty) */
  eosTokenIds: number[];
}

export class ConfigError extends GptOssError {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

type Json = Record<string, unknown>;

/**
 * The largest value accepted for each size, far past any gpt-oss model (gpt-oss-120b: 36 layers, hidden
 * 2880, 128 experts, 64 heads of 64, context 131072) but small enough that nothing sized from them can
 * exhaust memory before the tensors are compared with the config: a value past them is corrupt or hostile.
 */
export const CONFIG_LIMITS: Readonly<Record<string, number>> = {
  num_hidden_layers: 1024,
  hidden_size: 65536,
  intermediate_size: 1 << 20,
  num_local_experts: 4096,
  num_experts: 4096,
  num_experts_per_tok: 4096,
  experts_per_token: 4096,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 4096,
  vocab_size: 1 << 24,
  // A window longer than the context is the whole context (the KV ring is sized by both).
  sliding_window: 2 ** 31 - 1,
  max_position_embeddings: 1 << 24,
};

/** Parses a Hugging Face config.json (`kind: "hf"`) or an original/config.json (`kind: "original"`). */
export function parseConfig(raw: unknown, file: string, kind: "hf" | "original"): ModelConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(file, "config is not a JSON object");
  const j = raw as Json;
  const int = (key: string, min = 1): number => {
    const v = j[key];
    const max = CONFIG_LIMITS[key] ?? Number.MAX_SAFE_INTEGER;
    if (v === undefined) throw new ConfigError(file, `missing key "${key}"`);
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(file, `"${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const num = (key: string, fallback?: number, obj: Json = j): number => {
    const v = obj[key];
    if (v === undefined) {
      if (fallback === undefined) throw new ConfigError(file, `missing key "${key}"`);
      return fallback;
    }
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ConfigError(file, `"${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };

  const numLayers = int("num_hidden_layers");
  const hf = kind === "hf";
  const cfg: ModelConfig = {
    numLayers,
    hiddenSize: int("hidden_size"),
    intermediateSize: int("intermediate_size"),
    numExperts: int(hf ? "num_local_experts" : "num_experts"),
    expertsPerToken: hf && j.num_experts_per_tok !== undefined ? int("num_experts_per_tok") : int("experts_per_token"),
    numHeads: int("num_attention_heads"),
    numKvHeads: int("num_key_value_heads"),
    headDim: int("head_dim"),
    vocabSize: int("vocab_size"),
    slidingWindow: int("sliding_window"),
    layerTypes: [],
    // The reference hard-codes 1e-5; HF stores it.
    rmsNormEps: hf ? num("rms_norm_eps", 1e-5) : 1e-5,
    swigluLimit: num("swiglu_limit"),
    swigluAlpha: num("swiglu_alpha", 1.702),
    rope: hf ? hfRope(j, file, num) : originalRope(j, num),
    maxPositionEmbeddings: 0,
    eosTokenIds: [],
  };
  cfg.maxPositionEmbeddings = hf
    ? int("max_position_embeddings")
    : Math.round(cfg.rope.originalMaxPositionEmbeddings * (cfg.rope.type === "yarn" ? cfg.rope.factor : 1));
  if (!hf && !(cfg.maxPositionEmbeddings >= 1 && cfg.maxPositionEmbeddings <= CONFIG_LIMITS.max_position_embeddings)) {
    throw new ConfigError(file, `the context, initial_context_length x rope_scaling_factor, is ${cfg.maxPositionEmbeddings}; expected 1 to ${CONFIG_LIMITS.max_position_embeddings}`);
  }

  // layer_types: HF lists them; the reference alternates, sliding on even layers (0, 2, ...).
  const lt = j.layer_types;
  if (lt === undefined) {
    cfg.layerTypes = Array.from({ length: numLayers }, (_, i) => (i % 2 === 0 ? "sliding_attention" : "full_attention"));
  } else {
    if (!Array.isArray(lt)) throw new ConfigError(file, `"layer_types" must be a list`);
    if (lt.length !== numLayers) {
      throw new ConfigError(file, `"layer_types" has ${lt.length} entries but num_hidden_layers is ${numLayers}`);
    }
    lt.forEach((t, i) => {
      if (t !== "sliding_attention" && t !== "full_attention") {
        throw new ConfigError(file, `layer_types[${i}] is ${JSON.stringify(t)}; expected "sliding_attention" or "full_attention"`);
      }
    });
    cfg.layerTypes = lt as LayerType[];
  }

  const eos = j.eos_token_id;
  if (typeof eos === "number") cfg.eosTokenIds = [eos];
  else if (Array.isArray(eos)) cfg.eosTokenIds = eos.filter((x): x is number => typeof x === "number");
  for (const id of cfg.eosTokenIds) {
    if (!(Number.isInteger(id) && id >= 0 && id < cfg.vocabSize)) {
      throw new ConfigError(file, `"eos_token_id" ${id} is not a token id of the vocabulary (0..${cfg.vocabSize - 1})`);
    }
  }

  if (hf) {
    if (j.tie_word_embeddings === true) throw new ConfigError(file, "tie_word_embeddings is true, but gpt-oss has a separate lm_head (untied); this is not a gpt-oss config");
    if (j.attention_bias === false) throw new ConfigError(file, "attention_bias is false, but gpt-oss attention projections have biases");
  }
  validate(cfg, file);
  return cfg;
}

function hfRope(j: Json, file: string, num: (k: string, f?: number, o?: Json) => number): RopeConfig {
  const theta = num("rope_theta");
  const rs = j.rope_scaling;
  if (rs === undefined || rs === null) {
    return { theta, type: "default", factor: 1, betaFast: 0, betaSlow: 0, originalMaxPositionEmbeddings: num("max_position_embeddings"), truncate: false };
  }
  if (typeof rs !== "object" || Array.isArray(rs)) throw new ConfigError(file, `"rope_scaling" must be an object`);
  const r = rs as Json;
  const type = r.rope_type ?? r.type;
  if (type === "default") {
    return { theta, type: "default", factor: 1, betaFast: 0, betaSlow: 0, originalMaxPositionEmbeddings: num("max_position_embeddings"), truncate: false };
  }
  if (type !== "yarn") {
    throw new ConfigError(file, `unknown rope_scaling.rope_type ${JSON.stringify(type)}; gpt-oss uses "yarn" (supported: yarn, default)`);
  }
  return {
    theta,
    type: "yarn",
    factor: num("factor", undefined, r),
    betaFast: num("beta_fast", 32, r),
    betaSlow: num("beta_slow", 1, r),
    originalMaxPositionEmbeddings: num("original_max_position_embeddings", num("initial_context_length", 4096), r),
    truncate: r.truncate === true,
  };
}

function originalRope(j: Json, num: (k: string, f?: number) => number): RopeConfig {
  return {
    theta: num("rope_theta"),
    type: "yarn",
    factor: num("rope_scaling_factor"),
    betaFast: num("rope_ntk_beta"),
    betaSlow: num("rope_ntk_alpha"),
    originalMaxPositionEmbeddings: num("initial_context_length"),
    truncate: false,
  };
}

function validate(c: ModelConfig, file: string): void {
  const fail = (msg: string) => {
    throw new ConfigError(file, msg);
  };
  if (c.numHeads % c.numKvHeads !== 0) {
    fail(`num_attention_heads (${c.numHeads}) must be a multiple of num_key_value_heads (${c.numKvHeads})`);
  }
  if (c.headDim % 2 !== 0) fail(`head_dim (${c.headDim}) must be even for RoPE`);
  if (c.expertsPerToken > c.numExperts) fail(`experts per token (${c.expertsPerToken}) exceeds the number of experts (${c.numExperts})`);
  // MXFP4 packs each row in groups of 32 input values.
  if (c.hiddenSize % 32 !== 0) fail(`hidden_size (${c.hiddenSize}) must be a multiple of 32 (MXFP4 block size)`);
  if (c.intermediateSize % 32 !== 0) fail(`intermediate_size (${c.intermediateSize}) must be a multiple of 32 (MXFP4 block size)`);
  if (!(c.rmsNormEps > 0)) fail(`rms_norm_eps must be positive`);
  if (!(c.swigluLimit > 0)) fail(`swiglu_limit must be positive`);
  if (!(c.rope.theta > 1)) fail(`rope_theta must be > 1`);
  if (c.rope.type === "yarn") {
    if (!(c.rope.factor >= 1)) fail(`rope_scaling.factor must be >= 1`);
    if (!(c.rope.betaFast > 0 && c.rope.betaSlow > 0)) fail(`rope_scaling beta_fast and beta_slow must be positive`);
  }
  if (!(c.rope.originalMaxPositionEmbeddings >= 1)) fail(`the original context (original_max_position_embeddings, initial_context_length) must be >= 1`);
}

/** Bytes of one token's K and V for every layer, f32 (for memory estimates). */
export function kvBytesPerToken(c: ModelConfig): number {
  return 2 * c.numKvHeads * c.headDim * 4;
}
