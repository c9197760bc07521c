// Streaming Harmony parser (spec §5.8): token ids in, typed events out.
//
// It follows openai-harmony's StreamableParser for well-formed input and is tolerant of everything else:
// a malformed header, an unknown channel, a missing `<|message|>` or a stray token becomes an `error`
// event the caller can show or log, and parsing goes on. It never throws on input.
import { getTokenizer, StreamDecoder, TOKENS, VOCAB_SIZE, type Tokenizer } from "../tokenizer/tokenizer.js";
import { DEFAULT_CHANNELS, ROLES, type Message, type Role } from "./types.js";

export type Terminator = "end" | "return" | "call" | "eos" | "interrupted";

export type ParserErrorCode =
  | "invalid-token" // not an id of the vocabulary
  | "expected-start" // tokens between messages that are not `<|start|>` (skipped until the next one)
  | "malformed-header" // no role, an empty channel, or words left over
  | "unknown-channel" // a channel outside the valid channels (the message is kept)
  | "missing-message" // the header ended with `<|end|>`/`<|return|>`/`<|call|>` instead of `<|message|>`
  | "interrupted" // `<|start|>` inside a header or a message: the previous one was cut short
  | "incomplete-header"; // the stream ended inside a header

export interface MessageHeader {
  role: Role;
  /** tool messages: the tool's name */
  name?: string;
  recipient?: string;
  channel?: string;
  contentType?: string;
}

export type ParserEvent =
  | ({ type: "message-start" } & MessageHeader)
  | { type: "content"; text: string }
  | {
      type: "message-end";
      message: Message;
      /** the token that ended it; "eos" = end of stream, "interrupted" = a `<|start|>` cut it short */
      terminator: Terminator;
      /** `<|return|>` or `<|call|>`: the generation should stop here (spec §4.3) */
      stop: boolean;
    }
  | ParserErrorEvent;

export interface ParserErrorEvent {
  type: "error";
  code: ParserErrorCode;
  message: string;
  /** the token being processed, if any */
  token?: number;
}

export interface ParserOptions {
  /**
   * Role of the first message, for a prompt that ended with `<|start|>{role}` (a completion).
   * Default "assistant". `null`: the stream starts with `<|start|>` itself. A leading `<|start|>` also
   * drops the hint, so a whole rendered conversation parses either way.
   */
  role?: Role | null;
  /** channels that do not raise "unknown-channel"; default analysis, commentary, final */
  validChannels?: readonly string[];
  tokenizer?: Tokenizer;
}

const END_TOKENS: ReadonlyMap<number, Terminator> = new Map([
  [TOKENS.end, "end"],
  [TOKENS.return, "return"],
  [TOKENS.call, "call"],
]);

type State =
  | { kind: "expect-start"; skipping: boolean }
  | { kind: "header"; tokens: number[] }
  | { kind: "content"; header: MessageHeader; text: string; decoder: StreamDecoder };

export class HarmonyParser {
  /** completed messages, in the cases.json / openai-harmony JSON shape */
  readonly messages: Message[] = [];
  private state: State;
  private roleHint: Role | null;
  private readonly tokenizer: Tokenizer;
  private readonly validChannels: ReadonlySet<string>;
  private lastStop = false;

  constructor(options: ParserOptions = {}) {
    this.tokenizer = options.tokenizer ?? getTokenizer();
    this.validChannels = new Set(options.validChannels ?? DEFAULT_CHANNELS);
    this.roleHint = options.role === undefined ? "assistant" : options.role;
    this.state = this.roleHint ? { kind: "header", tokens: [] } : { kind: "expect-start", skipping: false };
  }

  /** True when the last completed message ended with `<|return|>` or `<|call|>`. */
  get stopped(): boolean {
    return this.lastStop;
  }

  /** The message being read, if its header is complete: its header and text so far. */
  get current(): (MessageHeader & { text: string }) | undefined {
    return this.state.kind === "content" ? { ...this.state.header, text: this.state.text } : undefined;
  }

