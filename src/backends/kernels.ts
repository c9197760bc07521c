// The narrow interface between the model and the code it spends its time in. The model calls only these
// functions; `reference.ts` implements them in plain TypeScript (the oracle), and faster backends
// implement the same contract. All activations are float32, row-major.
import type { ModelConfig } from "../checkpoint/config.js";
import type { Bf16Matrix, ModelWeights, Mxfp4Experts, WeightAllocator } from "../checkpoint/weights.js";

/** "exact": f32 activations throughout; "fast": integer activations in the expert matmuls (README "Precision"). */
export type Precision = "exact" | "fast";

/** The first position a query at `pos` sees: pos - window + 1 with a sliding window, 0 with window 0. */
export function firstVisible(pos: number, window: number): number {
  return window ? Math.max(0, pos - window + 1) : 0;
}

/**
 * One layer's keys and values of past positions, as the attention entry sees them: it reads back the
 * rows a chunk's queries see and stores the chunk's own. How the rows are kept (model/kv-cache.ts: a
 * ring of `window` rows on sliding layers) and where (a backend may keep them in its own memory, see
 * `Kernels.createLayerKV`) is the cache's business.
 */
export interface LayerKV {
  /** how many positions a query looks back over, itself included (0: all of them) */
  readonly window: number;
  /** a ring (window > 0): positions older than the window are overwritten */
  readonly sliding: boolean;
  /** rows held now (a ring's are reused once it reaches its limit) */
  readonly capacity: number;
  /** bytes held now */
  readonly bytes: number;
  /** Copies the key and value rows ([nkv * d] each) of positions from .. to - 1, in order, to the
   * start of k and v. */
  read(from: number, to: number, k: Float32Array, v: Float32Array): void;
  /** Stores the key and value rows of positions pos .. pos + T - 1 (k, v: [T, nkv * d]). */
  store(pos: number, T: number, k: Float32Array, v: Float32Array): void;
  /** Gives the rows' memory back; the layer then holds nothing, and a later `store` starts it again.
   * Optional: a cache of JavaScript arrays leaves that to the garbage collector. */
  release?(): void;
}

/** The shape of one layer's cache (see model/kv-cache.ts for how it grows). */
export interface LayerKVShape {
  /** nkv * d: one position's keys (or values) */
  rowWidth: number;
  /** d: one KV head's keys (a backend may keep each head's rows together) */
  headDim: number;
  /** positions a query looks back over, itself included (0: all of them) */
  window: number;
  /** rows it starts with */
  initialCapacity: number;
  /** the most rows it grows to: a ring wraps around once it holds that many */
  limit: number;
  /** names the layer in errors ("layer 3") */
  name: string;
}

/** The queries of one attention call and the keys and values they add, at positions pos0 .. pos0 + T - 1. */
export interface AttentionChunk {
  /** [T, nq * d], after RoPE */
  q: Float32Array;
  /** [T, nkv * d], after RoPE */
  k: Float32Array;
  /** [T, nkv * d] */
  v: Float32Array;
  pos0: number;
  T: number;
}

/** Attention heads: nq query heads share nkv key/value heads (grouped-query attention), d wide each. */
export interface AttentionHeads {
  nq: number;
  nkv: number;
  headDim: number;
}

export interface Kernels {
  readonly name: string;
  /** Where this backend wants weight bytes placed (read once at load, never copied per call). */
  readonly allocator: WeightAllocator;
  readonly precision: Precision;
  /** threads running each large call, the calling one included */
  readonly threads: number;
  /** the WebAssembly build a backend runs ("simd128" or "relaxed-simd"); absent where there is none */
  readonly simd?: string;

  /** Releases what the backend holds beyond memory (worker threads); the kernels keep working, on one
   * thread. Optional: the reference backend has nothing to release. */
  dispose?(): void;

  /**
   * Called once with the loaded weights, before the first call. A backend may rearrange the weights
   * its allocator placed (they are its own from then on: the wasm backend puts the experts in its
   * kernel layout) and make forms of them it reads faster (the wasm backend in `fast`: the int8 form of
   * the streamed matrices, where its allocator did not already take them in that form). Optional.
   */
  prepare?(weights: ModelWeights): void;

  /**
   * A layer's KV cache kept where this backend's attention reads it in place (the wasm backend: in
   * its kernel memory, so a step copies no past rows). Optional: without it the cache is JavaScript
   * arrays (model/kv-cache.ts `LayerCache`), which `attention` must accept from any backend anyway.
   */
  createLayerKV?(shape: LayerKVShape): LayerKV;

