// Attention probabilities, recomputed from the observed queries and keys. The `Kernels.attention`
// contract returns only the weighted values, so the trace repeats its arithmetic (same formula, float64
// sums) to recover the weights: scores q.k / sqrt(d) over the visible keys, plus one sink logit per head
// that joins only the softmax denominator. The weights over keys and the sink's share sum to 1.

export interface AttentionGeometry {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/**
 * Weights of T query rows at positions pos0 .. pos0 + T - 1.
 * q: [T, nq * d]; keyRow(p) returns the key of position p ([nkv * d], after RoPE); firstVisible(p) is
 * the first key position the query at p may see (the last is p itself).
 * probs: [T, nq, keys] with key position j in column j (zero outside the visible window);
 * sink: [T, nq], the probability mass the sink absorbed.
 */
export function attentionProbabilities(
  probs: Float32Array, sink: Float32Array, keys: number,
  q: Float32Array, keyRow: (pos: number) => Float32Array, firstVisible: (pos: number) => number,
  pos0: number, T: number, sinks: Float32Array, g: AttentionGeometry,
): void {
  const { numHeads: nq, numKvHeads: nkv, headDim: d } = g;
  const group = nq / nkv;
  const scale = 1 / Math.sqrt(d);
  const scores = new Float64Array(keys);
  for (let t = 0; t < T; t++) {
    const pos = pos0 + t;
    const first = firstVisible(pos);
    for (let h = 0; h < nq; h++) {
      const qo = t * nq * d + h * d, kvo = Math.floor(h / group) * d;
      let max = sinks[h];
      for (let p = first; p <= pos; p++) {
        const k = keyRow(p);
        let s = 0;
        for (let i = 0; i < d; i++) s += q[qo + i] * k[kvo + i];
        scores[p] = s * scale;
        if (scores[p] > max) max = scores[p];
      }
      let denom = Math.exp(sinks[h] - max);
      for (let p = first; p <= pos; p++) denom += scores[p] = Math.exp(scores[p] - max);
      const row = (t * nq + h) * keys;
      probs.fill(0, row, row + keys);
      for (let p = first; p <= pos; p++) probs[row + p] = scores[p] / denom;
      sink[t * nq + h] = Math.exp(sinks[h] - max) / denom;
    }
  }
}

/** ctx[t, h*d + i] = sum_p probs[t, h, p] * v(p)[kvHead(h)*d + i]: what the kernel's output should be. */
export function applyAttention(probs: Float32Array, keys: number, valueRow: (pos: number) => Float32Array,
  T: number, g: AttentionGeometry): Float32Array {
  const { numHeads: nq, numKvHeads: nkv, headDim: d } = g;
  const out = new Float32Array(T * nq * d);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nq; h++) {
      const row = (t * nq + h) * keys, kvo = Math.floor(h / (nq / nkv)) * d;
      for (let i = 0; i < d; i++) {
        let acc = 0;
        for (let p = 0; p < keys; p++) if (probs[row + p] !== 0) acc += probs[row + p] * valueRow(p)[kvo + i];
        out[(t * nq + h) * d + i] = acc;
      }
    }
  }
  return out;
}
