// Chat on top of generation: a conversation is rendered in Harmony, the reply is read back by channel as
// typed events (reasoning, answer, preamble, tool calls), and the parsed messages go back into history.
import { HarmonyParser, type ParserErrorCode } from "../harmony/parser.js";
import { renderToTokensAsync } from "../harmony/render.js";
import {
  ConversationError, developerContent, systemContent, textMessage,
  type Conversation, type DeveloperContent, type Message, type ReasoningEffort, type Role, type SystemContent, type ToolDescription,
} from "../harmony/types.js";
import { Session, type SessionModel, type TokenSource } from "../generation/session.js";
import { isOpenAIMessage, OpenAIMessageReader, type OpenAIMessage } from "./openai-messages.js";
import type { SamplingOptions } from "../generation/sampling.js";
import type { GenerationResult, StepHook } from "../generation/loop.js";
import { StopStrings } from "../generation/stop-strings.js";
import { ContextFullError } from "../util/errors.js";
import { isObject } from "../util/json.js";
import type { ModelConfig } from "../checkpoint/config.js";
import type { TokenLogprob, TokenLogprobs } from "../generation/logprobs.js";
import { getTokenizer, StreamDecoder, STOP_TOKENS_FOR_ASSISTANT, TEXT_TOKEN_COUNT, TokenLimitError, TOKENS, VOCAB_SIZE } from "../tokenizer/tokenizer.js";
import { replyConstraint, responseFormatSection, type ResponseFormat } from "../structured/response-format.js";

/** A message of the conversation: Harmony's shape, or OpenAI's ({role, content: "text"}, tool_calls, ...). */
export type ChatMessage = Message | OpenAIMessage;

/** What `chat` answers: messages in Harmony's or OpenAI's shape (both may be mixed), or a Conversation. */
export type ChatInput = Conversation | readonly ChatMessage[];

export interface ChatOptions extends SamplingOptions {
  /** `Reasoning:` in the system message (default "medium", openai-harmony's default) */
  reasoningEffort?: ReasoningEffort;
  /** function tools, declared in a developer message under the `functions` namespace */
  tools?: ToolDescription[];
  /** developer instructions (`# Instructions`) */
  instructions?: string;
  /** `Current date:` in the system message: default today (local, YYYY-MM-DD); null leaves it out */
  date?: string | null;
  /** stop after this many new tokens (default 1024; never past the model's context) */
  maxTokens?: number;
  /** stops the reply at the next token; the stream then ends with a `done` event, stop reason "aborted" */
  signal?: AbortSignal;
  /** logits processors run at every step of the reply (constrained decoding, budgets): see StepHook */
  stepHooks?: readonly StepHook[];
  /**
   * stop strings: the reply stops where one appears in the visible text (answer, preamble, other or raw
   * text; not the reasoning, not tool arguments), the text before it is the last streamed, and the cut
   * message keeps only that text. Stop reason "stop_string". Matched within one message.
   */
  stop?: readonly string[];
  /** refuse (ContextFullError) a rendered prompt longer than this many tokens (default: the context) */
  maxPromptTokens?: number;
  /** when set, text events carry the log-probabilities of their tokens, with this many alternatives */
  topLogprobs?: number;
  /**
   * the answer must be JSON: `{type: "json_object"}`, or valid for a schema: `{type: "json_schema",
   * schema, name?, strict?}` (src/structured/). The schema is also shown to the model.
   */
  responseFormat?: ResponseFormat;
  /** closes the reasoning (analysis) after this many tokens and moves on to the final answer */
  maxReasoningTokens?: number;
}

export type StopReason =
  | "return" // `<|return|>`: the answer is complete
  | "call" // `<|call|>`: a tool call waits for its result
  | "max_tokens" // maxTokens reached
  | "context_full" // the model's context is full
  | "stop_string" // one of the `stop` strings was written (the text stops before it)
  | "hook" // a step hook ended the generation
  | "aborted" // the AbortSignal fired
  | "end"; // the token source ended without a stop token (only custom sources do that)

