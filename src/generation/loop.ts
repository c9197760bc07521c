// The generation loop, the one place where tokens are made: run the prompt through the model in bounded
// chunks, then repeat { check the logits, let the step hooks mask them, sample, let the hooks see the
// token, stop or run the token }. `generate`, sessions (and so chat and the server), `traceGenerate` and
// `profileModel` all drive this loop; they differ only in the forward pass they give it (plain, traced,
// timed) and in whether they wait between steps.
//
// The loop is a synchronous generator that yields after every forward call, so a synchronous caller
// (trace, profile) just iterates it, and `streamTokens` turns it into an async stream that lets the event
// loop run between steps (abort signals, Ctrl-C, streamed output, other HTTP requests).
import type { KVCache } from "../model/kv-cache.js";
import { ContextFullError, NonFiniteLogitsError } from "../util/errors.js";
import { describeNonFinite, findNonFinite, Sampler, type SamplingOptions } from "./sampling.js";
import { tokenLogprobs, type TokenLogprobs } from "./logprobs.js";

/**
 * A per-step hook: constrained decoding, a reasoning budget or any other logits processor. Both methods
 * are optional; hooks run in order. `beforeSample` sees finite logits (non-finite ones stop the loop first).
 */
export interface StepHook {
  /**
   * Before generated token `step.index` is sampled: may change `logits` [V] in place, e.g. set the tokens
   * that are not allowed to -Infinity (leaving exactly one forces it). Ruling out every token is an error.
   */
  beforeSample?(logits: Float32Array, step: StepInfo): void;
  /** After a token is chosen, before it is yielded. Returning "stop" ends the generation after this token
   * (stop reason "hook"). */
  onToken?(token: number, step: StepInfo): void | "stop";
}

export interface StepInfo {
  /** 0-based index among the generated tokens */
  index: number;
  /** the position the token being sampled will take in the context */
  position: number;
  /** every token so far, prompt and generated (not yet the one being sampled) */
  history: readonly number[];
}

export interface GenerateOptions extends SamplingOptions {
  /** stop after this many new tokens (default 128; never past the context: then stop reason "context_full") */
  maxTokens?: number;
  /** stop when one of these is generated (it is yielded first) */
  stopTokens?: readonly number[];
  /** stops the generation between steps: before the next prompt chunk or the next token */
  signal?: AbortSignal;
  /** logits processors: see StepHook */
  stepHooks?: readonly StepHook[];
  /**
   * when set, each token comes with its log-probability and this many most likely alternatives (0 to 20):
   * of the model's own distribution, before step hooks and sampling options (logprobs.ts)
   */
  topLogprobs?: number;
}

export interface GeneratedToken {
  token: number;
  /** 0-based index among the generated tokens */
  index: number;
  /** log p(token) and the most likely tokens, when `topLogprobs` was set */
  logprobs?: TokenLogprobs;
}

export type GenerationStopReason =
  | "stop_token" // one of `stopTokens` was generated (and yielded)
  | "max_tokens" // maxTokens reached
  | "context_full" // the context is full: maxTokens was clipped to the room left
  | "aborted" // the AbortSignal fired
  | "hook"; // a step hook asked to stop

/** What a generation returns when it ends (the async generator's return value). */
export interface GenerationResult {
  stopReason: GenerationStopReason;
  /** the generated tokens, in order */
  tokens: number[];
  /** the prompt's length */
  promptTokens: number;
  /** prompt tokens that were already in the KV cache and not run again */
  reusedTokens: number;
}

/** Runs `tokens` at the next positions of the cache the loop was given; returns the last one's logits
 * [V] when `logits` is "last", an empty array for "none". */
export type Forward = (tokens: readonly number[], logits: "last" | "none") => Float32Array;

export type GenerationEvent =
  /** a chunk of the prompt has run: `done` of `total` tokens to run (reused ones not counted) */
  | { type: "prefill"; done: number; total: number }
  | ({ type: "token" } & GeneratedToken);

/** The most alternatives `topLogprobs` may ask for (OpenAI's limit). */
const MAX_TOP_LOGPROBS = 20;

/** Prompt tokens run per forward call: an abort is noticed between chunks, and activations stay small. */
export const PREFILL_CHUNK = 64;

export interface LoopOptions extends GenerateOptions {
  /** prompt tokens already in the cache (its last `reused` positions): only the rest is run (default 0) */
  reused?: number;
  /** picks the tokens instead of a Sampler made from the options (profile times it) */
  sampler?: Pick<Sampler, "sample">;
  /** prompt tokens per forward call (default PREFILL_CHUNK) */
  prefillChunk?: number;
}

/**
 * The loop. `cache` is the KV cache `forward` appends to (it says where positions are and how many fit).
 * Yields after every forward call; returns why it stopped. Checks its options before any work.
 */
