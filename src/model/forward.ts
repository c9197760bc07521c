// The gpt-oss forward pass, top to bottom. Pre-norm residual blocks: attention with sinks (sliding
// window on the sliding layers), then a mixture of experts with MXFP4 weights; a final norm and an
// untied unembedding. All heavy work goes through `Kernels`; this file only says what is computed.
//
//   x = embedding[tokens]
//   for each layer:  x = x + attention(rmsnorm(x));  x = x + moe(rmsnorm(x))
//   logits = unembedding · rmsnorm(x)
import type { ModelConfig } from "../checkpoint/config.js";
import type { ModelWeights } from "../checkpoint/weights.js";
import type { Kernels } from "../backends/kernels.js";
import type { LoraAdapter } from "../lora/weights.js";
import { LoraPass } from "../lora/apply.js";
import { KVCache } from "./kv-cache.js";
import { Rope } from "./rope.js";
import { GptOssError } from "../util/errors.js";

/** Names of the activations a caller may observe, as in the reference goldens. */
export type ActivationName =
  | "embedding" | "attn_norm" | "qkv" | "q_rope" | "k_rope" | "attn_ctx" | "attn_resid"
  | "mlp_norm" | "router_logits" | "topk_idx" | "topk_w" | "block_out" | "final_norm" | "logits";

/**
 * Sees each activation as it is computed: `data` is the live buffer, [T, ...] row-major (its first
 * `T * width` values), valid during the call; a hook may change it in place to intervene.
 * `layer` is -1 outside the blocks.
 */
export type Observer = (name: ActivationName, layer: number, data: Float32Array | Int32Array, width: number) => void;

export interface ForwardOptions {
  /** "last" (default) returns [V] logits of the last token; "all" returns [T, V]; "none" skips the unembedding */
  logits?: "last" | "all" | "none";
  observe?: Observer;
}

export class InputError extends GptOssError {}

export class Transformer {
  readonly rope: Rope;
  private activations: ActivationBuffers | null = null;
  /** the adapters' updates beside the weights (null: none) */
  private readonly lora: LoraPass | null;

  constructor(readonly config: ModelConfig, readonly weights: ModelWeights, readonly kernels: Kernels,
    /** LoRA adapters applied beside the weights (src/lora/), loaded for this config */
    readonly adapters: readonly LoraAdapter[] = []) {
    this.rope = new Rope(config.headDim, config.rope);
    this.lora = adapters.length > 0 ? new LoraPass(config, adapters) : null;
  }

  /** An empty KV cache for this model, holding at most `contextLength` positions (default: the model's limit). */
  newCache(contextLength?: number): KVCache {
    return new KVCache(this.config, undefined, contextLength, this.kernels);
  }