  push(token: number): ParserEvent[] {
    const events: ParserEvent[] = [];
    if (!Number.isInteger(token) || token < 0 || token >= VOCAB_SIZE) {
      events.push(error("invalid-token", `token ${token} is not in the vocabulary (0..${VOCAB_SIZE - 1}); skipped`, token));
      return events;
    }
    const state = this.state;
    switch (state.kind) {
      case "expect-start":
        if (token === TOKENS.start) this.state = { kind: "header", tokens: [] };
        else if (!state.skipping) {
          // Report a run of stray tokens once, not once per token.
          events.push(error("expected-start", `expected <|start|>, got ${this.describe(token)}; skipping to the next <|start|>`, token));
          state.skipping = true;
        }
        break;
      case "header":
        if (token === TOKENS.message) {
          const parsed = parseHeader(this.tokenizer.decode(state.tokens), this.roleHint);
          this.roleHint = null;
          for (const p of parsed.problems) events.push(error("malformed-header", p, token));
          if (parsed.rest.length > 0) {
            events.push(error("malformed-header", `unexpected words in message header: ${quote(parsed.rest.join(" "))}`, token));
          }
          this.openMessage(parsed.header, events, token);
        } else if (END_TOKENS.has(token)) {
          // No <|message|>: keep what can be recovered, the channel and the words after the role as text.
          const text = this.tokenizer.decode(state.tokens);
          events.push(error("missing-message", `message header ${quote(text)} ended with ${this.describe(token)} before <|message|>`, token));
          const parsed = parseHeader(text, this.roleHint, true);
          this.roleHint = null;
          this.openMessage(parsed.header, events, token);
          this.appendText(parsed.rest.join(" "), events);
          this.closeMessage(END_TOKENS.get(token)!, events);
        } else if (token === TOKENS.start) {
          // A leading <|start|> means the role is written out: the hint no longer applies.
          if (state.tokens.length > 0) {
            events.push(error("interrupted", `<|start|> inside the message header ${quote(this.tokenizer.decode(state.tokens))}; header dropped`, token));
          }
          this.roleHint = null;
          this.state = { kind: "header", tokens: [] };
        } else {
          state.tokens.push(token);
        }
        break;
      case "content": {
        const terminator = END_TOKENS.get(token);
        if (terminator) {
          this.closeMessage(terminator, events);
        } else if (token === TOKENS.start) {
          events.push(error("interrupted", "<|start|> inside a message: the message had no <|end|>; closing it", token));
          this.closeMessage("interrupted", events);
          this.state = { kind: "header", tokens: [] };
        } else {
          this.appendText(state.decoder.push(token), events);
        }
        break;
      }
    }
    return events;
  }

  pushAll(tokens: Iterable<number>): ParserEvent[] {
    const events: ParserEvent[] = [];
    for (const t of tokens) events.push(...this.push(t));
    return events;
  }

  /** End of stream: completes a message still open (terminator "eos"). */
  end(): ParserEvent[] {
    const events: ParserEvent[] = [];
    const state = this.state;
    if (state.kind === "content") this.closeMessage("eos", events);
    else if (state.kind === "header" && state.tokens.length > 0) {
      events.push(error("incomplete-header", `stream ended inside the message header ${quote(this.tokenizer.decode(state.tokens))}`));
      this.state = { kind: "expect-start", skipping: false };
    }
    return events;
  }

  private openMessage(header: MessageHeader, events: ParserEvent[], token: number): void {
    if (header.channel !== undefined && !this.validChannels.has(header.channel)) {
      events.push(error("unknown-channel", `unknown channel ${quote(header.channel)} (valid: ${[...this.validChannels].join(", ")})`, token));
    }
    events.push({ type: "message-start", ...header });
    this.state = { kind: "content", header, text: "", decoder: new StreamDecoder(this.tokenizer) };
  }

  private appendText(text: string, events: ParserEvent[]): void {
    if (text === "" || this.state.kind !== "content") return;
    this.state.text += text;
    events.push({ type: "content", text });
  }

  private closeMessage(terminator: Terminator, events: ParserEvent[]): void {
    if (this.state.kind !== "content") return;
    this.appendText(this.state.decoder.flush(), events);
    const { header, text } = this.state;
    const message = { role: header.role } as Message; // keys in the cases.json order; content last
    if (header.name !== undefined) message.name = header.name;
    if (header.recipient !== undefined) message.recipient = header.recipient;
    if (header.channel !== undefined) message.channel = header.channel;
    if (header.contentType !== undefined) message.content_type = header.contentType;
    message.content = [{ type: "text", text }];
    this.messages.push(message);
    this.lastStop = terminator === "return" || terminator === "call";
    events.push({ type: "message-end", message, terminator, stop: this.lastStop });
    this.state = { kind: "expect-start", skipping: false };
  }