export function* generation(cache: KVCache, forward: Forward, prompt: readonly number[], options: LoopOptions = {}): Generator<GenerationEvent, GenerationResult> {
  const sampler = options.sampler ?? new Sampler(options);
  const requested = options.maxTokens ?? 128;
  if (!(Number.isInteger(requested) && requested >= 0)) throw new RangeError(`maxTokens must be a non-negative integer, got ${requested}`);
  const reused = options.reused ?? 0;
  const topK = options.topLogprobs;
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0 && topK <= MAX_TOP_LOGPROBS)) {
    throw new RangeError(`topLogprobs must be an integer from 0 to ${MAX_TOP_LOGPROBS}, got ${topK}`);
  }
  const chunk = options.prefillChunk ?? PREFILL_CHUNK;
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new RangeError(`prefillChunk must be a positive integer, got ${chunk}`);
  if (prompt.length === 0) throw new RangeError("generate: the prompt is empty (it needs at least one token)");
  if (!(reused >= 0 && reused < prompt.length && reused <= cache.length)) throw new RangeError(`generate: ${reused} reused prompt tokens do not fit a prompt of ${prompt.length} and a cache of ${cache.length}`);

  // The prompt's first token sits at `start`; the room left after it is what can be generated (the last
  // generated token is sampled but never run, so prompt + generated fills the context exactly).
  const start = cache.length - reused;
  const room = cache.contextLength - start - prompt.length;
  if (room < 1) {
    throw new ContextFullError(`the prompt is ${prompt.length} tokens${start > 0 ? ` after ${start} earlier ones` : ""}, which fills the context of ${cache.contextLength} tokens`);
  }
  const maxTokens = Math.min(requested, room);
  const stops = new Set(options.stopTokens ?? []);
  const hooks = options.stepHooks ?? [];
  const signal = options.signal;
  const tokens: number[] = [];
  const result = (stopReason: GenerationStopReason): GenerationResult => ({ stopReason, tokens, promptTokens: prompt.length, reusedTokens: reused });
  if (maxTokens === 0) return result("max_tokens");

  let logits: Float32Array = new Float32Array(0);
  const total = prompt.length - reused;
  for (let at = reused; at < prompt.length; at += chunk) {
    if (signal?.aborted) return result("aborted");
    const end = Math.min(at + chunk, prompt.length);
    // Only the last chunk needs logits: the unembedding is the largest matmul of a step.
    logits = forward(prompt.slice(at, end), end === prompt.length ? "last" : "none");
    yield { type: "prefill", done: end - reused, total };
  }

  const history = Array.from(prompt);
  for (let index = 0; ; index++) {
    if (signal?.aborted) return result("aborted");
    const step: StepInfo = { index, position: cache.length, history };
    const bad = findNonFinite(logits);
    if (bad) {
      throw new NonFiniteLogitsError(`the model's logits at position ${cache.length - 1} hold ${describeNonFinite(bad)} (before generated token ${index}): ` +
        `the weights or the computation produced NaN or Infinity, so nothing can be sampled`, cache.length - 1, index);
    }
    // Log-probabilities come from the model's own logits: kept before the hooks change them.
    const raw = topK === undefined ? null : hooks.length > 0 ? logits.slice() : logits;
    for (const h of hooks) h.beforeSample?.(logits, step);
    let token: number;
    try {
      token = sampler.sample(logits, history);
    } catch (e) {
      if (e instanceof NonFiniteLogitsError) {
        throw new NonFiniteLogitsError(`${e.message}, before generated token ${index} (the logits of position ${cache.length - 1}, after the step hooks and the sampling options)`, cache.length - 1, index);
      }
      throw e;
    }
    let hookStop = false;
    for (const h of hooks) if (h.onToken?.(token, step) === "stop") hookStop = true;
    history.push(token);
    tokens.push(token);
    yield { type: "token", token, index, ...(raw ? { logprobs: tokenLogprobs(raw, token, topK!) } : {}) };
    if (stops.has(token)) return result("stop_token");
    if (hookStop) return result("hook");
    if (index + 1 === maxTokens) return result(maxTokens < requested ? "context_full" : "max_tokens");
    if (signal?.aborted) return result("aborted");
    logits = forward([token], "last");
  }
}

/** Runs a generation to its end synchronously (trace, tests): the result, with every generated token. */
export function runToEnd(steps: Generator<GenerationEvent, GenerationResult>): GenerationResult {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * The loop as an async stream of tokens: between steps (prompt chunks and tokens) the event loop runs, so
 * an abort signal, Ctrl-C or another request is noticed. `onEvent` sees every step (prefill included).
 */
export async function* streamTokens(steps: Generator<GenerationEvent, GenerationResult>, onEvent?: (e: GenerationEvent) => void): AsyncGenerator<GeneratedToken, GenerationResult> {
  try {
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      onEvent?.(r.value);
      if (r.value.type === "token") {
        const { type: _, ...token } = r.value;
        yield token;
      }
      await breathe();
    }
  } finally {
    steps.return(undefined as never); // a consumer that stops early closes the loop too
  }
}

/** Lets the event loop run (abort signals, Ctrl-C, streamed output) between steps. */
export const breathe = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
