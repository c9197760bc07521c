// Token sources for structured-output tests that run the engine's own generation loop (loop.ts: step
// hooks, sampler, stop tokens) over a fake forward pass: random logits, or logits a test chooses, and
// optionally a picker of its own instead of the sampler.
import type { TokenSource } from "../src/chat/chat.js";
import { generation, streamTokens, type Forward, type GenerateOptions } from "../src/generation/loop.js";
import type { KVCache } from "../src/model/kv-cache.js";
import { VOCAB_SIZE } from "../src/tokenizer/tokenizer.js";
import { Xoshiro128 } from "../src/util/prng.js";

/** A source whose "model" writes `logitsAt(step)` (0-based generated token) into the logits each step. */
export function loopSource(fill: (logits: Float32Array, step: number) => void, pick?: (logits: Float32Array) => number): TokenSource {
  const contextLength = 1 << 20;
  return {
    contextLength,
    async *generate(prompt: readonly number[], options: GenerateOptions) {
      const cache = { length: 0, contextLength } as unknown as KVCache; // the loop reads positions only
      const logits = new Float32Array(VOCAB_SIZE);
      let step = 0;
      const forward: Forward = (tokens, want) => {
        cache.length += tokens.length;
        if (want === "none") return new Float32Array(0);
        fill(logits, step++);
        return logits;
      };
      return yield* streamTokens(generation(cache, forward, prompt, { ...options, ...(pick ? { sampler: { sample: pick } } : {}) }));
    },
  };
}

/** Random logits each step (a window at a random offset into a longer random buffer), sampled by the engine's sampler. */
export function randomModel(seed: number): TokenSource {
  const rng = new Xoshiro128(seed);
  const noise = Float32Array.from({ length: 2 * VOCAB_SIZE }, () => rng.float() * 8);
  return loopSource((logits) => {
    const at = Math.floor(rng.float() * VOCAB_SIZE);
    logits.set(noise.subarray(at, at + VOCAB_SIZE));
  });
}
