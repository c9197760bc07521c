// Flags shared by `chat` and `run`: reasoning effort, tools, instructions, sampling, max tokens.
import { readFileSync } from "node:fs";
import { toToolDescriptions, type ChatOptions } from "../chat/chat.js";
import type { ReasoningEffort, ToolDescription } from "../harmony/types.js";
import { optionalDate, optionalNumber, optionalSeed, UsageError, type FlagSpec, type ParsedArgs } from "./args.js";

export const CHAT_FLAGS: FlagSpec = {
  reasoning: "string", tools: "string", system: "string", "hide-reasoning": "boolean", date: "string",
  temperature: "string", "top-p": "string", seed: "string", "max-tokens": "string",
};

export const CHAT_FLAGS_HELP = `  --reasoning low|medium|high   reasoning effort written in the system message (default low)
  --tools FILE.json             function tools: a list of {name, description, parameters} or of OpenAI's
                                {type: "function", function: {...}}, or {"tools": [...]}
  --system TEXT                 instructions, written as the developer message's "# Instructions"
  --hide-reasoning              do not show the reasoning (analysis channel)
  --date YYYY-MM-DD|none        "Current date:" in the system message (default today)
  --temperature T               default 1 (OpenAI's recommendation for gpt-oss); 0 is greedy
  --top-p P                     default 1 (off)
  --seed S                      repeatable sampling (a whole number from 0 to 4294967295)
  --max-tokens N                most tokens per reply (default 1024)
  --backend wasm|ts             kernel backend (default wasm)
  --precision exact|fast        wasm kernels' precision (default fast on runtimes with relaxed SIMD, else exact)
  --threads N                   threads for the wasm kernels (default: the number of cores)`;

export type ChatFlagOptions = ChatOptions & { hideReasoning: boolean };

export function chatOptionsFromArgs(args: ParsedArgs): ChatFlagOptions {
  const effort = (args.flags.reasoning as string | undefined) ?? "low";
  if (!["low", "medium", "high"].includes(effort)) throw new UsageError(`--reasoning must be low, medium or high, got ${JSON.stringify(effort)}`);
  const options: ChatFlagOptions = {
    reasoningEffort: effort as ReasoningEffort,
    hideReasoning: args.flags["hide-reasoning"] === true,
    temperature: optionalNumber(args, "temperature", 1, (n) => n >= 0),
    maxTokens: optionalNumber(args, "max-tokens", 1024, (n) => Number.isInteger(n) && n > 0),
  };
  if (args.flags["top-p"] !== undefined) options.topP = optionalNumber(args, "top-p", 1, (n) => n > 0 && n <= 1);
  if (args.flags.seed !== undefined) options.seed = optionalSeed(args, 0);
  if (typeof args.flags.system === "string") options.instructions = args.flags.system;
  if (typeof args.flags.tools === "string") options.tools = readTools(args.flags.tools);
  const date = optionalDate(args);
  if (date !== undefined) options.date = date;
  return options;
}

export function readTools(file: string): ToolDescription[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return toToolDescriptions(json, file);
}
