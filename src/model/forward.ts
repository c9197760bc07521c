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
  private scratch: Scratch | null = null;

  constructor(readonly config: ModelConfig, readonly weights: ModelWeights, readonly kernels: Kernels) {
    this.rope = new Rope(config.headDim, config.rope);
  }

  /** An empty KV cache for this model, holding at most `contextLength` positions (default: the model's limit). */
  newCache(contextLength?: number): KVCache {
    return new KVCache(this.config, undefined, contextLength);
  }

  /**
   * Runs `tokens` at positions cache.length, cache.length + 1, ... and appends them to the cache.
   * Prefill and decode are the same call: decode passes one token.
   */
  forward(tokens: ArrayLike<number>, cache: KVCache, options: ForwardOptions = {}): Float32Array {
    const c = this.config, w = this.weights, K = this.kernels;
    const T = tokens.length;
    const pos0 = cache.length;
    this.checkInput(tokens, pos0, cache.contextLength);
    const observe = options.observe;

    const H = c.hiddenSize, d = c.headDim, nq = c.numHeads, nkv = c.numKvHeads;
    const qw = nq * d, kvw = nkv * d, E = c.numExperts, k = c.expertsPerToken;
    const s = this.buffers(T);

    K.embed(s.x, w.embedding, tokens);                   // x        [T, H]
    observe?.("embedding", -1, s.x, H);
    this.rope.table(pos0, T, s.cos, s.sin);              // cos, sin [T, d/2]

    for (let l = 0; l < c.numLayers; l++) {
      const lw = w.layers[l];

      // ---- attention ----
      K.rmsnorm(s.norm, s.x, lw.attnNorm, c.rmsNormEps, T, H);   // norm [T, H]
      observe?.("attn_norm", l, s.norm, H);
      K.matmul(s.qkv, s.norm, lw.qkv, lw.qkvBias, T);            // qkv  [T, qw + 2 kvw], bias before RoPE
      observe?.("qkv", l, s.qkv, qw + 2 * kvw);
      splitQkv(s.qkv, s.q, s.k, s.v, T, qw, kvw);                // q [T, qw], k, v [T, kvw]
      K.rope(s.q, s.cos, s.sin, T, nq, d);
      K.rope(s.k, s.cos, s.sin, T, nkv, d);
      observe?.("q_rope", l, s.q, qw);
      observe?.("k_rope", l, s.k, kvw);
      const lc = cache.layers[l];
      if (T === 1) {
        // Decode: store this position, then attend over the visible window (which includes itself).
        cache.store(l, pos0, s.k, s.v);
        K.attention(s.ctx, s.q, lc.k, lc.v, lc.capacity, cache.firstVisible(l, pos0), pos0, lw.sinks, nq, nkv, d); // ctx [1, qw]
      } else {
        // Prefill: every query at once, causal, its own chunk's keys from k and v; then store them all.
        K.attendChunk(s.ctx, s.q, s.k, s.v, lc.k, lc.v, lc.capacity, pos0, T, cache.window(l), lw.sinks, nq, nkv, d); // ctx [T, qw]
        for (let t = 0; t < T; t++) cache.store(l, pos0 + t, s.k.subarray(t * kvw), s.v.subarray(t * kvw));
      }
      observe?.("attn_ctx", l, s.ctx, qw);
      K.matmul(s.proj, s.ctx, lw.out, lw.outBias, T);            // proj [T, H]
      addInto(s.x, s.proj, T * H);                               // x = x + attention
      observe?.("attn_resid", l, s.x, H);

      // ---- mixture of experts ----
      K.rmsnorm(s.norm, s.x, lw.mlpNorm, c.rmsNormEps, T, H);    // norm [T, H]
      observe?.("mlp_norm", l, s.norm, H);
      K.matmul(s.routerLogits, s.norm, lw.gate, lw.gateBias, T); // routerLogits [T, E]
      observe?.("router_logits", l, s.routerLogits, E);
      K.topk(s.topkIdx, s.topkW, s.routerLogits, T, E, k);       // topkIdx, topkW [T, k]
      observe?.("topk_idx", l, s.topkIdx, k);
      observe?.("topk_w", l, s.topkW, k);
      s.proj.fill(0, 0, T * H);                                  // proj [T, H]: the weighted expert sum
      for (const { expert, rows, weights, n } of groupByExpert(s, T, E, k)) {
        K.expertUp(s.act, s.norm, lw.mlp1, lw.mlp1Bias, expert, rows, n, c.swigluLimit, c.swigluAlpha); // act [n, I]
        K.expertDown(s.proj, s.act, lw.mlp2, lw.mlp2Bias, expert, rows, weights, n);
      }
      addInto(s.x, s.proj, T * H);                               // x = x + moe
      observe?.("block_out", l, s.x, H);
    }
    cache.length = pos0 + T;

    K.rmsnorm(s.norm, s.x, w.norm, c.rmsNormEps, T, H);          // norm [T, H]
    observe?.("final_norm", -1, s.norm, H);
    const which = options.logits ?? "last";
    if (which === "none") return new Float32Array(0);
    const rows = which === "all" ? T : 1;
    const logits = new Float32Array(rows * c.vocabSize);        // logits [rows, V]
    K.matmul(logits, s.norm.subarray((T - rows) * H), w.unembedding, null, rows);
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

  private buffers(T: number): Scratch {
    if (!this.scratch || this.scratch.T < T) this.scratch = new Scratch(this.config, T);
    return this.scratch;
  }
}

/** Activation buffers, sized for up to T tokens and reused across calls. */
class Scratch {
  readonly x: Float32Array; readonly norm: Float32Array; readonly qkv: Float32Array;
  readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array;
  readonly ctx: Float32Array; readonly proj: Float32Array; readonly cos: Float32Array; readonly sin: Float32Array;
  readonly routerLogits: Float32Array; readonly topkIdx: Int32Array; readonly topkW: Float32Array;
  readonly act: Float32Array; readonly rows: Int32Array; readonly rowWeights: Float32Array;

  constructor(c: ModelConfig, readonly T: number) {
    const H = c.hiddenSize, qw = c.numHeads * c.headDim, kvw = c.numKvHeads * c.headDim;
    this.x = new Float32Array(T * H);
    this.norm = new Float32Array(T * H);
    this.qkv = new Float32Array(T * (qw + 2 * kvw));
    this.q = new Float32Array(T * qw);
    this.k = new Float32Array(T * kvw);
    this.v = new Float32Array(T * kvw);
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
function* groupByExpert(s: Scratch, T: number, E: number, k: number) {
  const counts = new Int32Array(E + 1);
  for (let i = 0; i < T * k; i++) counts[s.topkIdx[i] + 1]++;
  for (let e = 0; e < E; e++) counts[e + 1] += counts[e]; // counts[e] = start of expert e's run
  const fill = counts.slice(0, E);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < k; j++) {
      const e = s.topkIdx[t * k + j];
      s.rows[fill[e]] = t;
      s.rowWeights[fill[e]++] = s.topkW[t * k + j];
    }
  }
  for (let e = 0; e < E; e++) {
    const n = counts[e + 1] - counts[e];
    if (n > 0) yield { expert: e, rows: s.rows.subarray(counts[e], counts[e + 1]), weights: s.rowWeights.subarray(counts[e], counts[e + 1]), n };
  }
}