  /** Bytes the backend's forms of the weights of a model of config `c` add to the weights as stored
   * (negative where a form is held in place of the bf16: `WeightAllocator.streamed`): asked before
   * loading, so the memory estimate counts them. */
  preparedBytes(c: ModelConfig): number;

  /** Weight bytes a matmul of T tokens with w reads (w's own, or those of the form this backend reads). */
  matmulBytes(w: Bf16Matrix, T: number): number;

  /** Sums the f32 values of `view` (placed by `allocator`) with a streaming read on every thread: its
   * time is the read bandwidth these kernels can hope for (the bench's probe). Optional. */
  streamSum?(view: ArrayBufferView): number;

  /** out[t, :] = table[tokens[t], :]  (out: [T, cols]) */
  embed(out: Float32Array, table: Bf16Matrix, tokens: ArrayLike<number>): void;

  /** out[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * scale  (x, out: [T, n]; may alias) */
  rmsnorm(out: Float32Array, x: Float32Array, scale: Float32Array, eps: number, T: number, n: number): void;

  /** out[t, :] = W x[t, :] + bias  (x: [T, W.cols], out: [T, W.rows], bias: [W.rows] or null) */
  matmul(out: Float32Array, x: Float32Array, w: Bf16Matrix, bias: Float32Array | null, T: number): void;

  /**
   * Rotates each head of x in place, half-split pairs (i, i + d/2):
   * x [T, heads * d]; cos, sin [T, d/2] (already scaled by the YaRN concentration).
   */
  rope(x: Float32Array, cos: Float32Array, sin: Float32Array, T: number, heads: number, headDim: number): void;

  /**
   * Causal attention with per-head sinks of a chunk of T queries (decode is a chunk of one), then the
   * chunk's keys and values join the cache. Query t, at position p = pos0 + t, sees positions
   * firstVisible(p, cache.window) .. p: those before pos0 from the cache, the rest from the chunk.
   * Query head h reads KV head floor(h / (nq / nkv)); scores are q.k / sqrt(d); the sink logit of head
   * h joins only the softmax denominator. out: [T, nq * d].
   */
  attention(out: Float32Array, chunk: AttentionChunk, cache: LayerKV, sinks: Float32Array, heads: AttentionHeads): void;

  /**
   * Router selection per token: the k largest logits in descending order (ties to the lower index),
   * and the softmax over those k only. logits: [T, E]; index, weight: [T, k].
   */
  topk(index: Int32Array, weight: Float32Array, logits: Float32Array, T: number, E: number, k: number): void;

  /**
   * First expert projection with the clamped SwiGLU fused in, for the n tokens routed to `expert`:
   * h = W1[expert] x[rows[i]] + b1[expert] (2I values, gate/linear interleaved);
   * act[i, j] = min(g, limit) * sigmoid(alpha * min(g, limit)) * (clamp(l, -limit, limit) + 1),
   * g = h[2j], l = h[2j + 1].  x: [T, H]; act: [n, I]; bias: [E, 2I].
   * add: [n, 2I] added to h before the SwiGLU (a LoRA adapter's update of the routed rows), or absent.
   */
  expertUp(act: Float32Array, x: Float32Array, w: Mxfp4Experts, bias: Float32Array, expert: number,
    rows: Int32Array, n: number, swigluLimit: number, swigluAlpha: number, add?: Float32Array | null): void;

  /**
   * Second expert projection, weighted into the output:
   * out[rows[i], :] += weight[i] * (W2[expert] act[i, :] + b2[expert]).  act: [n, I]; out: [T, H].
   */
  expertDown(out: Float32Array, act: Float32Array, w: Mxfp4Experts, bias: Float32Array, expert: number,
    rows: Int32Array, weight: Float32Array, n: number): void;

  /**
   * A LoRA adapter's low-rank product for n rows: out[i, :] = B (A x[i, :]), with w.a = A [rank, cols]
   * and w.b = Bᵀ (scale included) [rank, rows].  x: [n, cols]; out: [n, rows].
   */
  lowRank(out: Float32Array, x: Float32Array, w: LowRank, n: number): void;
}

/** One low-rank update y = B (A x) of a matrix with `cols` inputs and `rows` outputs. */
export interface LowRank {
  rank: number;
  cols: number;
  rows: number;
  /** [rank, cols]: lora_A */
  a: Float32Array;
  /** [rank, rows]: lora_B transposed, times the scale */
  b: Float32Array;
}
