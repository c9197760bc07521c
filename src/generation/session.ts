// Generation that keeps its KV cache between calls. A chat re-renders the whole conversation every turn;
// the part of the new prompt that is already in the cache is not run again.
//
// Forgetting the tail of a KV cache is free for full-attention layers (rows past the new length are just
// overwritten) but not for sliding layers, whose ring of `sliding_window` rows has been overwritten by the
// newer positions. So the rings are copied once the prompt has run: the next call can go back to the end
// of the previous prompt exactly. That is where a chat's next prompt usually departs from the cache: the
// reply's reasoning is dropped from history, or a tool call's header is rendered in the renderer's order.
import type { GeneratedToken, GenerateOptions, GptOssModel } from "../model/model.js";
import type { KVCache } from "../model/kv-cache.js";
import { Sampler } from "./sampling.js";
import { tokenLogprobs } from "./logprobs.js";

/** Where chat tokens come from: a model, or anything that continues a prompt the same way (tests). */
export interface TokenSource {
  /** Continues `prompt`; stops after a stop token (which is yielded), after maxTokens, or on abort. */
  generate(prompt: readonly number[], options: GenerateOptions): AsyncIterable<GeneratedToken>;
  /** prompt tokens the last `generate` found already in its cache (0 when it ran the whole prompt) */
  readonly reusedTokens?: number;
  /** most tokens (prompt + generated) the source can hold */
  readonly contextLength?: number;
}

/** Prompt tokens run per forward call: an abort is noticed between chunks, and activations stay small. */
const PREFILL_CHUNK = 64;

export class PrefixCachedGenerator implements TokenSource {
  private readonly cache: KVCache;
  /** the tokens whose keys and values the cache holds, in position order */
  private cached: number[] = [];
  /** the sliding layers' rings when the cache held `at` positions (the end of the last prompt) */
  private snapshot: { at: number; rings: { k: Float32Array; v: Float32Array }[] } | undefined;
  private busy = false;
  reusedTokens = 0;

  constructor(readonly model: GptOssModel) {
    this.cache = model.newCache();
  }

  get contextLength(): number {
    return this.model.config.maxPositionEmbeddings;
  }

  async *generate(prompt: readonly number[], options: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
    if (this.busy) {
      // A second generation at the same time gets a fresh cache rather than corrupting this one.
      this.reusedTokens = 0;
      yield* this.model.generate(prompt, options);
      return;
    }
    this.busy = true;
    try {
      yield* this.run(prompt, options);
    } catch (e) {
      this.forget();
      throw e;
    } finally {
      this.busy = false;
    }
  }

  /** Drops the cache: the next call runs its whole prompt. */
  forget(): void {
    this.cache.reset();
    this.cached = [];
    this.snapshot = undefined;
  }

  private async *run(prompt: readonly number[], options: GenerateOptions): AsyncGenerator<GeneratedToken> {
    const sampler = new Sampler(options); // checks the options before any work
    const maxTokens = options.maxTokens ?? 128;
    const stops = new Set(options.stopTokens ?? []);
    if (prompt.length === 0) throw new Error("generate: empty prompt");
    if (maxTokens <= 0) return;

    let keep = 0;
    while (keep < this.cached.length && keep < prompt.length && this.cached[keep] === prompt[keep]) keep++;
    // The last prompt token must run again to get its logits (they are not kept).
    keep = Math.min(keep, prompt.length - 1);
    // Forgetting one token is exact (the row it overwrote in a ring is out of the window anyway); more
    // needs the rings as they were, which the snapshot has for its own position (or one before it).
    if (this.cached.length - keep > 1) {
      const snap = this.snapshot;
      if (snap && keep >= snap.at - 1) {
        this.cache.layers.filter((l) => l.sliding).forEach((l, i) => (l.k.set(snap.rings[i].k), l.v.set(snap.rings[i].v)));
        keep = Math.min(keep, snap.at);
      } else {
        keep = 0;
      }
    }
    if (this.snapshot && keep < this.snapshot.at) this.snapshot = undefined;
    this.cache.length = keep;
    this.cached.length = keep;
    this.reusedTokens = keep;

    let logits: Float32Array | undefined;
    for (let i = keep; i < prompt.length; i += PREFILL_CHUNK) {
      if (options.signal?.aborted) return;
      if (i > keep) await breathe();
      logits = this.forward(prompt.slice(i, i + PREFILL_CHUNK));
    }
    const rings = this.cache.layers.filter((l) => l.sliding).map((l) => ({ k: l.k.slice(), v: l.v.slice() }));
    this.snapshot = { at: prompt.length, rings };
    const history = Array.from(prompt);
    for (let index = 0; index < maxTokens; index++) {
      if (options.signal?.aborted) return;
      options.constraint?.mask(logits!);
      const token = sampler.sample(logits!, history);
      options.constraint?.accept(token);
      history.push(token);
      yield { token, index, ...(options.topLogprobs !== undefined ? { logprobs: tokenLogprobs(logits!, token, options.topLogprobs) } : {}) };
      if (stops.has(token) || index + 1 === maxTokens) return;
      await breathe();
      if (options.signal?.aborted) return;
      logits = this.forward([token]);
    }
  }

  private forward(tokens: readonly number[]): Float32Array {
    const logits = this.model.transformer.forward(tokens, this.cache);
    for (const t of tokens) this.cached.push(t);
    return logits;
  }
}

/** Lets the event loop run (abort signals, Ctrl-C, streamed output) between steps. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));
