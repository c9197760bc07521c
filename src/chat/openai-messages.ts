// OpenAI's chat messages ({role, content: "text"}, assistant `tool_calls`, tool `tool_call_id`) -> Harmony
// messages. Used by `chat` (which also takes Harmony messages, and lists mixing both) and by the server.
//
// A user message becomes a user message; system and developer text becomes the developer message's
// instructions; an assistant message becomes its reasoning (`analysis`), its text (`final`, or a
// `commentary` preamble when it also calls tools) and one `commentary` message per tool call to
// `functions.NAME` with JSON arguments; a tool result comes from `functions.NAME`, found by its call id.
import { ConversationError, textMessage, type Message } from "../harmony/types.js";
import { isObject } from "../util/json.js";

/** A message as OpenAI's Chat Completions API takes it (the fields this engine reads). */
export interface OpenAIMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  /** text, or text parts ({type: "text", text}); null for an assistant message that only calls tools */
  content?: string | readonly { type: "text"; text: string }[] | null;
  /** assistant: its chain of thought (as some servers return it) */
  reasoning_content?: string;
  reasoning?: string;
  /** assistant: the tools it called */
  tool_calls?: readonly { id: string; type?: "function"; function: { name: string; arguments?: string | Record<string, unknown> } }[];
  /** tool: the call this answers */
  tool_call_id?: string;
}

/** Whether `m` is in OpenAI's shape rather than Harmony's: string (or null) content, or an OpenAI-only field. */
export function isOpenAIMessage(m: unknown): boolean {
  if (!isObject(m)) return false;
  return typeof m.content === "string" || m.content === null || m.content === undefined
    || "tool_calls" in m || "tool_call_id" in m || "reasoning_content" in m || "reasoning" in m;
}

/** Reads OpenAI messages one by one, in order (tool results refer to earlier calls by id). */
export class OpenAIMessageReader {
  /** the Harmony messages read so far */
  readonly messages: Message[] = [];
  /** the text of every system and developer message, in order */
  readonly instructions: string[] = [];
  private readonly callNames = new Map<string, string>();

  /** Reads one message; `path` names it in errors (ConversationError), e.g. `messages[2]`. */
  add(m: unknown, path: string): void {
    if (!isObject(m)) throw new ConversationError(`${path} must be an object`);
    switch (m.role) {
      case "system":
      case "developer":
        this.instructions.push(textOf(m.content, `${path}.content`));
        return;
      case "user":
        this.messages.push(textMessage("user", textOf(m.content, `${path}.content`)));
        return;
      case "assistant": {
        const reasoning = m.reasoning_content ?? m.reasoning;
        if (reasoning != null) {
          if (typeof reasoning !== "string") throw new ConversationError(`${path}.reasoning_content must be a string`);
          if (reasoning !== "") this.messages.push(textMessage("assistant", reasoning, { channel: "analysis" }));
        }
        const calls = m.tool_calls ?? [];
        if (!Array.isArray(calls)) throw new ConversationError(`${path}.tool_calls must be a list`);
        const text = m.content == null ? "" : textOf(m.content, `${path}.content`);
        if (text !== "" || (calls.length === 0 && reasoning == null)) {
          this.messages.push(textMessage("assistant", text, { channel: calls.length > 0 ? "commentary" : "final" }));
        }
        calls.forEach((c, j) => {
          const cp = `${path}.tool_calls[${j}]`;
          if (!isObject(c) || !isObject(c.function) || typeof c.function.name !== "string" || c.function.name === "") {
            throw new ConversationError(`${cp} must be {id, type: "function", function: {name, arguments}}`);
          }
          // The name goes into a Harmony header (`to=functions.NAME`): no spaces or special characters.
          if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(c.function.name)) {
            throw new ConversationError(`${cp}.function.name: expected a function name (letters, digits, _ . or -), got ${JSON.stringify(c.function.name)}`);
          }
          // A string of JSON, as OpenAI sends it, or the object itself, as ollama-style histories do.
          const raw = c.function.arguments ?? "{}";
          if (typeof raw !== "string" && !isObject(raw)) throw new ConversationError(`${cp}.function.arguments must be a string of JSON or an object`);
          const args = typeof raw === "string" ? raw : JSON.stringify(raw);
          if (typeof c.id === "string") this.callNames.set(c.id, c.function.name);
          this.messages.push(textMessage("assistant", args, { channel: "commentary", recipient: `functions.${c.function.name}`, content_type: "<|constrain|>json" }));
        });
        return;
      }
      case "tool": {
        const id = m.tool_call_id;
        const name = typeof id === "string" ? this.callNames.get(id) : undefined;
        if (name === undefined) {
          throw new ConversationError(`${path}.tool_call_id ${JSON.stringify(id)} does not match a tool call of an earlier assistant message`);
        }
        this.messages.push(textMessage("tool", textOf(m.content, `${path}.content`), { name: `functions.${name}`, recipient: "assistant", channel: "commentary" }));
        return;
      }
      default:
        throw new ConversationError(`${path}.role must be one of system, developer, user, assistant, tool; got ${JSON.stringify(m.role)}`);
    }
  }
}

/** A string, or a list of text parts (`{type: "text", text}`), joined. Images and audio are refused. */
export function textOf(content: unknown, path: string): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((p, i) => {
      if (isObject(p) && p.type === "text" && typeof p.text === "string") return p.text;
      const type = isObject(p) ? JSON.stringify(p.type) : "not an object";
      throw new ConversationError(`${path}[${i}]: only text content parts are supported (got ${type})`);
    }).join("");
  }
  throw new ConversationError(`${path} must be a string or a list of text parts`);
}
