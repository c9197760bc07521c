// OpenAI's Chat Completions format on top of `chat`: a request body becomes Harmony messages and chat
// options, and the chat events become OpenAI deltas (streamed as chunks, or folded into one message).
// The HTTP side is in src/server/server.ts; this file does no I/O, so it is tested without a socket.
import { randomBytes } from "node:crypto";
import { toToolDescriptions, type ChatDone, type ChatEvent, type ChatOptions } from "../chat/chat.js";
import { ConversationError, type Message, type ReasoningEffort } from "../harmony/types.js";
import { OpenAIMessageReader } from "../chat/openai-messages.js";
import { Sampler } from "../generation/sampling.js";
import type { TokenLogprob } from "../generation/logprobs.js";
import { getTokenizer, VOCAB_SIZE } from "../tokenizer/tokenizer.js";
import { checkResponseFormat, ResponseFormatError, toResponseFormat } from "../structured/response-format.js";
import { GptOssError } from "../util/errors.js";
import { isObject } from "../util/json.js";
import { splitHeld } from "../generation/stop-strings.js";

/** A request the server refuses: HTTP 400 (or `status`) with `{error: {message, type: "invalid_request_error", param}}`. */
export class InvalidRequestError extends GptOssError {
  constructor(message: string, readonly param: string | null = null, readonly status = 400) {
    super(message);
  }
}

export interface ChatRequest {
  messages: Message[];
  /** everything but the signal, which belongs to the connection */
  options: Omit<ChatOptions, "signal">;
  stream: boolean;
  /** `stream_options.include_usage`: a last chunk with the usage and no choices */
  includeUsage: boolean;
  /** extra stop strings, applied to the visible text (not to the reasoning) */
  stop: string[];
  /** `logprobs: true`: the log-probabilities of the visible tokens (`options.topLogprobs` alternatives each) */
  logprobs: boolean;
}

export interface RequestDefaults {
  /** max tokens when the request gives none (default: the rest of the context; the server gives its own) */
  maxTokens?: number;
  /** `Current date:` in the system message (default today; null for none) */
  date?: string | null;
}

/** Deepest nesting of arrays and objects accepted in a request body (JSON.parse takes seconds on millions). */
export const MAX_BODY_DEPTH = 1000;

/** Refuses JSON text nested deeper than `max`, in one pass before it is parsed; other faults are left to JSON.parse. */
export function checkNesting(text: string, max = MAX_BODY_DEPTH): void {
  let depth = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) throw new InvalidRequestError(`the request body nests arrays and objects more than ${max} levels deep`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}

