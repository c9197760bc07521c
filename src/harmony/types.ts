// The Harmony data model, mirroring openai-harmony's Python JSON shape (`Conversation.to_dict()`), so that
// conversations written for openai-harmony (and the cases in test/fixtures/harmony/cases.json) load as-is:
//   message = {role, name?, recipient?, channel?, content_type?, content: [part, ...]}
// Keys stay snake_case on purpose: the JSON is the interface.
import { GptOssError } from "../util/errors.js";
import { isObject } from "../util/json.js";

export type Role = "system" | "developer" | "user" | "assistant" | "tool";
export const ROLES: readonly Role[] = ["system", "developer", "user", "assistant", "tool"];

export type ReasoningEffort = "low" | "medium" | "high";

/** The channels gpt-oss was trained with (spec §5.1). */
export const DEFAULT_CHANNELS: readonly string[] = ["analysis", "commentary", "final"];

export interface TextContent {
  type: "text";
  text: string;
}

export interface ChannelConfig {
  valid_channels: string[];
  channel_required: boolean;
}

/** A JSON Schema object (rendered as a TypeScript-like type, spec §5.4). Key order matters. */
export type JsonSchema = { [key: string]: unknown };

export interface ToolDescription {
  name: string;
  description: string;
  parameters?: JsonSchema;
  /** the call's arguments are constrained to `parameters` when generated (not rendered) */
  strict?: boolean;
}

export interface ToolNamespaceConfig {
  name: string;
  description?: string;
  tools: ToolDescription[];
}

export interface SystemContent {
  type: "system_content";
  model_identity?: string;
  reasoning_effort?: ReasoningEffort;
  /** rendered verbatim as `Current date: ...`; nothing is taken from the clock */
  conversation_start_date?: string;
  knowledge_cutoff?: string;
  channel_config?: ChannelConfig;
  /** built-in tools (browser, python), rendered in sorted-key order */
  tools?: Record<string, ToolNamespaceConfig>;
}

export interface DeveloperContent {
  type: "developer_content";
  instructions?: string;
  /** normally one namespace, `functions` */
  tools?: Record<string, ToolNamespaceConfig>;
  /** `# Response Formats` at the end of the message: the JSON schemas the answer should follow */
  response_formats?: ResponseFormatSection[];
}

/** One response format of a developer message: `## {name}`, `// {description}`, the schema as JSON. */
export interface ResponseFormatSection {
  name: string;
  description?: string;
  schema: JsonSchema | boolean;
}

export type Content = TextContent | SystemContent | DeveloperContent;

export interface Message {
  role: Role;
  /** for tool messages: the tool's name (`functions.get_weather`); otherwise an optional author name */
  name?: string;
  recipient?: string;
  channel?: string;
  /** e.g. `<|constrain|>json` or `code` */
  content_type?: string;
  content: Content[];
}

export interface Conversation {
  messages: Message[];
}

/** `SystemContent.new()` of openai-harmony (spec §5.2), with overrides. */
export function systemContent(overrides: Partial<Omit<SystemContent, "type">> = {}): SystemContent {
  return {
    type: "system_content",
    model_identity: "You are ChatGPT, a large language model trained by OpenAI.",
    reasoning_effort: "medium",
    knowledge_cutoff: "2024-06",
    channel_config: { valid_channels: [...DEFAULT_CHANNELS], channel_required: true },
    ...overrides,
  };
}

export function developerContent(instructions?: string, functions?: ToolDescription[]): DeveloperContent {
  const dev: DeveloperContent = { type: "developer_content" };
  if (instructions !== undefined) dev.instructions = instructions;
  if (functions) dev.tools = { functions: { name: "functions", tools: functions } };
  return dev;
}

/** A message with text content: `textMessage("user", "Hi")`. */
export function textMessage(role: Role, text: string, fields: Partial<Omit<Message, "role" | "content">> = {}): Message {
  return { role, ...fields, content: [{ type: "text", text }] };
}

/** The text of a message's text parts, joined. */
export function messageText(message: Message): string {
  return message.content.map((c) => (c.type === "text" ? c.text : "")).join("");
}

// ---------------------------------------------------------------------------------------------------
// Loading untrusted JSON: every problem is reported with its path, e.g. `messages[2].role: ...`.

export class ConversationError extends GptOssError {}

/**
 * Checks and normalises JSON in openai-harmony's shape. Accepted conveniences: a bare array of messages;
 * string `content` (one text part); reasoning effort in any case (`"High"` as Python writes it, or `"high"`);
 * `null` for absent optional fields (Python's `to_dict` writes `"name": null`).
 */
export function toConversation(json: unknown): Conversation {
  const root = Array.isArray(json) ? { messages: json } : json;
  if (!isObject(root) || !Array.isArray(root.messages)) {
    throw new ConversationError("conversation: expected {\"messages\": [...]} or an array of messages");
  }
  return { messages: root.messages.map((m, i) => toMessage(m, `messages[${i}]`)) };
}

const MESSAGE_KEYS = ["role", "name", "author", "recipient", "channel", "content_type", "content"];

