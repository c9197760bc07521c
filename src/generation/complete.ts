// Text in, text out: a prompt string is tokenised with o200k_harmony, continued by the generation loop,
// and the new tokens decoded back to text, with stop strings and log-probabilities. No chat template:
// for a conversation, use `chat` or a ChatSession.
import { StopStrings } from "./stop-strings.js";
import { getTokenizer, StreamDecoder, VOCAB_SIZE } from "../tokenizer/tokenizer.js";
import { GptOssError } from "../util/errors.js";
import type { GenerateOptions, GenerationStopReason } from "./loop.js";
import { Session, type SessionModel } from "./session.js";

/** A text prompt given to a model whose vocabulary is not o200k_harmony's (the dev checkpoint). */
export class TextPromptError extends GptOssError {}

export interface CompleteOptions extends GenerateOptions {
  /** stop strings: the text ends before the first one written (stop reason "stop_string") */
  stop?: readonly string[];
  /** called with each piece of new text as it is decoded */
  onText?: (text: string) => void;
}

export interface TextLogprob {
  token: number;
  /** the token's text (special tokens by name; a token that ends inside a character may show U+FFFD) */
  text: string;
  logprob: number;
}

export interface Completion {
  /** the generated text: stop tokens and anything from a stop string on are left out */
  text: string;
  /** every generated token id, stop token included */
  tokens: number[];
  stopReason: GenerationStopReason | "stop_string";
  promptTokens: number;
  /** prompt tokens found in a session's cache */
  reusedTokens: number;
  /** with the `topLogprobs` option: per generated token, its log-probability and the most likely ones */
  logprobs?: (TextLogprob & { top: TextLogprob[] })[];
}

/** The token ids of a text prompt; refuses a model that does not use the o200k_harmony vocabulary. */
export function encodePrompt(model: { readonly config: { vocabSize: number } }, text: string): number[] {
  if (model.config.vocabSize < VOCAB_SIZE) {
    throw new TextPromptError(`a text prompt needs the o200k_harmony vocabulary of ${VOCAB_SIZE} tokens, but this model has ${model.config.vocabSize}: pass token ids instead`);
  }
  return getTokenizer().encode(text);
}

/**
 * Continues `prompt` (text, or token ids) and returns the new text. On a model, each call starts from an
 * empty cache; on a Session the cache is reused. Stops at the model's end-of-text tokens (the config's
 * `eos_token_id`) unless `stopTokens` says otherwise.
 */
export async function complete(model: SessionModel | Session, prompt: string | ArrayLike<number>, options: CompleteOptions = {}): Promise<Completion> {
  const session = model instanceof Session ? model : new Session(model);
  const config = session.model.config;
  const ids = typeof prompt === "string" ? encodePrompt(session.model, prompt) : Array.from(prompt);
  const { stop, onText, ...generateOptions } = options;
  const stopTokens = options.stopTokens ?? config.eosTokenIds;
  const stops = new StopStrings(stop ?? []);
  const tokenizer = getTokenizer();
  const decoder = new StreamDecoder(tokenizer);
  const tokenText = (id: number) => (id < VOCAB_SIZE ? tokenizer.decode([id]) : "");
  const withText = config.vocabSize >= VOCAB_SIZE;
  let text = "";
  const emit = (piece: string) => {
    if (piece === "") return;
    text += piece;
    onText?.(piece);
  };
  const tokens: number[] = [];
  const logprobs: NonNullable<Completion["logprobs"]> = [];
  const generation = session.generate(ids, { ...generateOptions, stopTokens });
  let stopReason: Completion["stopReason"] = "max_tokens";
  let reusedTokens = 0;
  try {
    for (;;) {
      const r = await generation.next();
      if (r.done) {
        stopReason = r.value.stopReason;
        reusedTokens = r.value.reusedTokens;
        break;
      }
      const t = r.value;
      tokens.push(t.token);
      if (t.logprobs) {
        logprobs.push({
          token: t.token, text: tokenText(t.token), logprob: t.logprobs.logprob,
          top: t.logprobs.top.map((p) => ({ token: p.token, text: tokenText(p.token), logprob: p.logprob })),
        });
      }
      if (!withText || stopTokens.includes(t.token)) continue;
      emit(stops.push(decoder.push(t.token)));
      if (stops.stopped) {
        stopReason = "stop_string";
        reusedTokens = session.reusedTokens;
        break;
      }
    }
  } finally {
    await generation.return(undefined as never);
    if (session !== model) session.cache.release(); // this call's own cache (its rows may be in the kernel memory)
  }
  if (withText && !stops.stopped) {
    emit(stops.push(decoder.flush()));
    if (stops.stopped) stopReason = "stop_string";
    else emit(stops.flush());
  }
  return { text, tokens, stopReason, promptTokens: ids.length, reusedTokens, ...(options.topLogprobs !== undefined ? { logprobs } : {}) };
}