  private describe(token: number): string {
    return this.tokenizer.specialName(token) ?? `token ${token} (${JSON.stringify(this.tokenizer.decode([token]))})`;
  }
}

/** Header text quoted for a warning, cut short when long: an unfinished header can be megabytes. */
function quote(text: string, max = 200): string {
  return text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}... (${text.length} characters)`;
}

function error(code: ParserErrorCode, message: string, token?: number): ParserErrorEvent {
  return token === undefined ? { type: "error", code, message } : { type: "error", code, message, token };
}

/**
 * Header text (special tokens as their names) -> header fields, following openai-harmony's rules (spec §5.8):
 * the channel is the word after `<|channel|>`; the role is the hint or the first word (an unknown first word
 * is a tool's name); then a `to=` word is the recipient and a last other word is the content type.
 * `salvage`: for a header that never got its `<|message|>`, the words after the role are returned as text.
 * Problems are returned, not thrown; `rest` holds words that fit nowhere.
 */
export function parseHeader(
  text: string,
  roleHint: Role | null,
  salvage = false,
): { header: MessageHeader; rest: string[]; problems: string[] } {
  const problems: string[] = [];
  let channel: string | undefined;
  const marker = text.indexOf("<|channel|>");
  if (marker >= 0) {
    const after = text.slice(marker + "<|channel|>".length);
    const stop = after.search(/[\s<]/u);
    const name = stop < 0 ? after : after.slice(0, stop);
    if (name === "") problems.push("<|channel|> without a channel name in the message header");
    else channel = name;
    text = text.slice(0, marker) + after.slice(name.length);
  }
  text = text.trim();
  // `to=x<|constrain|>json` has no space before the marker; add one so the content type is its own word.
  if (text.includes("<|constrain|>")) text = text.replaceAll("<|constrain|>", " <|constrain|>").trim();
  const words = text.split(/[ \t\n\f\r]+/).filter((w) => w !== "");

  let role: Role;
  let name: string | undefined;
  if (roleHint) {
    role = roleHint;
  } else if (words.length === 0) {
    problems.push("message header has no role; assuming assistant");
    role = "assistant";
  } else if ((ROLES as readonly string[]).includes(words[0])) {
    role = words[0] as Role;
    if (role === "tool") name = words[0];
  } else {
    // An unknown first word is the name of the tool that is speaking (`functions.x to=assistant`).
    if (words.length === 1 && !words[0].startsWith("to=")) {
      problems.push(`unknown role ${quote(words[0])}; read as the name of a tool`);
    }
    role = "tool";
    name = words.shift();
  }
  if (words[0] === role) words.shift();

  const header: MessageHeader = { role };
  if (name !== undefined) header.name = name;
  if (channel !== undefined) header.channel = channel;
  if (salvage || words.length === 0) return { header, rest: words, problems };

  const count = words.length;
  const last = words.pop()!;
  if (last.startsWith("to=")) {
    header.recipient = last.slice(3);
  } else if (count === 1 && !last.startsWith("<|constrain|>")) {
    header.recipient = last; // a bare single word is a recipient
  } else {
    header.contentType = last;
    const before = words.pop();
    if (before !== undefined) header.recipient = before.startsWith("to=") ? before.slice(3) : before;
  }
  return { header, rest: words, problems };
}

/** Parses a whole completion (`parser.pushAll(ids)` then `end()`); problems are returned, not thrown. */
export function parseTokens(ids: Iterable<number>, options: ParserOptions = {}): { messages: Message[]; errors: ParserErrorEvent[] } {
  const parser = new HarmonyParser(options);
  const events = [...parser.pushAll(ids), ...parser.end()];
  return { messages: parser.messages, errors: events.filter((e): e is ParserErrorEvent => e.type === "error") };
}

/** The messages of a completion, in the cases.json shape (like openai-harmony's
 * `parse_messages_from_completion_tokens`, with role defaulting to assistant). */
export function parseMessages(ids: Iterable<number>, options: ParserOptions = {}): Message[] {
  return parseTokens(ids, options).messages;
}
