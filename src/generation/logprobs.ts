// Log-probabilities of the model's next-token distribution: log softmax(logits), for the token that was
// picked and for the k most likely ones. Computed from the logits as the model gave them, before step
// hooks, penalties, bias and temperature (what "the model thought"), in float64.

export interface TokenLogprob {
  token: number;
  logprob: number;
}

/** The most top log-probabilities a step may ask for (OpenAI's limit). */
export const MAX_TOP_LOGPROBS = 20;

/** log Σ exp(logits[i]): log-probability of token i = logits[i] - this. Logits must be finite. */
export function logSumExp(logits: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}

/** The `k` most likely tokens with their log-probabilities, most likely first (ties to the lower id). */
export function topLogprobs(logits: ArrayLike<number>, k: number, lse = logSumExp(logits)): TokenLogprob[] {
  const top: number[] = []; // ids, best first
  for (let i = 0; i < logits.length && k > 0; i++) {
    const x = logits[i];
    if (top.length === k && !(x > logits[top[k - 1]])) continue;
    let at = top.length;
    while (at > 0 && x > logits[top[at - 1]]) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top.map((token) => ({ token, logprob: logits[token] - lse }));
}
