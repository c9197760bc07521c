// Choosing the next token from logits. Deterministic for a given seed: the random stream is a seeded
// xoshiro128** generator (src/prng.ts) and every step is plain arithmetic, so every backend samples the
// same tokens from the same logits.

import { NonFiniteLogitsError } from "../util/errors.js";
import { Xoshiro128 } from "../util/prng.js";

export interface SamplingOptions {
  /** 0 = greedy (argmax, ties to the lowest id). Default 1. */
  temperature?: number;
  /** keep only the k most likely tokens (0 = off) */
  topK?: number;
  /** keep the smallest set of tokens whose probability reaches p (1 = off) */
  topP?: number;
  /** drop tokens less likely than minP x the top token's probability (0 = off) */
  minP?: number;
  /** > 1 discourages tokens already seen (CTRL-style: positive logits divided, negative multiplied) */
  repetitionPenalty?: number;
  /** subtracted once from the logit of every token already seen */
  presencePenalty?: number;
  /** subtracted from a token's logit per time it was seen */
  frequencyPenalty?: number;
  /** added to the logits of the given token ids */
  logitBias?: Record<number, number>;
  /** seed of the random stream (default: random) */
  seed?: number;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** The ids of the `k` largest values, largest first (ties to the lower id). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  // A sorted list of k ids, filled in one pass: most values fall below its last entry at once, so this
  // beats sorting the vocabulary.
  const best: number[] = [];
  if (k <= 0) return best;
  for (let i = 0; i < values.length; i++) {
    const z = values[i];
    if (best.length === k && !(z > values[best[k - 1]])) continue;
    let at = best.length;
    while (at > 0 && z > values[best[at - 1]]) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

/**
 * The first logit that is NaN or +Infinity (and -Infinity too unless `masked`: -Infinity is how a
 * caller rules a token out), with how many there are; null when every value is usable.
 */
export function findNonFinite(logits: ArrayLike<number>, masked = false): { index: number; value: number; count: number } | null {
  if (!masked) {
    // Fast path: x * 0 is 0 for finite x and NaN for NaN and both infinities, so the sum is 0 exactly
    // when every value is finite (one multiply-add per value, no branch).
    let sum = 0;
    for (let i = 0; i < logits.length; i++) sum += logits[i] * 0;
    if (sum === 0) return null;
  }
  let index = -1, count = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (x - x !== 0 && !(masked && x === -Infinity)) {
      if (index < 0) index = i;
      count++;
    }
  }
  return index < 0 ? null : { index, value: logits[index], count };
}

/** "NaN at token id 7 (and 3 more non-finite values)" */
export function describeNonFinite(f: { index: number; value: number; count: number }): string {
  return `${f.value} at token id ${f.index}${f.count > 1 ? ` (and ${f.count - 1} more non-finite values)` : ""}`;
}

export class Sampler {
  private readonly rng: Xoshiro128;
  /** unnormalised probabilities, reused across calls */
  private weights = new Float64Array(0);

