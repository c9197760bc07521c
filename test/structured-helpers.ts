// A random "model" for structured-output tests: random logits each step, masked by the request's
// constraint and sampled by the engine's sampler, as a real model's would be.
import type { TokenSource } from "../src/chat/chat.js";
import type { GenerateOptions } from "../src/model/model.js";
import { Sampler } from "../src/generation/sampling.js";
import { VOCAB_SIZE } from "../src/tokenizer/tokenizer.js";
import { Xoshiro128 } from "../src/util/prng.js";

/** A "model" that writes random logits, sampled by the engine's sampler after the constraint's mask. */
export class RandomModel implements TokenSource {
  contextLength = 1 << 20;
  constructor(private readonly seed: number) {}
  async *generate(_prompt: readonly number[], options: GenerateOptions) {
    const rng = new Xoshiro128(this.seed);
    const sampler = new Sampler(options);
    // Random logits each step: a window at a random offset into a longer random buffer.
    const noise = Float32Array.from({ length: 2 * VOCAB_SIZE }, () => rng.float() * 8);
    const logits = new Float32Array(VOCAB_SIZE);
    for (let index = 0; index < (options.maxTokens ?? 128); index++) {
      const at = Math.floor(rng.float() * VOCAB_SIZE);
      logits.set(noise.subarray(at, at + VOCAB_SIZE));
      options.constraint?.mask(logits);
      const token = sampler.sample(logits);
      options.constraint?.accept(token);
      yield { token, index };
      if (options.stopTokens?.includes(token)) return;
    }
  }
}