  /**
   * Runs `tokens` at positions cache.length, cache.length + 1, ... and appends them to the cache.
   * Prefill and decode are the same call: decode passes one token.
   */
  forward(tokens: ArrayLike<number>, cache: KVCache, options: ForwardOptions = {}): Float32Array {
    const c = this.config, w = this.weights, kernels = this.kernels;
    const T = tokens.length;
    const pos0 = cache.length;
    this.checkInput(tokens, pos0, cache.contextLength);
    const observe = options.observe;

    const H = c.hiddenSize, d = c.headDim, nq = c.numHeads, nkv = c.numKvHeads;
    const qw = nq * d, kvw = nkv * d, E = c.numExperts, topK = c.expertsPerToken;
    const heads = { nq, nkv, headDim: d };
    const s = this.buffers(T);

    kernels.embed(s.x, w.embedding, tokens);                            // x        [T, H]
    observe?.("embedding", -1, s.x, H);
    this.rope.table(pos0, T, s.cos, s.sin);                             // cos, sin [T, d/2]

    for (let l = 0; l < c.numLayers; l++) {
      const lw = w.layers[l];

      // ---- attention ----
      kernels.rmsnorm(s.norm, s.x, lw.attnNorm, c.rmsNormEps, T, H);    // norm [T, H]
      observe?.("attn_norm", l, s.norm, H);
      kernels.matmul(s.qkv, s.norm, lw.qkv, lw.qkvBias, T);             // qkv  [T, qw + 2 kvw], bias before RoPE
      this.lora?.qkv(kernels, l, s.qkv, s.norm, T);                     //      + s B (A x) of each adapter
      observe?.("qkv", l, s.qkv, qw + 2 * kvw);
      splitQkv(s.qkv, s.q, s.keys, s.values, T, qw, kvw);               // q [T, qw], keys, values [T, kvw]
      kernels.rope(s.q, s.cos, s.sin, T, nq, d);
      kernels.rope(s.keys, s.cos, s.sin, T, nkv, d);
      observe?.("q_rope", l, s.q, qw);
      observe?.("k_rope", l, s.keys, kvw);
      // Each query over the cached positions it sees and its chunk's own (causal); then the chunk's
      // keys and values join the cache. Decode is a chunk of one.
      const chunk = { q: s.q, k: s.keys, v: s.values, pos0, T };
      kernels.attention(s.ctx, chunk, cache.layers[l], lw.sinks, heads); // ctx [T, qw]
      observe?.("attn_ctx", l, s.ctx, qw);
      kernels.matmul(s.proj, s.ctx, lw.out, lw.outBias, T);             // proj [T, H]
      this.lora?.out(kernels, l, s.proj, s.ctx, T);
      addInto(s.x, s.proj, T * H);                                      // x = x + attention
      observe?.("attn_resid", l, s.x, H);

      // ---- mixture of experts ----
      kernels.rmsnorm(s.norm, s.x, lw.mlpNorm, c.rmsNormEps, T, H);     // norm [T, H]
      observe?.("mlp_norm", l, s.norm, H);
      kernels.matmul(s.routerLogits, s.norm, lw.gate, lw.gateBias, T);  // routerLogits [T, E]
      observe?.("router_logits", l, s.routerLogits, E);
      kernels.topk(s.topkIdx, s.topkW, s.routerLogits, T, E, topK);     // topkIdx, topkW [T, topK]
      observe?.("topk_idx", l, s.topkIdx, topK);
      observe?.("topk_w", l, s.topkW, topK);
      s.proj.fill(0, 0, T * H);                                         // proj [T, H]: the weighted expert sum
      for (const { expert, rows, weights, n } of groupByExpert(s, T, E, topK)) {
        const add = this.lora?.expertUp(kernels, l, expert, s.norm, rows, n) ?? null; // adapters' gate_up update [n, 2I]
        kernels.expertUp(s.act, s.norm, lw.mlp1, lw.mlp1Bias, expert, rows, n, c.swigluLimit, c.swigluAlpha, add); // act [n, I]
        kernels.expertDown(s.proj, s.act, lw.mlp2, lw.mlp2Bias, expert, rows, weights, n);
        this.lora?.expertDown(kernels, l, expert, s.proj, s.act, rows, weights, n);
      }
      addInto(s.x, s.proj, T * H);                                      // x = x + moe
      observe?.("block_out", l, s.x, H);
    }
    cache.length = pos0 + T;

    kernels.rmsnorm(s.norm, s.x, w.norm, c.rmsNormEps, T, H);           // norm [T, H]
    observe?.("final_norm", -1, s.norm, H);
    const which = options.logits ?? "last";
    if (which === "none") return new Float32Array(0);
    const rows = which === "all" ? T : 1;
    const logits = new Float32Array(rows * c.vocabSize);               // logits [rows, V]
    kernels.matmul(logits, s.norm.subarray((T - rows) * H), w.unembedding, null, rows);
    observe?.("logits", -1, logits, c.vocabSize);
    return logits;
  }

