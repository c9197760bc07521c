// A session: one KV cache, owned by whoever made it, kept between generations. A chat re-renders the
// whole conversation every turn; the part of the new prompt that is already in the cache is not run
// again. Two sessions never share anything; one session runs one generation at a time.
//
// Forgetting the tail of a KV cache is free for full-attention layers (rows past the new length are just
// overwritten) but not for sliding layers, whose ring of `sliding_window` rows has been overwritten by the
// newer positions. So the rings are copied once the prompt has run: the next call can go back to the end
// of the previous prompt exactly. That is where a chat's next prompt usually departs from the cache: the
// reply's reasoning is dropped from history, or a tool call's header is rendered in the renderer's order.
import type { ModelConfig } from "../checkpoint/config.js";
import type { Transformer } from "../model/forward.js";
import type { KVCache, KVSnapshot } from "../model/kv-cache.js";
import { generation, streamTokens, type GeneratedToken, type GenerateOptions, type GenerationResult } from "./loop.js";

/** Where chat tokens come from: a session, or anything that continues a prompt the same way (tests). */
export interface TokenSource {
  /**
   * Continues `prompt`; stops after a stop token (which is yielded), after maxTokens, or on abort. May
   * return a GenerationResult when it ends (sessions do).
   */
  generate(prompt: readonly number[], options: GenerateOptions): AsyncIterable<GeneratedToken>;
  /** prompt tokens the last `generate` found already in its cache (0 when it ran the whole prompt) */
  readonly reusedTokens?: number;
  /** most tokens (prompt + generated) the source can hold */
  readonly contextLength?: number;
}

/** What a session runs on: a loaded model (GptOssModel), whose `newCache` says how long the context is. */
export interface SessionModel {
  readonly transformer: Transformer;
  readonly config: ModelConfig;
  newCache(): KVCache;
}

export class Session implements TokenSource {
  /** the KV cache: keys and values of `tokens`, position by position */
  readonly cache: KVCache;
  /** the tokens whose keys and values the cache holds, in position order */
  private cached: number[] = [];
  /** the sliding layers' rings when the cache held `at` positions (the end of the last prompt) */
  private snapshot: KVSnapshot | undefined;
  private busy = false;
  /** prompt tokens the last generation found in the cache */
  reusedTokens = 0;

  constructor(readonly model: SessionModel) {
    this.cache = model.newCache();
  }

  /** the most tokens (prompt + generated) a generation can hold */
  get contextLength(): number {
    return this.cache.contextLength;
  }

  /** the tokens in the cache, in position order (the last prompt and what was run of its reply) */
  get tokens(): readonly number[] {
    return this.cached;
  }

  /**
   * Continues `prompt` (every token so far, not only the new ones): the longest prefix the cache already
   * holds is reused, the rest runs in chunks, then one token per step. Returns why it stopped. Called
   * while another generation of this session is running, it runs on a fresh cache of its own instead.
   */
  async *generate(prompt: readonly number[], options: GenerateOptions = {}): AsyncGenerator<GeneratedToken, GenerationResult> {
    if (this.busy) {
      this.reusedTokens = 0;
      const other = new Session(this.model);
      try {
        return yield* other.generate(prompt, options);
      } finally {
        other.cache.release();
      }
    }
    this.busy = true;
    try {
      const reused = this.rewind(prompt);
      const steps = generation(this.cache, (tokens, logits) => this.forward(tokens, logits), prompt, { ...options, reused });
      return yield* streamTokens(steps, (e) => {
        if (e.type === "prefill" && e.done === e.total) this.snap();
      });
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

  /** Cuts the cache back to the longest prefix of `prompt` it can keep exactly; returns its length. */
  private rewind(prompt: readonly number[]): number {
    let keep = 0;
    while (keep < this.cached.length && keep < prompt.length && this.cached[keep] === prompt[keep]) keep++;
    // The last prompt token must run again to get its logits (they are not kept).
    keep = Math.max(0, Math.min(keep, prompt.length - 1));
    // Forgetting one token is exact (the row it overwrote in a ring is out of the window anyway); more
    // needs the rings as they were, which the snapshot has for its own position (or one before it).
    if (this.cached.length - keep > 1) {
      const snap = this.snapshot;
      if (snap && keep >= snap.at - 1) {
        this.cache.restore(snap);
        keep = Math.min(keep, snap.at);
      } else {
        keep = 0;
      }
    }
    if (this.snapshot && keep < this.snapshot.at) this.snapshot = undefined;
    this.cache.length = keep;
    this.cached.length = keep;
    this.reusedTokens = keep;
    return keep;
  }

  /** Copies the sliding rings as they are now (the end of the prompt). */
  private snap(): void {
    this.snapshot = this.cache.snapshot();
  }

  private forward(tokens: readonly number[], logits: "last" | "none"): Float32Array {
    const out = this.model.transformer.forward(tokens, this.cache, { logits });
    for (const t of tokens) this.cached.push(t);
    return out;
  }
}

/** @deprecated the earlier name of Session */
export const PrefixCachedGenerator = Session;
/** @deprecated the earlier name of Session */
export type PrefixCachedGenerator = Session;
