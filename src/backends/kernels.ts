// The narrow interface between the model and the code it spends its time in. The model calls only these
// functions; `reference.ts` implements them in plain TypeScript (the oracle), and faster backends
// implement the same contract. All activations are float32, row-major.
import type { Bf16Matrix, ModelWeights, Mxfp4Experts, WeightAllocator } from "../checkpoint/weights.js";
import type { LowRank } from "../lora/weights.js";

/** The first position a query at `pos` sees: pos - window + 1 with a sliding window, 0 with window 0. */
export function firstVisible(pos: number, window: number): number {
  return window ? Math.max(0, pos - window + 1) : 0;
}

export interface Kernels {
  readonly name: string;
  /** Where this backend wants weight bytes placed (read once at load, never copied per call). */
  readonly allocator: WeightAllocator;

  /** Releases what the backend holds beyond memory (worker threads); the kernels keep working, on one
   * thread. Optional: the reference backend has nothing to release. */
  dispose?(): void;

  /** Called once with the loaded weights: a backend may make forms of them it reads faster (the wasm
   * backend in `fast`: an int8 copy of the unembedding). Optional. */
  prepare?(weights: ModelWeights): void;

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
   * Attention of one query position over cached keys, with per-head sinks.
   * q: [nq * d] (head h in q[h*d .. h*d+d]); k, v: cache rows [capacity, nkv * d], position p in row
   * p % capacity; the visible keys are positions first..last (inclusive). Query head h reads KV head
   * floor(h / (nq / nkv)). out: [nq * d]. Scores are q.k / sqrt(d); the sink logit of head h joins only
   * the softmax denominator.
   */
  attention(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, capacity: number,
    first: number, last: number, sinks: Float32Array, nq: number, nkv: number, headDim: number): void;

  /**
   * Causal attention of T consecutive queries at positions pos0 .. pos0 + T - 1 (prefill), with sinks.
   * q: [T, nq * d]; the chunk's own keys and values are kNew, vNew [T, nkv * d]; positions before pos0
   * come from the cache rows k, v (as in `attention`: position p in row p % capacity; the cache does
   * not hold this chunk yet). Query t sees positions firstVisible(p, window) .. p, p = pos0 + t
   * (window 0: full attention). out: [T, nq * d].
   */
  attendChunk(out: Float32Array, q: Float32Array, kNew: Float32Array, vNew: Float32Array, k: Float32Array, v: Float32Array,
    capacity: number, pos0: number, T: number, window: number, sinks: Float32Array, nq: number, nkv: number, headDim: number): void;

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