export function toMessage(json: unknown, path = "message"): Message {
  if (!isObject(json)) throw new ConversationError(`${path}: expected an object`);
  // Unknown keys are errors, so that e.g. a Hugging Face `thinking` or `tool_calls` is not silently lost.
  for (const key of Object.keys(json)) {
    if (!MESSAGE_KEYS.includes(key)) {
      const hint = key === "thinking" || key === "tool_calls" ? " (a Hugging Face chat-template field; use the template renderer for that shape)" : "";
      throw new ConversationError(`${path}: unknown key ${JSON.stringify(key)}${hint}`);
    }
  }
  // Rust's serde shape nests the author; Python's to_dict flattens it. Accept both.
  const author = isObject(json.author) ? json.author : json;
  const role = author.role;
  if (typeof role !== "string" || !ROLES.includes(role as Role)) {
    throw new ConversationError(`${path}.role: expected one of ${ROLES.join(", ")}, got ${JSON.stringify(role)}`);
  }
  const msg: Message = { role: role as Role, content: [] };
  const name = optionalString(author.name, `${path}.name`);
  if (name !== undefined) msg.name = name;
  for (const key of ["recipient", "channel", "content_type"] as const) {
    const v = optionalString(json[key], `${path}.${key}`);
    if (v !== undefined) msg[key] = v;
  }
  const content = json.content;
  if (typeof content === "string") msg.content = [{ type: "text", text: content }];
  else if (Array.isArray(content)) msg.content = content.map((c, i) => toContent(c, `${path}.content[${i}]`));
  else throw new ConversationError(`${path}.content: expected an array of content parts or a string`);
  return msg;
}

function toContent(json: unknown, path: string): Content {
  if (!isObject(json)) throw new ConversationError(`${path}: expected an object`);
  switch (json.type) {
    case "text":
      if (typeof json.text !== "string") throw new ConversationError(`${path}.text: expected a string`);
      return { type: "text", text: json.text };
    case "system_content": {
      const sys: SystemContent = { type: "system_content" };
      for (const key of ["model_identity", "conversation_start_date", "knowledge_cutoff"] as const) {
        const v = optionalString(json[key], `${path}.${key}`);
        if (v !== undefined) sys[key] = v;
      }
      const effort = optionalString(json.reasoning_effort, `${path}.reasoning_effort`);
      if (effort !== undefined) {
        const lower = effort.toLowerCase();
        if (lower !== "low" && lower !== "medium" && lower !== "high") {
          throw new ConversationError(`${path}.reasoning_effort: expected Low, Medium or High, got ${JSON.stringify(effort)}`);
        }
        sys.reasoning_effort = lower;
      }
      if (json.channel_config != null) sys.channel_config = toChannelConfig(json.channel_config, `${path}.channel_config`);
      if (json.tools != null) sys.tools = toNamespaces(json.tools, `${path}.tools`);
      return sys;
    }
    case "developer_content": {
      const dev: DeveloperContent = { type: "developer_content" };
      const instructions = optionalString(json.instructions, `${path}.instructions`);
      if (instructions !== undefined) dev.instructions = instructions;
      if (json.tools != null) dev.tools = toNamespaces(json.tools, `${path}.tools`);
      return dev;
    }
    default:
      throw new ConversationError(
        `${path}.type: expected "text", "system_content" or "developer_content", got ${JSON.stringify(json.type)}`,
      );
  }
}

function toChannelConfig(json: unknown, path: string): ChannelConfig {
  if (!isObject(json) || !Array.isArray(json.valid_channels) || !json.valid_channels.every((c) => typeof c === "string")) {
    throw new ConversationError(`${path}: expected {valid_channels: string[], channel_required: boolean}`);
  }
  return { valid_channels: [...(json.valid_channels as string[])], channel_required: json.channel_required !== false };
}

function toNamespaces(json: unknown, path: string): Record<string, ToolNamespaceConfig> {
  if (!isObject(json)) throw new ConversationError(`${path}: expected an object of tool namespaces`);
  const out: Record<string, ToolNamespaceConfig> = {};
  for (const [key, ns] of Object.entries(json)) {
    const p = `${path}.${key}`;
    if (!isObject(ns) || !Array.isArray(ns.tools)) throw new ConversationError(`${p}: expected {name, description?, tools: [...]}`);
    const cfg: ToolNamespaceConfig = {
      name: optionalString(ns.name, `${p}.name`) ?? key,
      tools: ns.tools.map((t, i) => toTool(t, `${p}.tools[${i}]`)),
    };
    const description = optionalString(ns.description, `${p}.description`);
    if (description !== undefined) cfg.description = description;
    out[key] = cfg;
  }
  return out;
}

function toTool(json: unknown, path: string): ToolDescription {
  if (!isObject(json) || typeof json.name !== "string") throw new ConversationError(`${path}: expected {name, description, parameters?}`);
  const tool: ToolDescription = { name: json.name, description: optionalString(json.description, `${path}.description`) ?? "" };
  if (json.parameters != null) {
    if (!isObject(json.parameters)) throw new ConversationError(`${path}.parameters: expected a JSON Schema object`);
    tool.parameters = json.parameters;
  }
  return tool;
}

function optionalString(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new ConversationError(`${path}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}
