// gpt-oss-ts run --model DIR "prompt": one question, one streamed reply (reasoning apart from the answer).
import { readFileSync } from "node:fs";
import { chat, checkChatModel, type ChatDone, type ChatOptions } from "../chat/chat.js";
import type { ReasoningEffort, ToolDescription } from "../harmony/types.js";
import { DEFAULT_BACKEND, type Backend, type Precision, defaultChatPrecision } from "../backends/index.js";
import { loadModel, type GptOssModel } from "../model/model.js";
import { parseArgs, UsageError } from "./args.js";
import { CHAT_FLAGS, CHAT_FLAGS_HELP, chatOptionsFromArgs } from "./chat-options.js";
import { ChatPrinter, type Output } from "./chat-printer.js";
import { backendOf, loadFromArgs, MODEL_FLAGS } from "./common.js";


const HELP = `usage: gpt-oss-ts run --model DIR [flags] "prompt"      ("-" reads the prompt from stdin)
       gpt-oss-ts run --model DIR [flags] -- "-prompt that starts with a dash"

Renders the prompt as a Harmony conversation (system message with reasoning effort and date, the
developer message when --system or --tools is given, the user message) and streams the reply. The
answer goes to stdout; the reasoning goes to stderr, dimmed on a terminal or marked [reasoning].
A tool call is shown and ends the run (use \`chat\` to answer it). Ctrl-C stops the reply.

  --json                        print only the parsed messages, as JSON (openai-harmony's shape)
${CHAT_FLAGS_HELP}`;

export interface RunOneShotOptions extends Omit<ChatOptions, "tools"> {
  /** reasoning effort (default "low") */
  reasoningEffort?: ReasoningEffort;
  /** most tokens of the reply (default 1024) */
  maxTokens?: number;
  /** function tools; a call ends the run */
  tools?: ToolDescription[];
  /** print the parsed messages as JSON on stdout instead of streaming */
  json?: boolean;
  hideReasoning?: boolean;
  backend?: Backend;
  precision?: Precision;
  /** an already loaded model (modelDir is then only used in messages) */
  model?: GptOssModel;
  /** default process.stdout / process.stderr */
  stdout?: Output;
  stderr?: Output;
  /** ANSI styles (default: per stream, when it is a terminal and NO_COLOR is unset) */
  color?: boolean;
}

/**
 * Loads the model in `modelDir` and answers `prompt` once, streaming like `gpt-oss-ts run`: the answer
 * (and any text that is not in a Harmony message, as untrained weights write) on stdout, the reasoning
 * and a statistics line on stderr. Throws an Error with a one-line message on failure.
 */
export async function runOneShot(modelDir: string, prompt: string, options: RunOneShotOptions = {}): Promise<void> {
  await oneShot(modelDir, prompt, options);
}

async function oneShot(modelDir: string, prompt: string, options: RunOneShotOptions): Promise<ChatDone> {
  const { json, hideReasoning, backend, precision, model: loaded, stdout = process.stdout, stderr = process.stderr, color, ...rest } = options;
  const model = loaded ?? (await loadModel(modelDir, { backend: backend ?? DEFAULT_BACKEND, precision: precision ?? defaultChatPrecision() }));
  try {
    return await reply(model, prompt, rest, { json, hideReasoning, stdout, stderr, color });
  } finally {
    if (!loaded) model.dispose(); // a model passed in belongs to the caller
  }
}

interface ReplyOutput {
  json?: boolean;
  hideReasoning?: boolean;
  stdout: Output;
  stderr: Output;
  color?: boolean;
}

async function reply(model: GptOssModel, prompt: string, rest: ChatOptions, { json, hideReasoning, stdout, stderr, color }: ReplyOutput): Promise<ChatDone> {
  checkChatModel(model);
  const chatOptions: ChatOptions = { ...rest, reasoningEffort: rest.reasoningEffort ?? "low", maxTokens: rest.maxTokens ?? 1024 };
  const printer = new ChatPrinter({ out: stdout, reasoningOut: stderr, color, hideReasoning });
  let done: ChatDone | undefined;
  for await (const event of chat(model, [{ role: "user", content: [{ type: "text", text: prompt }] }], chatOptions)) {
    if (event.type === "done") done = event;
    if (!json) printer.handle(event);
  }
  if (json) stdout.write(`${JSON.stringify(done!.messages, null, 2)}\n`);
  printer.endBlock();
  if (done!.stopReason === "aborted") printer.line(stderr, "[stopped]", true);
  if (done!.stopReason === "call" && !json) printer.line(stderr, "[the model called a tool; `gpt-oss-ts chat --tools FILE` can answer it]", true);
  printer.stats(done!);
  return done!;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { ...MODEL_FLAGS, ...CHAT_FLAGS, json: "boolean", help: "boolean" });
  if (args.flags.help) return void console.log(HELP), 0;
  if (args.positionals.length === 0) throw new UsageError("a prompt is required, e.g. gpt-oss-ts run --model DIR \"Hello\"");
  let prompt = args.positionals.join(" ");
  if (prompt === "-") prompt = readFileSync(0, "utf8");
  if (prompt.trim() === "") throw new UsageError("the prompt is empty");
  const options = chatOptionsFromArgs(args);
  backendOf(args);
  const model = await loadFromArgs(args, defaultChatPrecision());

  // Ctrl-C stops the reply; what was generated is still shown.
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on("SIGINT", onSigint);
  try {
    const done = await oneShot(args.flags.model as string, prompt, { ...options, model, json: args.flags.json === true, signal: controller.signal });
    return done.stopReason === "aborted" ? 130 : 0;
  } finally {
    process.off("SIGINT", onSigint);
    model.dispose();
  }
}