/** Checks an OpenAI chat completions body and maps it; throws InvalidRequestError on anything wrong. */
export function parseChatRequest(body: unknown, defaults: RequestDefaults = {}): ChatRequest {
  if (!isObject(body)) throw new InvalidRequestError("the request body must be a JSON object");
  const messages = toHarmonyMessages(body.messages);
  const options: Omit<ChatOptions, "signal"> = {};
  if (body.reasoning_effort != null) {
    const e = body.reasoning_effort;
    if (e !== "low" && e !== "medium" && e !== "high") {
      throw new InvalidRequestError(`reasoning_effort must be "low", "medium" or "high", got ${JSON.stringify(e)}`, "reasoning_effort");
    }
    options.reasoningEffort = e as ReasoningEffort;
  }
  // The instructions of every system/developer message go into Harmony's developer message; Harmony's own
  // system message (identity, effort, date, channels) is written by `chat`.
  const instructions = instructionsOf(body.messages as unknown[]);
  if (instructions !== undefined) options.instructions = instructions;

  const toolChoice = body.tool_choice;
  if (toolChoice != null && toolChoice !== "auto" && toolChoice !== "none") {
    throw new InvalidRequestError(`tool_choice ${JSON.stringify(toolChoice)} is not supported (only "auto" and "none")`, "tool_choice");
  }
  if (body.tools != null && toolChoice !== "none") {
    if (!Array.isArray(body.tools)) throw new InvalidRequestError("tools must be a list of function tools", "tools");
    body.tools.forEach((t, i) => {
      if (isObject(t) && t.type !== undefined && t.type !== "function") {
        throw new InvalidRequestError(`tools[${i}]: only function tools are supported, got type ${JSON.stringify(t.type)}`, "tools");
      }
    });
    try {
      const tools = toToolDescriptions(body.tools, "tools");
      if (tools.length > 0) options.tools = tools;
    } catch (e) {
      throw new InvalidRequestError((e as Error).message, "tools");
    }
  }

  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) {
    const param = body.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
    if (!(Number.isInteger(maxTokens) && (maxTokens as number) > 0)) throw new InvalidRequestError(`${param} must be a positive integer, got ${JSON.stringify(maxTokens)}`, param);
    options.maxTokens = maxTokens as number;
  } else {
    // OpenAI's default: as many as the context holds (`chat` clips this to the room left).
    options.maxTokens = defaults.maxTokens ?? Number.MAX_SAFE_INTEGER;
  }
  if (defaults.date !== undefined) options.date = defaults.date;

  samplingFields(body, options);
  if (body.logit_bias != null) options.logitBias = logitBiasOf(body.logit_bias);
  // The sampler's penalties count the prompt as seen, Harmony's special tokens included, which is not what
  // OpenAI's do: rather than give a different meaning to the same numbers, only 0 is accepted.
  for (const key of ["presence_penalty", "frequency_penalty"]) {
    const v = optionalNumber(body, key, -2, 2);
    if (v !== undefined && v !== 0) throw new InvalidRequestError(`${key} is not supported (only 0)`, key);
  }
  if (body.n != null && body.n !== 1) throw new InvalidRequestError("n must be 1: one completion per request", "n");
  if (body.logprobs != null && typeof body.logprobs !== "boolean") throw new InvalidRequestError("logprobs must be a boolean", "logprobs");
  const top = topLogprobsOf(body.top_logprobs);
  if (top !== undefined && body.logprobs !== true) throw new InvalidRequestError("top_logprobs needs logprobs: true", "top_logprobs");
  if (body.logprobs === true) options.topLogprobs = top ?? 0;
  if (body.max_reasoning_tokens != null) {
    const n = body.max_reasoning_tokens;
    if (!(Number.isInteger(n) && (n as number) >= 0)) throw new InvalidRequestError(`max_reasoning_tokens must be a non-negative integer, got ${JSON.stringify(n)}`, "max_reasoning_tokens");
    options.maxReasoningTokens = n as number;
  }
  try {
    const format = toResponseFormat(body.response_format, "response_format");
    if (format && format.type !== "text") options.responseFormat = format;
    // Schemas are compiled now, so that one the matcher cannot honour is refused before the queue.
    checkResponseFormat(options);
  } catch (e) {
    if (e instanceof ResponseFormatError) throw new InvalidRequestError(e.message, e.param);
    throw e;
  }
  try {
    new Sampler(options); // the sampler's own checks, before the request waits in the queue
  } catch (e) {
    throw new InvalidRequestError((e as Error).message);
  }

  if (body.stream != null && typeof body.stream !== "boolean") throw new InvalidRequestError("stream must be a boolean", "stream");
  const streamOptions = body.stream_options;
  if (streamOptions != null && !isObject(streamOptions)) throw new InvalidRequestError("stream_options must be an object", "stream_options");
  return {
    messages,
    options,
    stream: body.stream === true,
    includeUsage: body.stream === true && streamOptions?.include_usage === true,
    stop: stopStrings(body.stop),
    logprobs: body.logprobs === true,
  };
}

/** `top_logprobs`: an integer from 0 to 20, as OpenAI takes it (undefined when absent). */
export function topLogprobsOf(json: unknown, param = "top_logprobs"): number | undefined {
  if (json == null) return undefined;
  if (!(Number.isInteger(json) && (json as number) >= 0 && (json as number) <= 20)) {
    throw new InvalidRequestError(`${param} must be an integer from 0 to 20, got ${JSON.stringify(json)}`, param);
  }
  return json as number;
}

/**
 * OpenAI messages -> the Harmony conversation (src/chat/openai-messages.ts); system and developer messages
 * are left out: their text is the developer message's instructions.
 */
export function toHarmonyMessages(json: unknown): Message[] {
  if (!Array.isArray(json) || json.length === 0) throw new InvalidRequestError("messages must be a non-empty list", "messages");
  const reader = new OpenAIMessageReader();
  try {
    json.forEach((m, i) => reader.add(m, `messages[${i}]`));
  } catch (e) {
    if (e instanceof ConversationError) throw new InvalidRequestError(e.message, "messages");
    throw e;
  }
  if (reader.messages.length === 0) throw new InvalidRequestError("messages has no user, assistant or tool message", "messages");
  return reader.messages;
}

function instructionsOf(messages: unknown[]): string | undefined {
  const reader = new OpenAIMessageReader();
  for (const m of messages) if (isObject(m) && (m.role === "system" || m.role === "developer")) reader.add(m, "content");
  return reader.instructions.length > 0 ? reader.instructions.join("\n\n") : undefined;
}