/** A tool call the model made: an assistant message with a recipient. */
export interface ToolCall {
  /** e.g. "functions.get_weather", "browser.search", "python" */
  recipient: string;
  channel?: string;
  /** e.g. "<|constrain|>json" */
  contentType?: string;
  /** the arguments as the model wrote them */
  argumentsText: string;
  /** JSON.parse(argumentsText), when that succeeds */
  arguments?: unknown;
  /** why argumentsText is not valid JSON (then `arguments` is absent) */
  argumentsError?: string;
  /** false when the reply was cut off (max tokens, abort) before the call ended */
  complete: boolean;
}

export interface ChatDone {
  type: "done";
  stopReason: StopReason;
  /** the reply's messages in the cases.json / openai-harmony JSON shape (a cut-off last one included) */
  messages: Message[];
  /** a last message cut off before its end token (max tokens, abort), also the last of `messages` */
  incomplete?: Message;
  /** generated token ids, stop token included */
  tokens: number[];
  promptTokens: number;
  /** generated tokens that belong to `analysis` messages (their headers and end tokens included) */
  reasoningTokens: number;
  /** prompt tokens taken from the KV cache of the previous turn instead of being run again */
  reusedPromptTokens: number;
  generatedTokens: number;
  /** time to the first generated token: running the prompt (and one sampling step) */
  prefillMs: number;
  /** from the first generated token to the last */
  decodeMs: number;
  /** (generatedTokens - 1) / decode time; 0 with fewer than two tokens */
  decodeTokensPerSecond: number;
  /** problems in the Harmony the model wrote (malformed headers, stray tokens, ...) */
  warnings: number;
}

/**
 * With `topLogprobs`, a text event carries the log-probabilities of the ordinary tokens that wrote its text
 * (a token whose bytes end a character later rides with that later text, and the tokens of a header shown
 * as raw text with it); special tokens and the tokens of real headers have none.
 */
interface Logprobs {
  logprobs?: TokenLogprob[];
}

export type ChatEvent =
  /** text of an `analysis` message: chain of thought, not meant for the user */
  | ({ type: "reasoning"; text: string } & Logprobs)
  /** text of the `final` message: the answer */
  | ({ type: "answer"; text: string } & Logprobs)
  /** text of a `commentary` message with no recipient: a user-visible preamble before tool calls */
  | ({ type: "commentary"; text: string } & Logprobs)
  /** a tool call's arguments, streamed as they come (the `tool-call` event follows at its end) */
  | ({ type: "tool-call-delta"; recipient: string; text: string } & Logprobs)
  | ({ type: "tool-call" } & ToolCall)
  /** text of any other message: a missing or unknown channel, or a role the model should not write */
  | ({ type: "other"; role: Role; channel?: string; text: string } & Logprobs)
  /** generated text outside any Harmony message (no header, stray tokens): typical of untrained weights */
  | ({ type: "raw"; text: string } & Logprobs)
  /** a message is complete (or cut off, when `complete` is false) */
  | { type: "message"; message: Message; complete: boolean }
  /** the model's Harmony was malformed somewhere; reading goes on */
  | { type: "warning"; code: ParserErrorCode; message: string }
  | ChatDone;

/**
 * Streams the model's reply to `conversation` (messages so far, usually user/assistant/tool; a system or
 * developer message in it is kept and completed from the options). Ends with one `done` event.
 *
 * `model` is where tokens come from. A loaded model (GptOssModel) gets a fresh session for this call
 * only: nothing is shared with other calls, and the whole prompt runs. A Session (model.createSession())
 * keeps its KV cache between calls, so the next turn runs only what is new. Any TokenSource works (tests).
 */
