// The sampler on hand-made logits: each filter and penalty does what its name says, and a seed
// reproduces the same stream.
import { describe, expect, it } from "vitest";
import { argmax, Sampler, type SamplingOptions } from "../src/generation/sampling.js";

const logits = new Float32Array([2, 1, 0.5, 3, -1, 3]); // ids 3 and 5 tie for the top

/** How often each id is drawn in n samples. */
function histogram(options: SamplingOptions, n = 4000, z = logits, history: number[] = []): number[] {
  const s = new Sampler({ seed: 123, ...options });
  const counts = new Array(z.length).fill(0);
  for (let i = 0; i < n; i++) counts[s.sample(z, history)]++;
  return counts;
}

const softmax = (z: ArrayLike<number>, t = 1) => {
  const m = Math.max(...Array.from(z));
  const e = Array.from(z, (v) => Math.exp((v - m) / t));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
};

describe("sampling", () => {
  it("temperature 0 is argmax, ties to the lowest id", () => {
    expect(argmax(logits)).toBe(3);
    expect(new Sampler({ temperature: 0 }).sample(logits)).toBe(3);
  });

  it("temperature 1 follows the softmax", () => {
    const h = histogram({ temperature: 1 }, 20000);
    softmax(logits).forEach((p, i) => expect(Math.abs(h[i] / 20000 - p), `id ${i}`).toBeLessThan(0.015));
  });

  it("a low temperature sharpens, a high one flattens", () => {
    expect(histogram({ temperature: 0.1 })[0]).toBe(0); // 2 vs 3 at T 0.1: e^-10
    const flat = histogram({ temperature: 100 });
    for (const c of flat) expect(c).toBeGreaterThan(4000 / 6 - 120);
  });

  it("top-k keeps only the k most likely ids", () => {
    const h = histogram({ topK: 2 });
    expect(h.map((c, i) => (c > 0 ? i : -1)).filter((i) => i >= 0)).toEqual([3, 5]);
  });

  it("top-p keeps the smallest set reaching p", () => {
    // softmax: ids 3 and 5 hold 0.36 each (0.72 together), id 0 0.13: p = 0.7 keeps {3, 5}; p = 0.8 adds 0
    expect(histogram({ topP: 0.7 }).map((c) => c > 0)).toEqual([false, false, false, true, false, true]);
    expect(histogram({ topP: 0.8 }).map((c) => c > 0)).toEqual([true, false, false, true, false, true]);
  });

  it("min-p drops ids less likely than min-p times the top", () => {
    // p(0) / p(3) = e^-1 = 0.37; p(1) / p(3) = e^-2 = 0.14
    expect(histogram({ minP: 0.3 }).map((c) => c > 0)).toEqual([true, false, false, true, false, true]);
  });

  it("logit bias moves an id to the top or bans it", () => {
    expect(new Sampler({ temperature: 0, logitBias: { 4: 10 } }).sample(logits)).toBe(4);
    expect(histogram({ logitBias: { 3: -Infinity, 5: -Infinity } }).slice(3).filter((_, i) => i !== 1)).toEqual([0, 0]);
  });

  it("repetition, presence and frequency penalties push down seen ids", () => {
    expect(new Sampler({ temperature: 0, repetitionPenalty: 2 }).sample(logits, [3])).toBe(5); // 3 -> 1.5
    expect(new Sampler({ temperature: 0, presencePenalty: 0.5 }).sample(logits, [3, 5])).toBe(3); // both 2.5, tie -> 3
    expect(new Sampler({ temperature: 0, frequencyPenalty: 0.6 }).sample(logits, [3, 3, 5])).toBe(5); // 1.8 vs 2.4
    expect(new Sampler({ temperature: 0, repetitionPenalty: 2 }).sample(new Float32Array([-1, -1.5]), [0])).toBe(1); // negative: multiplied
  });

  it("the same seed gives the same stream; another seed another", () => {
    const draw = (seed: number) => {
      const s = new Sampler({ seed, temperature: 1 });
      return Array.from({ length: 50 }, () => s.sample(logits));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it("refuses nonsense options", () => {
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature/);
    expect(() => new Sampler({ topP: 0 })).toThrow(/top-p/);
    expect(() => new Sampler({ minP: 2 })).toThrow(/min-p/);
  });

  it("takes 32-bit seeds only: a larger one would silently mean a smaller one", () => {
    for (const seed of [2 ** 32, 1e300, -1, 0.5]) expect(() => new Sampler({ seed }), String(seed)).toThrow(/seed must be an integer from 0 to 4294967295/);
    expect(() => new Sampler({ seed: 2 ** 32 - 1 })).not.toThrow();
  });
});
