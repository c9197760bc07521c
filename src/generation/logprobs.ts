// Log-probabilities of generated tokens, for the APIs' `logprobs`. They are of the model's own
// distribution, log-softmax of the raw logits, as vLLM reports them by default: temperature, penalties and
// top-p change which token is drawn, not the numbers reported.
import { topIndices } from "./sampling.js";

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

  const best = topIndices(logits, top);
  return { logprob: logits[token] - logZ, top: best.map((id) => ({ token: id, logprob: logits[id] - logZ })) };
}
