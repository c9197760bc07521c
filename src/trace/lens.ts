// The logit lens: read an intermediate residual stream as if it were the last one, through the final
// RMSNorm and the unembedding, and keep the most likely tokens. It shows at which depth the model's
// eventual prediction appears. Uses the model's own kernels, so it costs one unembedding per row.
import type { Transformer } from "../model/forward.js";
import { topIndices } from "../generation/sampling.js";

export interface LensTrace {
  /** how many tokens each row keeps */
  top: number;
  /** [T, top] token ids, most likely first */
  ids: Int32Array;
  /** [T, top] their probabilities (softmax over the whole vocabulary) */
  probs: Float32Array;
}

/** Lens of `T` residual rows x: [T, H]. Rows go through the unembedding in small batches to bound memory. */
export function logitLens(model: Transformer, x: Float32Array, T: number, top: number): LensTrace {
  const c = model.config, w = model.weights, K = model.kernels;
  const H = c.hiddenSize, V = c.vocabSize;
  top = Math.min(top, V);
  const ids = new Int32Array(T * top), probs = new Float32Array(T * top);
  const batch = Math.max(1, Math.min(T, Math.floor(2 ** 24 / V))); // at most 64 MiB of logits at once
  const norm = new Float32Array(batch * H), logits = new Float32Array(batch * V);
  for (let t0 = 0; t0 < T; t0 += batch) {
    const n = Math.min(batch, T - t0);
    K.rmsnorm(norm, x.subarray(t0 * H, (t0 + n) * H), w.norm, c.rmsNormEps, n, H);
    K.matmul(logits, norm, w.unembedding, null, n);
    for (let r = 0; r < n; r++) topTokens(logits.subarray(r * V, (r + 1) * V), top, ids, probs, (t0 + r) * top);
  }
  return { top, ids, probs };
}

/** The `top` most likely ids of one row of logits (ties to the lower id) and their softmax probabilities. */
function topTokens(z: Float32Array, top: number, ids: Int32Array, probs: Float32Array, at: number): void {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i] > max) max = z[i];
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += Math.exp(z[i] - max);
  const best = topIndices(z, top);
  for (let j = 0; j < best.length; j++) {
    ids[at + j] = best[j];
    probs[at + j] = Math.exp(z[best[j]] - max) / sum;
  }
}