/** `temperature`, `top_p` and `seed` of a request (both APIs name them alike) into chat options. */
export function samplingFields(body: Record<string, unknown>, options: Pick<ChatOptions, "temperature" | "topP" | "seed">): void {
  const temperature = optionalNumber(body, "temperature", 0, 2);
  if (temperature !== undefined) options.temperature = temperature;
  const topP = optionalNumber(body, "top_p", 0, 1);
  if (topP !== undefined) {
    if (topP === 0) throw new InvalidRequestError("top_p must be greater than 0", "top_p");
    options.topP = topP;
  }
  if (body.seed != null) {
    // The sampler's stream is seeded with 32 bits: a larger seed would silently mean a smaller one.
    if (!(Number.isInteger(body.seed) && (body.seed as number) >= 0 && (body.seed as number) <= 0xffffffff)) {
      throw new InvalidRequestError(`seed must be an integer from 0 to 4294967295, got ${JSON.stringify(body.seed)}`, "seed");
    }
    options.seed = body.seed as number;
  }
}

export function optionalNumber(body: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v == null) return undefined;
  if (typeof v !== "number" || !(v >= min && v <= max)) throw new InvalidRequestError(`${key} must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`, key);
  return v;
}

function logitBiasOf(json: unknown): Record<number, number> {
  if (!isObject(json)) throw new InvalidRequestError("logit_bias must be an object of token id -> bias", "logit_bias");
  const out: Record<number, number> = {};
  for (const [key, bias] of Object.entries(json)) {
    const id = Number(key);
    if (!/^\d+$/.test(key) || id >= VOCAB_SIZE) throw new InvalidRequestError(`logit_bias: ${JSON.stringify(key)} is not a token id`, "logit_bias");
    if (typeof bias !== "number" || !(bias >= -100 && bias <= 100)) throw new InvalidRequestError(`logit_bias[${key}] must be a number from -100 to 100`, "logit_bias");
    out[id] = bias;
  }
  return out;
}

/** Longest stop string accepted: the reply's tail is compared with each at every token. */
export const MAX_STOP_LENGTH = 1000;

function stopStrings(json: unknown): string[] {
  if (json == null) return [];
  const list = typeof json === "string" ? [json] : json;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === "string" && s !== "")) {
    throw new InvalidRequestError("stop must be a non-empty string or a list of at most 4 of them", "stop");
  }
  if (list.some((s: string) => s.length > MAX_STOP_LENGTH)) throw new InvalidRequestError(`stop strings must be at most ${MAX_STOP_LENGTH} characters long`, "stop");
  return list as string[];
}

// ---------------------------------------------------------------------------------------------------
// The reply: chat events -> OpenAI deltas.

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

export interface Delta {
  role?: "assistant";
  content?: string;
  /** the chain of thought, under both names that servers use for it */
  reasoning_content?: string;
  reasoning?: string;
  tool_calls?: ToolCallDelta[];
  /** the log-probabilities of the tokens of `content`: not part of the delta, they go to `choices[].logprobs` */
  logprobs?: TokenLogprob[];
}

export type FinishReason = "stop" | "length" | "tool_calls";

export interface AssistantMessage {
  role: "assistant";
  content: string | null;
  reasoning_content?: string;
  reasoning?: string;
  tool_calls?: { id: string; type: "function"; function: { name: string; arguments: string } }[];
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** One token in OpenAI's `logprobs` shape (the token's text, its UTF-8 bytes, and the alternatives). */
export interface LogprobJson {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export function logprobJson(l: TokenLogprob): LogprobJson {
  const tok = getTokenizer();
  const one = (token: number, logprob: number) => {
    const bytes = tok.tokenBytes(token);
    // OpenAI writes -9999 for an impossible token; JSON has no -Infinity.
    return { token: new TextDecoder().decode(bytes), logprob: Number.isFinite(logprob) ? logprob : -9999, bytes: Array.from(bytes) };
  };
  return { ...one(l.token, l.logprob), top_logprobs: l.top.filter((t) => t.token < VOCAB_SIZE).map((t) => one(t.token, t.logprob)) };
}

/**
 * Turns chat events into deltas: analysis text -> `reasoning_content` and `reasoning`; the answer, preambles and any text
 * outside Harmony's known channels (what untrained weights write) -> `content`; a tool call -> a
 * `tool_calls` entry (id, name, then its arguments as they stream). Visible text is held back while it
 * could be the start of a stop string; once one is found, `stopped` is set and later events are ignored.
 */
export class DeltaStream {
  stopped = false;
  private held = "";
  /** the logprobs of the held text, each at the offset in `held` where its event's text began */
  private heldLogprobs: { at: number; logprob: TokenLogprob }[] = [];
  private calls = 0;
  private open?: { index: number };