  constructor(readonly options: SamplingOptions = {}) {
    const t = options.temperature ?? 1;
    if (!(t >= 0)) throw new RangeError(`temperature must be >= 0, got ${t}`);
    if (options.topP !== undefined && !(options.topP > 0 && options.topP <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${options.topP}`);
    if (options.minP !== undefined && !(options.minP >= 0 && options.minP <= 1)) throw new RangeError(`min-p must be in [0, 1], got ${options.minP}`);
    if (options.repetitionPenalty !== undefined && !(options.repetitionPenalty > 0)) throw new RangeError(`repetition penalty must be > 0`);
    const seed = options.seed;
    // The stream is seeded with 32 bits: a larger seed would silently mean the same as a smaller one.
    if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new RangeError(`seed must be an integer from 0 to 4294967295, got ${seed}`);
    this.rng = new Xoshiro128(seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /**
   * Picks a token from `logits` [V]; `history` is every token so far (prompt and generated), for penalties.
   * -Infinity rules a token out; NaN or +Infinity anywhere is refused (NonFiniteLogitsError), never
   * silently turned into a greedy pick.
   */
  sample(logits: Float32Array, history: ArrayLike<number> = []): number {
    const o = this.options;
    const z = this.adjusted(logits, history);
    const temperature = o.temperature ?? 1;
    const truncate = (o.topK ?? 0) > 0 || (o.minP ?? 0) > 0 || (o.topP ?? 1) < 1;
    // The full draw finds non-finite values in its own sum; the other paths look for them first.
    if (temperature === 0 || truncate) throwIfNonFinite(z);
    const best = argmax(z);
    if (!(z[best] > -Infinity)) checkUsable(z); // a NaN at id 0 hides from argmax; or all ruled out
    if (temperature === 0) return best;
    if (!truncate) return this.draw(z, z[best], temperature);

    // Candidates sorted by logit (descending, ties to the lower id), then the truncations.
    let ids = Array.from(z.keys()).filter((i) => z[i] > -Infinity);
    ids.sort((a, b) => z[b] - z[a] || a - b);
    if (o.topK && o.topK > 0) ids = ids.slice(0, o.topK);
    const max = z[ids[0]];
    let probs = ids.map((i) => Math.exp((z[i] - max) / temperature));
    let total = probs.reduce((a, b) => a + b, 0);
    if (o.minP && o.minP > 0) {
      const keep = probs.filter((p) => p >= o.minP! * probs[0]).length;
      ids = ids.slice(0, keep);
      probs = probs.slice(0, keep);
    }
    if (o.topP !== undefined && o.topP < 1) {
      total = probs.reduce((a, b) => a + b, 0);
      let cum = 0, keep = 0;
      while (keep < probs.length && cum < o.topP * total) cum += probs[keep++];
      ids = ids.slice(0, Math.max(1, keep));
      probs = probs.slice(0, ids.length);
    }
    total = probs.reduce((a, b) => a + b, 0);
    let r = this.rng.float() * total;
    for (let j = 0; j < ids.length; j++) {
      r -= probs[j];
      if (r < 0) return ids[j];
    }
    return ids[ids.length - 1];
  }

  /** Samples from softmax(z / temperature) over every id, without sorting. */
  private draw(z: Float32Array, max: number, temperature: number): number {
    if (this.weights.length < z.length) this.weights = new Float64Array(z.length);
    const w = this.weights;
    let total = 0;
    for (let i = 0; i < z.length; i++) total += w[i] = Math.exp((z[i] - max) / temperature);
    if (!(total < Infinity)) checkUsable(z); // NaN: a NaN or +Infinity logit, or every token ruled out
    let r = this.rng.float() * total;
    for (let i = 0; i < z.length; i++) {
      r -= w[i];
      if (r < 0) return i;
    }
    return argmax(z);
  }

  /** Logits after bias and penalties (a copy when anything changes). */
  private adjusted(logits: Float32Array, history: ArrayLike<number>): Float32Array {
    const o = this.options;
    const penalize = (o.repetitionPenalty ?? 1) !== 1 || !!o.presencePenalty || !!o.frequencyPenalty;
    if (!penalize && !o.logitBias) return logits;
    const z = Float32Array.from(logits);
    for (const [id, b] of Object.entries(o.logitBias ?? {})) {
      const i = Number(id);
      if (i >= 0 && i < z.length) z[i] += b;
    }
    if (penalize) {
      const counts = new Map<number, number>();
      for (let i = 0; i < history.length; i++) counts.set(history[i], (counts.get(history[i]) ?? 0) + 1);
      const rp = o.repetitionPenalty ?? 1;
      for (const [id, n] of counts) {
        if (id < 0 || id >= z.length) continue;
        if (rp !== 1) z[id] = z[id] > 0 ? z[id] / rp : z[id] * rp;
        z[id] -= (o.presencePenalty ?? 0) + (o.frequencyPenalty ?? 0) * n;
      }
    }
    return z;
  }
}

function throwIfNonFinite(z: Float32Array): void {
  const bad = findNonFinite(z, true);
  if (bad) throw new NonFiniteLogitsError(`cannot sample from logits holding ${describeNonFinite(bad)}`);
}

/** Throws unless `z` can be sampled from: no NaN or +Infinity, and at least one token not ruled out. */
function checkUsable(z: Float32Array): void {
  throwIfNonFinite(z);
  if (!(z[argmax(z)] > -Infinity)) throw new NonFiniteLogitsError("cannot sample: every token is ruled out (all logits are -Infinity)");
}
