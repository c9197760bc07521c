// Rendering through a model folder's Hugging Face `chat_template.jinja`, with @huggingface/jinja.
//
// This exists for comparison with other runtimes that use the template. The Harmony renderer (render.ts) is
// the reference format and what the CLI uses by default; docs/harmony-vs-template.md lists the differences.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Environment, Interpreter, Template } from "@huggingface/jinja";
import type { Conversation, Message } from "./types.js";
import { messageText } from "./types.js";

/** A message as chat templates take it (transformers' `apply_chat_template` shape). */
export interface TemplateMessage {
  role: string;
  content?: string;
  /** assistant chain of thought (rendered on the analysis channel) */
  thinking?: string;
  tool_calls?: { type: "function"; function: { name: string; arguments: unknown } }[];
  [key: string]: unknown;
}

/** The variables the gpt-oss template reads. */
export interface TemplateContext {
  messages: TemplateMessage[];
  /** function tools: `{type: "function", function: {name, description, parameters}}` */
  tools?: unknown[];
  add_generation_prompt?: boolean;
  reasoning_effort?: string;
  model_identity?: string;
  /** "browser" and/or "python" */
  builtin_tools?: string[];
  [key: string]: unknown;
}

export interface TemplateRenderOptions {
  /** what `strftime_now` sees (the template writes `Current date:` from it); default: now */
  date?: Date | string;
}

export class ChatTemplate {
  private readonly template: Template;

  constructor(readonly source: string, readonly origin = "chat template") {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new Error(`${origin}: cannot parse: ${(e as Error).message}`);
    }
  }

  render(context: TemplateContext, options: TemplateRenderOptions = {}): string {
    const now = toDate(options.date);
    // Template.render() declares its own strftime_now (the real clock) and refuses a second one, so the
    // environment is set up here: the same globals, with our clock.
    const env = new Environment();
    const globals: Record<string, unknown> = {
      true: true,
      false: false,
      none: null,
      True: true,
      False: false,
      None: null,
      raise_exception: (message: string) => {
        throw new Error(message);
      },
      range: pythonRange,
      strftime_now: (format: string) => strftime(format, now),
    };
    for (const [key, value] of Object.entries({ ...globals, ...context })) env.set(key, value);
    try {
      const result = new Interpreter(env).run(this.template.parsed) as { value: unknown };
      return String(result.value);
    } catch (e) {
      // raise_exception(...) in the template lands here, with the template's own explanation.
      throw new Error(`${this.origin}: ${(e as Error).message}`);
    }
  }
}

function pythonRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error("range() step must not be zero");
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/** The template of a model folder: `chat_template.jinja`, or `chat_template` in `tokenizer_config.json`. */
export async function loadChatTemplate(modelDir: string): Promise<ChatTemplate> {
  const file = join(modelDir, "chat_template.jinja");
  try {
    return new ChatTemplate(await readFile(file, "utf8"), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const config = join(modelDir, "tokenizer_config.json");
  let parsed: { chat_template?: unknown };
  try {
    parsed = JSON.parse(await readFile(config, "utf8"));
  } catch (e) {
    throw new Error(`${modelDir}: no chat_template.jinja, and ${config} is unreadable (${(e as Error).message})`);
  }
  if (typeof parsed.chat_template !== "string") throw new Error(`${modelDir}: no chat_template.jinja and no chat_template in tokenizer_config.json`);
  return new ChatTemplate(parsed.chat_template, config);
}

/**
 * A Harmony conversation as the template's variables, as far as the template can express it: system content
 * becomes `reasoning_effort` / `model_identity` / `builtin_tools` (and `date` for `strftime_now`); developer
 * instructions the first message; `functions` tools the `tools` list; analysis messages the `thinking` of the
 * next assistant message; calls `tool_calls`. Channels, recipients other than `functions.*`, knowledge
 * cutoff and content types have no place in the template and are lost.
 */
export function conversationToTemplateContext(
  conversation: Conversation | Message[],
  addGenerationPrompt = true,
): { context: TemplateContext; date?: string } {
  const messages = Array.isArray(conversation) ? conversation : conversation.messages;
  const context: TemplateContext = { messages: [], add_generation_prompt: addGenerationPrompt };
  let date: string | undefined;
  let thinking: string | undefined;
  const withThinking = (m: TemplateMessage): TemplateMessage => {
    if (thinking !== undefined) m.thinking = thinking;
    thinking = undefined;
    return m;
  };
  for (const m of messages) {
    const text = messageText(m);
    switch (m.role) {
      case "system":
      case "developer": {
        let instructions: string | undefined = m.content.some((c) => c.type === "text") ? text : undefined;
        for (const c of m.content) {
          if (c.type === "system_content") {
            if (c.reasoning_effort) context.reasoning_effort = c.reasoning_effort.toLowerCase();
            if (c.model_identity !== undefined) context.model_identity = c.model_identity;
            if (c.conversation_start_date !== undefined) date = c.conversation_start_date;
            const builtin = Object.keys(c.tools ?? {}).filter((k) => k === "browser" || k === "python");
            if (builtin.length > 0) context.builtin_tools = builtin;
          } else if (c.type === "developer_content") {
            if (c.instructions !== undefined) instructions = c.instructions;
            const fns = c.tools?.functions?.tools ?? [];
            if (fns.length > 0) {
              context.tools = fns.map((t) => ({
                type: "function",
                function: { name: t.name, description: t.description, ...(t.parameters ? { parameters: t.parameters } : {}) },
              }));
            }
          }
        }
        if (instructions !== undefined) context.messages.push({ role: m.role, content: instructions });
        break;
      }
      case "user":
        context.messages.push({ role: "user", content: text });
        break;
      case "assistant":
        if (m.recipient !== undefined && m.recipient !== "all") {
          context.messages.push(
            withThinking({
              role: "assistant",
              tool_calls: [{ type: "function", function: { name: m.recipient.replace(/^functions\./, ""), arguments: jsonOrText(text) } }],
            }),
          );
        } else if (m.channel === "analysis") {
          thinking = thinking === undefined ? text : `${thinking}\n${text}`;
        } else {
          context.messages.push(withThinking({ role: "assistant", content: text }));
        }
        break;
      case "tool":
        context.messages.push({ role: "tool", content: text });
        break;
    }
  }
  return date === undefined ? { context } : { context, date };
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toDate(date: Date | string | undefined): Date {
  if (date === undefined) return new Date();
  if (date instanceof Date) return date;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`date: expected YYYY-MM-DD, got ${JSON.stringify(date)}`);
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** The strftime directives chat templates use (local time, like Python's datetime.now()). */
function strftime(format: string, d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return format.replace(/%([YmdHMSBbAaj%])/g, (_, c: string) => {
    switch (c) {
      case "Y": return String(d.getFullYear());
      case "m": return pad(d.getMonth() + 1);
      case "d": return pad(d.getDate());
      case "H": return pad(d.getHours());
      case "M": return pad(d.getMinutes());
      case "S": return pad(d.getSeconds());
      case "B": return MONTHS[d.getMonth()];
      case "b": return MONTHS[d.getMonth()].slice(0, 3);
      case "A": return DAYS[d.getDay()];
      case "a": return DAYS[d.getDay()].slice(0, 3);
      case "j": {
        const day = (Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86_400_000;
        return String(day + 1).padStart(3, "0");
      }
      default: return "%";
    }
  });
}