export async function* chat(model: SessionModel | TokenSource, conversation: ChatInput, options: ChatOptions = {}): AsyncGenerator<ChatEvent> {
  const source = tokenSourceOf(model);
  const context = source.contextLength ?? Infinity;
  // Encoded in slices (a server answers others meanwhile) and refused as soon as it cannot fit.
  const limit = Math.min(context - 1, options.maxPromptTokens ?? Infinity);
  const prompt = await renderToTokensAsync(chatMessages(conversation, options), { mode: "completion", maxTokens: limit })
    .catch((e: unknown) => {
      if (!(e instanceof TokenLimitError)) throw e;
      if (e.atLeast < context && options.maxPromptTokens !== undefined) {
        throw new ContextFullError(`the conversation is at least ${e.atLeast} tokens, more than the ${options.maxPromptTokens} prompt tokens a request may have here`);
      }
      throw new ContextFullError(`the conversation is at least ${e.atLeast} tokens, which fills the model's context of ${context} tokens`);
    });
  const requested = options.maxTokens ?? 1024;
  if (!(Number.isInteger(requested) && requested >= 0)) throw new RangeError(`maxTokens must be a non-negative integer, got ${requested}`);
  const maxTokens = Math.min(requested, context - prompt.length);
  // The reply's Harmony structure and JSON, or a reasoning budget; refused before any work if it cannot hold.
  const constraint = replyConstraint(options, maxTokens);
  const stepHooks = constraint ? [...(options.stepHooks ?? []), constraint] : options.stepHooks;

  const reader = new ReplyReader();
  const visible = new StopStringFilter(options.stop ?? []);
  const attach = new LogprobAttacher();
  const tokens: number[] = [];
  const started = performance.now();
  let first = started, last = started;
  let stopReason: StopReason | undefined;
  if (maxTokens > 0 && !options.signal?.aborted) {
    const generation = source.generate(prompt, { ...options, maxTokens, stopTokens: [...STOP_TOKENS_FOR_ASSISTANT], stepHooks })[Symbol.asyncIterator]();
    try {
      for (;;) {
        const r = await generation.next();
        if (r.done) {
          if ((r.value as GenerationResult | undefined)?.stopReason === "hook") stopReason = "hook";
          break;
        }
        const { token, logprobs } = r.value;
        if (options.signal?.aborted) break; // also for sources that do not watch the signal
        last = performance.now();
        if (tokens.length === 0) first = last;
        tokens.push(token);
        const wasInContent = reader.inContent;
        const events = reader.push(token);
        if (options.topLogprobs !== undefined && logprobs) attach.push(token, logprobs, events, !wasInContent && reader.inContent);
        yield* visible.pass(events);
        if (visible.stopped) stopReason = "stop_string";
        else if (token === TOKENS.return) stopReason = "return";
        else if (token === TOKENS.call) stopReason = "call";
        if (stopReason || tokens.length >= maxTokens) break;
      }
    } finally {
      await generation.return?.(undefined); // ends the source's generation (and frees a session) when we stop first
    }
  }
  const tail = reader.end();
  attach.end(tail);
  yield* visible.end(tail);
  stopReason ??= options.signal?.aborted ? "aborted"
    : tokens.length >= maxTokens ? (maxTokens < requested ? "context_full" : "max_tokens")
    : "end";
  const decodeMs = last - first;
  const n = tokens.length;
  const messages = reader.messages;
  yield {
    type: "done",
    stopReason,
    messages,
    ...(reader.incomplete ? { incomplete: reader.incomplete } : {}),
    tokens,
    promptTokens: prompt.length,
    reasoningTokens: reader.reasoningTokens,
    reusedPromptTokens: source.reusedTokens ?? 0,
    generatedTokens: n,
    prefillMs: n > 0 ? first - started : 0,
    decodeMs,
    decodeTokensPerSecond: n > 1 && decodeMs > 0 ? ((n - 1) * 1000) / decodeMs : 0,
    warnings: reader.warnings,
  };
}

export { ContextFullError };

/** A model gets a session of its own for one call; a session or other source is used as it is. */
function tokenSourceOf(model: SessionModel | TokenSource): TokenSource {
  if (model instanceof Session) checkChatModel(model.model);
  if (!("transformer" in model)) return model;
  checkChatModel(model);
  return new Session(model);
}

/** Throws unless the model can be spoken to in Harmony: its vocabulary must cover o200k_harmony's. */
export function checkChatModel(model: { readonly config: ModelConfig }): void {
  if (model.config.vocabSize < VOCAB_SIZE) {
    throw new Error(`the model's vocabulary has ${model.config.vocabSize} tokens, but chat needs the o200k_harmony tokenizer's ${VOCAB_SIZE}: this is not a gpt-oss checkpoint (use \`generate\` with token ids)`);
  }
}

