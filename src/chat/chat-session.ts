// A conversation that remembers: a ChatSession owns its history and its KV cache (a Session), so each
// `send` runs only what is new, and two conversations in one process never share state. Tools given with
// a handler are called when the model calls them, and their results fed back, up to a bound on rounds.
import { Session, type SessionModel, type TokenSource } from "../generation/session.js";
import type { Message, ToolDescription } from "../harmony/types.js";
import {
  appendReply, chat, pendingToolCalls, today, toHarmonyConversation, toolResultMessage,
  type ChatDone, type ChatEvent, type ChatInput, type ChatMessage, type ChatOptions, type ToolCall,
} from "./chat.js";

/** A tool the model may call: its description, and optionally the function that answers the call. */
export interface ChatTool extends ToolDescription {
  /**
   * Called with the parsed arguments when the model calls this tool; what it returns (a string as is,
   * anything else as JSON) is sent back as the tool's result. A throw is sent back as {"error": message}.
   * Without a handler, a call ends `send` and waits for the caller (pendingToolCalls, toolResultMessage).
   */
  handler?: (args: unknown, call: ToolCall) => unknown;
}

export interface ChatSessionOptions extends Omit<ChatOptions, "tools" | "signal"> {
  tools?: readonly ChatTool[];
  /** most tool calls one `send` answers through handlers before it leaves the next to the caller (default 8) */
  maxToolRounds?: number;
  /** messages to start from, in Harmony's or OpenAI's shape */
  history?: ChatInput;
}

/** A chat event, or the result of a tool call a handler answered (before the model's next reply). */
export type ChatSessionEvent =
  | ChatEvent
  | { type: "tool-result"; recipient: string; output: string; error?: string };

/** What `ask` resolves to: the texts of the last reply, apart. */
export interface ChatAnswer {
  answer: string;
  reasoning: string;
  /** the `done` event of the last reply */
  done: ChatDone;
}

export class ChatSession {
  /** where the tokens come from: a Session (the KV cache, reused from turn to turn), or a TokenSource */
  readonly source: TokenSource;
  /** the conversation so far, in Harmony's shape (system and developer messages come from the options) */
  history: Message[];
  private readonly options: ChatSessionOptions;

  /** `model`: a loaded model (the session makes a Session of its own), a Session, or a TokenSource (tests). */
  constructor(model: SessionModel | TokenSource, options: ChatSessionOptions = {}) {
    this.source = "transformer" in model ? new Session(model) : (model as TokenSource);
    const start = toHarmonyConversation(options.history ?? []);
    this.history = start.messages;
    // One date for the whole conversation, so that each prompt stays a prefix of the next.
    this.options = { ...options, date: options.date === undefined ? today() : options.date };
    if (this.options.instructions === undefined && start.instructions !== undefined) this.options.instructions = start.instructions;
  }

  /**
   * Sends a user message (text), or any messages (e.g. a tool result), and streams the reply as `chat`
   * does. When the reply calls a tool that has a handler, the result is fed back and the model goes on:
   * each reply ends with its own `done`, a `tool-result` event comes between them. Returns the last
   * `done`. A failed turn (an error) leaves the history as it was.
   */
  async *send(input: string | ChatMessage | readonly ChatMessage[], options: ChatOptions = {}): AsyncGenerator<ChatSessionEvent, ChatDone> {
    const before = this.history;
    const added = typeof input === "string" ? [{ role: "user" as const, content: input }] : Array.isArray(input) ? input : [input as ChatMessage];
    this.history = [...this.history, ...toHarmonyConversation(added).messages];
    const { tools = [], maxToolRounds = 8, history: _, ...defaults } = this.options;
    const chatOptions: ChatOptions = { ...defaults, ...options };
    if (tools.length > 0 && options.tools === undefined) chatOptions.tools = tools.map(({ handler: _, ...t }) => t);
    try {
      for (let round = 0; ; round++) {
        let done: ChatDone | undefined;
        for await (const event of chat(this.source, this.history, chatOptions)) {
          if (event.type === "done") done = event;
          yield event;
        }
        this.history = appendReply(this.history, done!).messages as Message[];
        const [call] = pendingToolCalls(done!);
        const tool = call && tools.find((t) => `functions.${t.name}` === call.recipient);
        if (!call || !tool?.handler || round >= maxToolRounds) return done!;
        const result = await runTool(tool, call);
        yield { type: "tool-result", recipient: call.recipient, ...result };
        this.history.push(toolResultMessage(call, result.output));
      }
    } catch (e) {
      this.history = before;
      throw e;
    }
  }

  /** Sends `input` and resolves to the last reply's answer and reasoning (tools run as in `send`). */
  async ask(input: string | ChatMessage | readonly ChatMessage[], options: ChatOptions = {}): Promise<ChatAnswer> {
    let answer = "", reasoning = "";
    const events = this.send(input, options);
    for (;;) {
      const r = await events.next();
      if (r.done) return { answer, reasoning, done: r.value };
      const e = r.value;
      if (e.type === "done" && e.stopReason === "call") answer = reasoning = ""; // a tool round: the answer follows
      else if (e.type === "answer") answer += e.text;
      else if (e.type === "reasoning") reasoning += e.text;
    }
  }

  /** Forgets the conversation (the options stay; the cache is rewound on the next send). */
  reset(): void {
    this.history = [];
  }
}

async function runTool(tool: ChatTool, call: ToolCall): Promise<{ output: string; error?: string }> {
  if (call.argumentsError !== undefined) {
    const error = `${call.recipient}: the arguments are ${call.argumentsError === "no arguments were written" ? "missing" : call.argumentsError}`;
    return { output: JSON.stringify({ error }), error };
  }
  try {
    const value = await tool.handler!(call.arguments, call);
    return { output: typeof value === "string" ? value : JSON.stringify(value) ?? "null" };
  } catch (e) {
    const error = (e as Error)?.message ?? String(e);
    return { output: JSON.stringify({ error }), error };
  }
}