  constructor(private readonly stop: string[] = [], private readonly newCallId: () => string = () => `call_${randomBytes(12).toString("hex")}`) {
  }

  push(event: ChatEvent): Delta[] {
    if (this.stopped) return [];
    switch (event.type) {
      case "reasoning":
        return [...this.flush(), { reasoning_content: event.text, reasoning: event.text }];
      case "answer":
      case "commentary":
      case "other":
      case "raw":
        return this.content(event.text, event.logprobs);
      case "tool-call-delta": {
        const out = this.open ? [] : this.openCall(event.recipient, "");
        return [...out, { tool_calls: [{ index: this.open!.index, function: { arguments: event.text } }] }];
      }
      case "tool-call": {
        const out = this.open ? [] : this.openCall(event.recipient, event.argumentsText);
        this.open = undefined;
        return out;
      }
      default:
        return [];
    }
  }

  /** The end of the reply: visible text still held back. */
  end(): Delta[] {
    return this.stopped ? [] : this.flush();
  }

  private openCall(recipient: string, args: string): Delta[] {
    this.open = { index: this.calls++ };
    const name = recipient.startsWith("functions.") ? recipient.slice("functions.".length) : recipient;
    return [...this.flush(), { tool_calls: [{ index: this.open.index, id: this.newCallId(), type: "function", function: { name, arguments: args } }] }];
  }

  private content(text: string, logprobs?: TokenLogprob[]): Delta[] {
    if (this.stop.length === 0) return text === "" ? [] : [withLogprobs({ content: text }, logprobs)];
    for (const logprob of logprobs ?? []) this.heldLogprobs.push({ at: this.held.length, logprob });
    this.held += text;
    const { send, stop } = splitHeld(this.held, this.stop);
    if (stop) this.stopped = true;
    return this.send(send);
  }

  private flush(): Delta[] {
    return this.send(this.held.length);
  }

  /** Sends the first n characters held (with the logprobs of the tokens that began there); keeps the rest. */
  private send(n: number): Delta[] {
    const text = this.held.slice(0, n);
    const logprobs = this.heldLogprobs.filter((l) => l.at < n).map((l) => l.logprob);
    this.held = this.stopped ? "" : this.held.slice(n);
    this.heldLogprobs = this.stopped ? [] : this.heldLogprobs.filter((l) => l.at >= n).map((l) => ({ at: l.at - n, logprob: l.logprob }));
    return text === "" ? [] : [withLogprobs({ content: text }, logprobs)];
  }
}

function withLogprobs(delta: Delta, logprobs: TokenLogprob[] | undefined): Delta {
  return logprobs && logprobs.length > 0 ? { ...delta, logprobs } : delta;
}

/** Folds deltas into the message of a non-streamed completion. */
export class MessageBuilder {
  private content = "";
  private reasoning = "";
  private readonly calls: NonNullable<AssistantMessage["tool_calls"]> = [];
  readonly logprobs: TokenLogprob[] = [];

  add(delta: Delta): void {
    if (delta.content !== undefined) this.content += delta.content;
    for (const l of delta.logprobs ?? []) this.logprobs.push(l);
    if (delta.reasoning_content !== undefined) this.reasoning += delta.reasoning_content;
    for (const c of delta.tool_calls ?? []) {
      const call = (this.calls[c.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
      if (c.id !== undefined) call.id = c.id;
      if (c.function.name !== undefined) call.function.name = c.function.name;
      call.function.arguments += c.function.arguments;
    }
  }

  message(): AssistantMessage {
    const m: AssistantMessage = { role: "assistant", content: this.calls.length > 0 && this.content === "" ? null : this.content };
    if (this.reasoning !== "") m.reasoning_content = m.reasoning = this.reasoning;
    if (this.calls.length > 0) m.tool_calls = this.calls;
    return m;
  }
}

export function finishReason(done: ChatDone, stopString: boolean): FinishReason {
  if (stopString) return "stop";
  switch (done.stopReason) {
    case "call":
      return "tool_calls";
    case "max_tokens":
    case "context_full":
      return "length";
    default:
      return "stop";
  }
}

export function usageOf(done: ChatDone): Usage {
  return {
    prompt_tokens: done.promptTokens,
    completion_tokens: done.generatedTokens,
    total_tokens: done.promptTokens + done.generatedTokens,
    prompt_tokens_details: { cached_tokens: done.reusedPromptTokens },
    completion_tokens_details: { reasoning_tokens: done.reasoningTokens },
  };
}
