// Flags shared by `chat` and `run`: reasoning effort, tools, instructions, sampling, max tokens.
import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { toToolDescriptions, type ChatOptions } from "../chat/chat.js";
import { checkResponseFormat, ResponseFormatError, toResponseFormat, type ResponseFormat } from "../structured/response-format.js";
import type { JsonSchema, ReasoningEffort, ToolDescription } from "../harmony/types.js";
import { optionalDate, optionalNumber, optionalSeed, UsageError, type FlagSpec, type ParsedArgs } from "./args.js";
import { LORA_FLAGS_HELP } from "./common.js";

export const CHAT_FLAGS: FlagSpec = {
  reasoning: "string", tools: "string", system: "string", "hide-reasoning": "boolean", date: "string",
  temperature: "string", "top-p": "string", seed: "string", "max-tokens": "string",
  "json-schema": "string", "json-object": "boolean", "max-reasoning-tokens": "string",
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
  --json-schema FILE            the answer is JSON valid for this JSON Schema (or OpenAI response_format
                                object), whatever the model would write (README "Structured output")
  --json-object                 the answer is a JSON object
  --max-reasoning-tokens N      close the reasoning after N tokens and move on to the answer
  --backend wasm|ts             kernel backend (default wasm)
  --precision exact|fast        wasm kernels' precision (default fast on runtimes with relaxed SIMD, else exact)
  --threads N                   threads for the wasm kernels (default: the number of cores)
${LORA_FLAGS_HELP}`;

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
  const format = responseFormatFromArgs(args);
  if (format) options.responseFormat = format;
  if (args.flags["max-reasoning-tokens"] !== undefined) {
    options.maxReasoningTokens = optionalNumber(args, "max-reasoning-tokens", 0, (n) => Number.isInteger(n) && n >= 0);
  }
  try {
    checkResponseFormat(options); // a schema the matcher cannot honour is refused before the model loads
  } catch (e) {
    if (!(e instanceof ResponseFormatError)) throw e;
    const file = args.flags["json-schema"];
    throw new Error(e.param === "tools" ? e.message : `${typeof file === "string" ? file : "--json-object"}: ${e.message}`);
  }
  const date = optionalDate(args);
  if (date !== undefined) options.date = date;
  return options;
}

/** --json-schema FILE (a JSON Schema, or a response_format object) or --json-object. */
function responseFormatFromArgs(args: ParsedArgs): ResponseFormat | undefined {
  const file = args.flags["json-schema"];
  if (args.flags["json-object"] === true) {
    if (file !== undefined) throw new UsageError("--json-schema and --json-object exclude each other");
    return { type: "json_object" };
  }
  if (typeof file !== "string") return undefined;
  const json = readJson(file);
  if (typeof json === "object" && json !== null && (json as { type?: unknown }).type === "json_schema") {
    try {
      return toResponseFormat(json, file);
    } catch (e) {
      throw new Error((e as Error).message);
    }
  }
  // The file's name (letters, digits, _ and -) is the format's name shown to the model.
  const name = basename(file, extname(file)).replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "response";
  if (typeof json !== "boolean" && (typeof json !== "object" || json === null || Array.isArray(json))) {
    throw new Error(`${file}: expected a JSON Schema (an object)`);
  }
  return { type: "json_schema", name, schema: json as JsonSchema | boolean };
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
}

export function readTools(file: string): ToolDescription[] {
  return toToolDescriptions(readJson(file), file);
}