/** Today's date, local time, as the system message writes it (YYYY-MM-DD). */
export function today(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/**
 * Harmony messages from a chat input. A message in OpenAI's shape (string or null content, or one of
 * tool_calls, tool_call_id, reasoning_content) is converted (src/chat/openai-messages.ts): the text of its
 * system and developer messages becomes `instructions`; Harmony messages are kept as they are.
 */
export function toHarmonyConversation(input: ChatInput): { messages: Message[]; instructions?: string } {
  const list: readonly unknown[] = isConversation(input) ? input.messages : input;
  if (!Array.isArray(list)) throw new ConversationError("conversation: expected a list of messages or {messages: [...]}");
  const reader = new OpenAIMessageReader();
  list.forEach((m, i) => {
    if (isOpenAIMessage(m)) reader.add(m, `messages[${i}]`);
    else if (isObject(m) && typeof m.role === "string" && Array.isArray(m.content)) reader.messages.push(m as unknown as Message);
    else throw new ConversationError(`messages[${i}]: expected a message {role, content}`);
  });
  return { messages: reader.messages, ...(reader.instructions.length > 0 ? { instructions: reader.instructions.join("\n\n") } : {}) };
}

function isConversation(input: ChatInput): input is Conversation {
  return !Array.isArray(input) && isObject(input);
}

/**
 * The messages a chat renders: a system message first (reasoning effort, date) and, when tools or
 * instructions are given, a developer message after it. Messages already in the conversation are kept;
 * options given explicitly override their fields (the instructions of OpenAI-shaped system messages too).
 * The input is not modified.
 */
export function chatMessages(conversation: ChatInput, options: ChatOptions = {}): Message[] {
  const input = toHarmonyConversation(conversation);
  const messages = input.messages;
  if (options.instructions === undefined && input.instructions !== undefined) options = { ...options, instructions: input.instructions };
  const first = messages[0];
  const existing = first?.role === "system" ? first.content.find((c): c is SystemContent => c.type === "system_content") : undefined;
  if (existing) {
    const sys: SystemContent = { ...existing };
    if (options.reasoningEffort !== undefined) sys.reasoning_effort = options.reasoningEffort;
    if (options.date === null) delete sys.conversation_start_date;
    else if (options.date !== undefined) sys.conversation_start_date = options.date;
    messages[0] = { ...first, content: first.content.map((c) => (c === existing ? sys : c)) };
  } else if (first?.role !== "system") {
    const date = options.date === undefined ? today() : options.date;
    const sys = systemContent({ reasoning_effort: options.reasoningEffort ?? "medium", ...(date !== null ? { conversation_start_date: date } : {}) });
    messages.unshift({ role: "system", content: [sys] });
  }

  const format = responseFormatSection(options.responseFormat);
  if (options.tools !== undefined || options.instructions !== undefined || format) {
    const at = messages.findIndex((m) => m.role === "developer");
    const old = at >= 0 ? messages[at].content.find((c): c is DeveloperContent => c.type === "developer_content") : undefined;
    const dev = developerContent(options.instructions ?? old?.instructions, options.tools?.length ? options.tools : undefined);
    if (options.tools === undefined && old?.tools) dev.tools = old.tools;
    if (format) dev.response_formats = [format];
    else if (old?.response_formats) dev.response_formats = old.response_formats;
    if (at >= 0) messages[at] = { ...messages[at], content: [dev] };
    else messages.splice(messages[0]?.role === "system" ? 1 : 0, 0, { role: "developer", content: [dev] });
  }
  return messages;
}

/**
 * The conversation for the next turn: `conversation` plus the reply's messages. A final answer that
 * ended with `<|return|>` renders as `<|end|>` in history and a tool call keeps its `<|call|>` (the
 * renderer does both); earlier reasoning is dropped by the renderer's rule (spec §5.6). Of a message cut
 * off by max tokens or an abort, only visible text (an answer or preamble) is kept: half a thought or
 * half a tool call has no use in history.
 */
export function appendReply(conversation: Conversation | readonly Message[], reply: ChatDone): Conversation;
export function appendReply(conversation: ChatInput, reply: ChatDone): { messages: ChatMessage[] };
export function appendReply(conversation: ChatInput, reply: ChatDone): { messages: ChatMessage[] } {
  const messages: ChatMessage[] = [...(isConversation(conversation) ? conversation.messages : conversation)];
  for (const m of reply.messages) {
    if (m === reply.incomplete && !(m.role === "assistant" && m.recipient === undefined && (m.channel === "final" || m.channel === "commentary"))) continue;
    messages.push(m);
  }
  return { messages };
}

/** The tool call a reply that stopped at `<|call|>` waits on (empty otherwise). */
export function pendingToolCalls(reply: ChatDone): ToolCall[] {
  if (reply.stopReason !== "call") return [];
  const last = reply.messages[reply.messages.length - 1];
  return last && last !== reply.incomplete && isToolCall(last) ? [toolCallOf(last, true)] : [];
}

/** The message that answers a tool call: authored by the tool, to the assistant, on the call's channel. */
export function toolResultMessage(call: Pick<ToolCall, "recipient" | "channel">, output: string): Message {
  return textMessage("tool", output, { name: call.recipient, recipient: "assistant", channel: call.channel ?? "commentary" });
}

export function isToolCall(m: Message): boolean {
  return m.role === "assistant" && m.recipient !== undefined && m.recipient !== "all";
}

function toolCallOf(m: Message, complete: boolean): ToolCall {
  const argumentsText = m.content.map((c) => (c.type === "text" ? c.text : "")).join("");
  const call: ToolCall = { recipient: m.recipient!, argumentsText, complete };
  if (m.channel !== undefined) call.channel = m.channel;
  if (m.content_type !== undefined) call.contentType = m.content_type;
  try {
    call.arguments = JSON.parse(argumentsText);
  } catch (e) {
    call.argumentsError = argumentsText.trim() === "" ? "no arguments were written" : `not valid JSON: ${(e as Error).message}`;
  }
  return call;
}

/**
 * Applies stop strings to the visible text of chat events (answer, commentary, other, raw), one message
 * at a time. Once a stop string is found, nothing more passes but the cut message's `message` event,
 * its text cut to what was passed.
 */
class StopStringFilter {
  private stops: StopStrings;
  /** the kind of the text held back, for the event that flushes it */
  private last: Extract<ChatEvent, { text: string }> | null = null;
  /** log-probabilities of the tokens whose text is held back */
  private heldLogprobs: TokenLogprob[] = [];
  /** visible text passed for the message being read */
  private passed = "";

  constructor(private readonly strings: readonly string[]) {
    this.stops = new StopStrings(strings);
  }

  get stopped(): boolean {
    return this.stops.stopped;
  }

  *pass(events: ChatEvent[]): Generator<ChatEvent> {
    for (const e of events) {
      if (this.stops.stopped) return;
      if (e.type === "answer" || e.type === "commentary" || e.type === "other" || e.type === "raw") {
        if (this.strings.length === 0) {
          yield e;
          continue;
        }
        const text = this.stops.push(e.text);
        this.last = e;
        this.passed += text;
        this.heldLogprobs.push(...(e.logprobs ?? []));
        if (text !== "") yield this.withText(e, text);
        continue;
      }
      if (e.type === "message") {
        yield* this.flush();
        this.passed = "";
      }
      yield e;
    }
  }

  /** The events of the end of the reply: as they are, or after a stop only the cut message, cut. */
  *end(events: ChatEvent[]): Generator<ChatEvent> {
    if (!this.stops.stopped) {
      yield* this.pass(events);
      yield* this.flush();
      return;
    }
    for (const e of events) {
      if (e.type !== "message") continue;
      e.message.content = [{ type: "text", text: this.passed }];
      yield e;
    }
  }

  private *flush(): Generator<ChatEvent> {
    const text = this.stops.flush();
    if (text !== "" && this.last) {
      this.passed += text;
      yield this.withText(this.last, text);
    }
    this.stops = new StopStrings(this.strings); // a stop string does not span messages
  }

  /** `e` with `text`, carrying the log-probabilities of the tokens held back so far. */
  private withText(e: Extract<ChatEvent, { text: string }>, text: string): ChatEvent {
    const { logprobs: _, ...rest } = e as typeof e & { logprobs?: TokenLogprob[] };
    const logprobs = this.heldLogprobs;
    this.heldLogprobs = [];
    return { ...rest, text, ...(logprobs.length > 0 ? { logprobs } : {}) } as ChatEvent;
  }
}

/** Gives each token's log-probabilities to the text event that carries its text (see `Logprobs`). */
class LogprobAttacher {
  private pending: TokenLogprob[] = [];

  /** `opened`: this token began a message's content, so the tokens still pending were its header. */
  push(token: number, logprobs: TokenLogprobs, events: ChatEvent[], opened: boolean): void {
    if (token < TEXT_TOKEN_COUNT) this.pending.push({ token, ...logprobs });
    this.end(events);
    if (opened) this.pending = [];
  }

  end(events: ChatEvent[]): void {
    const text = events.find((e) => "text" in e && e.text !== "");
    if (text && this.pending.length > 0) {
      (text as Logprobs).logprobs = this.pending;
      this.pending = [];
    }
  }
}

/** Tokens a message header may take before the output is taken to be raw text rather than a header. */
const HEADER_LIMIT = 32;

type Kind = "reasoning" | "answer" | "commentary" | "tool" | "other";

/**
 * Generated token ids -> chat events, through the streaming Harmony parser. The prompt ended with
 * `<|start|>assistant`, so the reply starts inside a header. Tokens the parser keeps outside any message
 * (a header that never ends, stray tokens between messages) are shown as `raw` text rather than lost.
 */
export class ReplyReader {
  readonly messages: Message[] = [];
  incomplete?: Message;
  warnings = 0;
  /** tokens of `analysis` messages so far, headers and end tokens included */
  reasoningTokens = 0;
  /** tokens since the last message ended */
  private sinceEnd = 0;
  private readonly parser = new HarmonyParser({ role: "assistant" });
  private phase: "header" | "content" | "between" = "header";
  private kind: Kind = "other";
  private recipient = "";
  /** tokens of the header being read */
  private pending: number[] = [];
  /** the pending header was too long and is being shown as raw text */
  private rawHeader = false;
  private readonly raw = new StreamDecoder(getTokenizer());

  push(token: number): ChatEvent[] {
    const out: ChatEvent[] = [];
    const before = this.phase;
    this.sinceEnd = token === TOKENS.start ? 1 : this.sinceEnd + 1;
    const events = this.parser.push(token);
    let opened = false, closed = false;
    for (const e of events) {
      if (e.type === "message-start") {
        opened = true;
        this.endRaw(out);
        const tool = e.role === "assistant" && e.recipient !== undefined && e.recipient !== "all";
        this.kind = tool ? "tool" : e.role !== "assistant" ? "other"
          : e.channel === "analysis" ? "reasoning" : e.channel === "final" ? "answer" : e.channel === "commentary" ? "commentary" : "other";
        this.recipient = e.recipient ?? "";
      } else if (e.type === "content") {
        out.push(this.delta(e.text));
      } else if (e.type === "message-end") {
        closed = true;
        const complete = e.terminator !== "eos";
        this.ended(e.message);
        if (!complete) this.incomplete = e.message;
        out.push({ type: "message", message: e.message, complete });
        if (isToolCall(e.message)) out.push({ type: "tool-call", ...toolCallOf(e.message, complete) });
      } else {
        this.warnings++;
        out.push({ type: "warning", code: e.code, message: e.message });
      }
    }
    if (this.parser.current) this.phase = "content";
    else if (token === TOKENS.start) {
      if (before === "header" && !this.rawHeader) this.emitRaw(out, this.pending); // a header cut short is shown, not lost
      this.endRaw(out);
      this.phase = "header";
    } else if (closed) this.phase = "between";

    if (before !== "content" && !opened && !closed && token !== TOKENS.start) {
      if (this.phase === "between") {
        this.emitRaw(out, [token]); // stray tokens between messages
      } else {
        this.pending.push(token);
        if (this.rawHeader) this.emitRaw(out, [token]);
        else if (this.pending.length > HEADER_LIMIT) {
          this.rawHeader = true;
          this.emitRaw(out, this.pending);
        }
      }
    }
    return out;
  }

  /** End of the stream: completes a cut-off message and shows an unfinished header as raw text. */
  end(): ChatEvent[] {
    const out: ChatEvent[] = [];
    const wasHeader = this.phase === "header" && !this.rawHeader && this.pending.length > 0;
    const pending = this.pending;
    for (const e of this.parser.end()) {
      if (e.type === "message-end") {
        this.ended(e.message);
        this.incomplete = e.message;
        out.push({ type: "message", message: e.message, complete: false });
        if (isToolCall(e.message)) out.push({ type: "tool-call", ...toolCallOf(e.message, false) });
      } else if (e.type === "content") {
        out.push(this.delta(e.text));
      } else if (e.type === "error") {
        this.warnings++;
        out.push({ type: "warning", code: e.code, message: e.message });
      }
    }
    if (wasHeader) this.emitRaw(out, pending);
    this.endRaw(out);
    return out;
  }

  /** the last token was inside a message's content (its text may still be held by the decoder) */
  get inContent(): boolean {
    return this.phase === "content";
  }

  private ended(message: Message): void {
    this.messages.push(message);
    if (message.role === "assistant" && message.channel === "analysis" && !isToolCall(message)) this.reasoningTokens += this.sinceEnd;
    this.sinceEnd = 0;
  }

  private delta(text: string): ChatEvent {
    switch (this.kind) {
      case "reasoning":
      case "answer":
      case "commentary":
        return { type: this.kind, text };
      case "tool":
        return { type: "tool-call-delta", recipient: this.recipient, text };
      default: {
        const cur = this.parser.current;
        return { type: "other", role: cur?.role ?? "assistant", ...(cur?.channel !== undefined ? { channel: cur.channel } : {}), text };
      }
    }
  }

  private emitRaw(out: ChatEvent[], tokens: number[]): void {
    const text = this.raw.push(tokens);
    if (text !== "") out.push({ type: "raw", text });
  }

  private endRaw(out: ChatEvent[]): void {
    const text = this.raw.flush();
    if (text !== "") out.push({ type: "raw", text });
    this.pending = [];
    this.rawHeader = false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Tool definitions from JSON: our ToolDescription ({name, description, parameters}) or OpenAI's function
// tool shape ({type: "function", function: {...}}), as a list or as {"tools": [...]}.

export function toToolDescriptions(json: unknown, where = "tools"): ToolDescription[] {
  const list = Array.isArray(json) ? json : isObject(json) && Array.isArray(json.tools) ? json.tools : undefined;
  if (!list) throw new Error(`${where}: expected a list of function tools or {"tools": [...]}`);
  return list.map((raw, i) => {
    const path = `${where}[${i}]`;
    const t = isObject(raw) && raw.type === "function" && isObject(raw.function) ? raw.function : raw;
    if (!isObject(t)) throw new Error(`${path}: expected {name, description?, parameters?}`);
    if (typeof t.name !== "string" || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(t.name)) {
      throw new Error(`${path}.name: expected a function name (letters, digits, _ or -), got ${JSON.stringify(t.name)}`);
    }
    if (t.description !== undefined && typeof t.description !== "string") throw new Error(`${path}.description: expected a string`);
    const tool: ToolDescription = { name: t.name, description: (t.description as string | undefined) ?? "" };
    if (t.parameters !== undefined && t.parameters !== null) {
      if (!isObject(t.parameters)) throw new Error(`${path}.parameters: expected a JSON Schema object`);
      // The renderer walks a schema recursively: a hostile depth would overflow the stack.
      if (deeperThan(t.parameters, MAX_SCHEMA_DEPTH)) throw new Error(`${path}.parameters: nested more than ${MAX_SCHEMA_DEPTH} levels deep`);
      tool.parameters = t.parameters;
    }
    if (t.strict !== undefined && t.strict !== null) {
      if (typeof t.strict !== "boolean") throw new Error(`${path}.strict: expected a boolean`);
      if (t.strict) tool.strict = true;
    }
    return tool;
  });
}

/** Deepest nesting of objects and arrays accepted in a tool's parameters (real schemas use a handful). */
export const MAX_SCHEMA_DEPTH = 100;

/** Whether a JSON value nests objects or arrays more than `max` levels deep, walked level by level. */
function deeperThan(value: unknown, max: number): boolean {
  let level: unknown[] = [value];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > max) return true;
    level = level.flatMap((v) => (typeof v === "object" && v !== null ? Object.values(v) : []));
  }
  return false;
}

export type { TokenSource } from "../generation/session.js";