  private checkInput(tokens: ArrayLike<number>, pos0: number, contextLength: number): void {
    const c = this.config;
    if (tokens.length === 0) throw new InputError("no tokens to run");
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i];
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
        throw new InputError(`token id ${id} at index ${i} is out of range: the vocabulary has ids 0..${c.vocabSize - 1}`);
      }
    }
    if (pos0 + tokens.length > contextLength) {
      throw new InputError(contextLength === c.maxPositionEmbeddings
        ? `context of ${pos0 + tokens.length} tokens exceeds the model's limit of ${c.maxPositionEmbeddings} (max_position_embeddings)`
        : `context of ${pos0 + tokens.length} tokens exceeds the context length of ${contextLength} this cache was made for (contextLength)`);
    }
  }

  private buffers(T: number): ActivationBuffers {
    if (!this.activations || this.activations.T < T) this.activations = new ActivationBuffers(this.config, T);
    return this.activations;
  }
}

/** Activation buffers, sized for up to T tokens and reused across calls. */
class ActivationBuffers {
  readonly x: Float32Array; readonly norm: Float32Array; readonly qkv: Float32Array;
  readonly q: Float32Array; readonly keys: Float32Array; readonly values: Float32Array;
  readonly ctx: Float32Array; readonly proj: Float32Array; readonly cos: Float32Array; readonly sin: Float32Array;
  readonly routerLogits: Float32Array; readonly topkIdx: Int32Array; readonly topkW: Float32Array;
  readonly act: Float32Array; readonly rows: Int32Array; readonly rowWeights: Float32Array;

  constructor(c: ModelConfig, readonly T: number) {
    const H = c.hiddenSize, qw = c.numHeads * c.headDim, kvw = c.numKvHeads * c.headDim;
    this.x = new Float32Array(T * H);
    this.norm = new Float32Array(T * H);
    this.qkv = new Float32Array(T * (qw + 2 * kvw));
    this.q = new Float32Array(T * qw);
    this.keys = new Float32Array(T * kvw);
    this.values = new Float32Array(T * kvw);
    this.ctx = new Float32Array(T * qw);
    this.proj = new Float32Array(T * H);
    this.cos = new Float32Array((T * c.headDim) / 2);
    this.sin = new Float32Array((T * c.headDim) / 2);
    this.routerLogits = new Float32Array(T * c.numExperts);
    this.topkIdx = new Int32Array(T * c.expertsPerToken);
    this.topkW = new Float32Array(T * c.expertsPerToken);
    this.act = new Float32Array(T * c.intermediateSize);
    // Token lists per expert, packed: expert e's tokens are one contiguous run.
    this.rows = new Int32Array(T * c.expertsPerToken);
    this.rowWeights = new Float32Array(T * c.expertsPerToken);
  }
}

function splitQkv(qkv: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, T: number, qw: number, kvw: number): void {
  const width = qw + 2 * kvw;
  for (let t = 0; t < T; t++) {
    const o = t * width;
    q.set(qkv.subarray(o, o + qw), t * qw);
    k.set(qkv.subarray(o + qw, o + qw + kvw), t * kvw);
    v.set(qkv.subarray(o + qw + kvw, o + width), t * kvw);
  }
}

function addInto(x: Float32Array, y: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) x[i] += y[i];
}

/** The tokens routed to each expert (so each expert's weights are read once per batch), in expert order. */
function* groupByExpert(s: ActivationBuffers, T: number, E: number, topK: number) {
  const counts = new Int32Array(E + 1);
  for (let i = 0; i < T * topK; i++) counts[s.topkIdx[i] + 1]++;
  for (let e = 0; e < E; e++) counts[e + 1] += counts[e]; // counts[e] = start of expert e's run
  const fill = counts.slice(0, E);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < topK; j++) {
      const e = s.topkIdx[t * topK + j];
      s.rows[fill[e]] = t;
      s.rowWeights[fill[e]++] = s.topkW[t * topK + j];
    }
  }
  for (let e = 0; e < E; e++) {
    const n = counts[e + 1] - counts[e];
    if (n > 0) yield { expert: e, rows: s.rows.subarray(counts[e], counts[e + 1]), weights: s.rowWeights.subarray(counts[e], counts[e + 1]), n };
  }
}
