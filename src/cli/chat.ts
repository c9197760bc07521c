// gpt-oss-ts chat --model DIR: a multi-turn REPL. Replies stream with the reasoning apart from the answer;
// tool calls are shown and their result is asked for; Ctrl-C stops a reply, not the program.
import { createInterface, type Interface } from "node:readline";
import { appendReply, chat, checkChatModel, pendingToolCalls, today, toolResultMessage, type ChatDone, type ChatOptions, type TokenSource } from "../chat/chat.js";
import { textMessage, type Message } from "../harmony/types.js";
import { Session, type SessionModel } from "../generation/session.js";
import { defaultChatPrecision } from "../backends/index.js";
import { parseArgs, UsageError } from "./args.js";
import { CHAT_FLAGS, CHAT_FLAGS_HELP, chatOptionsFromArgs } from "./chat-options.js";
import { ChatPrinter, type Output } from "./chat-printer.js";
import { backendOf, loadFromArgs, MODEL_FLAGS } from "./common.js";


const HELP = `usage: gpt-oss-ts chat --model DIR [flags]

Type a message and press Enter; the reply streams, its reasoning dimmed (marked [reasoning] when stdout
is not a terminal). When the model calls a tool, type the tool's result (e.g. a JSON object) and the
reply goes on. Ctrl-C stops the reply being written; Ctrl-C on an empty line, Ctrl-D or /exit quits;
/reset clears the history. Lines piped into stdin are read as one user turn each.

${CHAT_FLAGS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { ...MODEL_FLAGS, ...CHAT_FLAGS, help: "boolean" });
  if (args.flags.help) return void console.log(HELP), 0;
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])} (chat reads messages from stdin)`);
  const { hideReasoning, ...options } = chatOptionsFromArgs(args);
  // One date for the whole session, so the rendered history stays a prefix of the next prompt.
  if (options.date === undefined) options.date = today();
  backendOf(args);
  const model = await loadFromArgs(args, defaultChatPrecision());
  try {
    checkChatModel(model);
    return await repl(model, options, { hideReasoning });
  } finally {
    model.dispose();
  }
}

export interface ReplIO {
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream & Output;
  errors?: Output;
  hideReasoning?: boolean;
  /** ANSI styles (default: when the stream is a terminal and NO_COLOR is unset) */
  color?: boolean;
}

/** Runs the REPL until end of input or /exit; returns the exit code. A model gets a session (KV cache) of
 * the REPL's own, kept across turns. */
export async function repl(model: SessionModel | TokenSource, options: ChatOptions, io: ReplIO = {}): Promise<number> {
  const source: TokenSource = "transformer" in model ? new Session(model) : model;
  const input = io.input ?? process.stdin;
  const output = io.output ?? process.stdout;
  const errors = io.errors ?? process.stderr;
  const tty = input.isTTY === true;
  const rl = createInterface({ input, output, terminal: tty, historySize: 100 });
  const lines = new LineQueue(rl);
  const printer = new ChatPrinter({ out: output, statsOut: errors, color: io.color, hideReasoning: io.hideReasoning, markAnswer: true });

  let generating: AbortController | null = null;
  // On a terminal readline turns Ctrl-C into this event; elsewhere it is a real SIGINT.
  const interrupt = () => {
    if (generating) generating.abort();
    else if (rl.line === "" || !tty) rl.close();
    else {
      rl.write(null, { ctrl: true, name: "e" });
      rl.write(null, { ctrl: true, name: "u" }); // Ctrl-C on a typed line clears it, as shells do
    }
  };
  rl.on("SIGINT", interrupt);
  if (!tty) process.on("SIGINT", interrupt);
  if (tty) printer.line(errors, "Enter sends; Ctrl-C stops a reply; Ctrl-C on an empty line or Ctrl-D quits; /reset clears the history.", true);

  const ask = async (prompt: string): Promise<string | null> => {
    const line = await lines.next(prompt);
    if (line !== null && !tty) output.write(`${prompt}${line}\n`); // a transcript of piped input reads like a session
    return line;
  };

  let history: Message[] = [];
  try {
    for (;;) {
      const line = await ask("> ");
      if (line === null) {
        if (tty) output.write("\n"); // leave the shell's prompt on a line of its own
        break;
      }
      const text = line.trim();
      if (text === "") continue;
      if (text === "/exit" || text === "/quit") break;
      if (text === "/reset") {
        history = [];
        printer.line(errors, "[history cleared]", true);
        continue;
      }
      const before = history;
      history = [...history, textMessage("user", line)];
      // One turn: replies go on for as long as the model calls tools and gets their results.
      for (;;) {
        generating = new AbortController();
        let done: ChatDone | undefined;
        try {
          for await (const event of chat(source, history, { ...options, signal: generating.signal })) {
            printer.handle(event);
            if (event.type === "done") done = event;
          }
        } catch (e) {
          printer.line(errors, `error: ${(e as Error).message}`);
          history = before;
          break;
        } finally {
          generating = null;
        }
        printer.endBlock();
        if (done!.stopReason === "aborted") printer.line(output, "[stopped]", true);
        printer.stats(done!);
        history = appendReply(history, done!).messages;
        const [call] = pendingToolCalls(done!);
        if (!call) break;
        const result = await ask(`result of ${call.recipient}> `);
        if (result === null) return 0;
        history.push(toolResultMessage(call, result));
      }
    }
    return 0;
  } finally {
    process.off("SIGINT", interrupt);
    rl.close();
  }
}

/** Lines from readline, queued: piped input arrives all at once while a reply is being generated. */
class LineQueue {
  private readonly queue: string[] = [];
  private waiting: ((line: string | null) => void) | undefined;
  private closed = false;

  constructor(private readonly rl: Interface) {
    rl.on("line", (line) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(line);
      else this.queue.push(line);
    });
    rl.on("close", () => {
      this.closed = true;
      const w = this.waiting;
      this.waiting = undefined;
      w?.(null);
    });
  }

  /** The next line (showing `prompt` on a terminal), or null at end of input. */
  next(prompt: string): Promise<string | null> {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift()!);
    if (this.closed) return Promise.resolve(null);
    if ((this.rl as unknown as { terminal: boolean }).terminal) {
      this.rl.setPrompt(prompt);
      this.rl.prompt();
    }
    return new Promise((resolve) => (this.waiting = resolve));
  }
}
