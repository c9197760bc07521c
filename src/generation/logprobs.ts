// Log-probabilities of generated tokens, for the APIs' `logprobs`. They are of the model's own
// distribution, log-softmax of the raw logits, as vLLM reports them by default: temperature, penalties and
// top-p change which token is drawn, not the numbers reported.

export interface TopLogprob {
  token: number;
  logprob: number;
}

export interface TokenLogprobs {
  /** log p(token) */
  logprob: number;
  /** the `top` most likely tokens, most likely first (ties to the lower id) */
  top: TopLogprob[];
}

/** A generated token with its log-probabilities. */
export interface TokenLogprob extends TokenLogprobs {
  token: number;
}

/** log p(token) and the `top` (0 to 20 in the APIs) most likely tokens of `logits` [V]. */
export function tokenLogprobs(logits: Float32Array, token: number, top: number): TokenLogprobs {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const logZ = max + Math.log(sum);

  // A sorted list of `top` ids, filled in one pass: most logits fall below its last entry at once.
  const best: number[] = [];
  if (top > 0) {
    for (let i = 0; i < logits.length; i++) {
      const z = logits[i];
      if (best.length === top && !(z > logits[best[top - 1]])) continue;
      let at = best.length;
      while (at > 0 && z > logits[best[at - 1]]) at--;
      best.splice(at, 0, i);
      if (best.length > top) best.pop();
    }
  }
  return { logprob: logits[token] - logZ, top: best.map((id) => ({ token: id, logprob: logits[id] - logZ })) };
}
