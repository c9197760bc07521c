// Harmony renderer (spec §5.1-5.7): conversation -> prompt text or token ids, byte-exact with openai-harmony.
//
// Rendering produces a list of segments: special tokens and text pieces. Text becomes the same string
// either way; for token ids every text piece is encoded on its own with ordinary (non-special) encoding,
// as openai-harmony does (§5.7), so a user typing `<|end|>` never produces the special token.
import { getTokenizer, TokenLimitError, TOKENS, type Tokenizer } from "../tokenizer/tokenizer.js";
import type { Content, Conversation, DeveloperContent, JsonSchema, Message, Role, SystemContent, ToolNamespaceConfig } from "./types.js";

export type SpecialName = "start" | "end" | "message" | "channel" | "constrain" | "return" | "call";
export type Segment = { special: SpecialName } | { text: string };

export type RenderMode = "completion" | "conversation" | "training";

export interface RenderOptions {
  /** completion (default): messages + `<|start|>{nextRole}`; conversation: messages only; training: like
   * conversation, but a last assistant `final` message ends with `<|return|>` */
  mode?: RenderMode;
  /** role the model is asked to write next (completion mode); default "assistant" */
  nextRole?: Role;
  /** drop earlier chain of thought (spec §5.6); default true, as in openai-harmony's Python API */
  autoDropAnalysis?: boolean;
}

export interface RenderMessageOptions {
  /** adds the "Calls to these tools must go to the commentary channel" line to a system message */
  conversationHasFunctionTools?: boolean;
}

export function render(conversation: Conversation | Message[], options: RenderOptions = {}): string {
  return segmentsToText(renderSegments(conversation, options));
}

export function renderToTokens(conversation: Conversation | Message[], options: RenderOptions = {}, tokenizer?: Tokenizer): number[] {
  return segmentsToTokens(renderSegments(conversation, options), tokenizer);
}

/**
 * renderToTokens without holding the thread for long: rendered message by message and encoded in slices,
 * letting the event loop run in between; a prompt of more than `maxTokens` tokens is refused
 * (TokenLimitError) as soon as that is certain.
 */
export async function renderToTokensAsync(conversation: Conversation | Message[], options: RenderOptions & { maxTokens?: number } = {},
  tokenizer: Tokenizer = getTokenizer()): Promise<number[]> {
  const limit = options.maxTokens ?? Infinity;
  const out: number[] = [];
  let since = performance.now();
  for (const group of segmentGroups(conversation, options)) {
    for (const s of group) {
      if ("special" in s) {
        if (out.length + 1 > limit) throw new TokenLimitError(limit, out.length + 1);
        out.push(TOKENS[s.special]);
        continue;
      }
      let ids: number[];
      try {
        ids = await tokenizer.encodeAsync(s.text, { maxTokens: limit - out.length });
      } catch (e) {
        if (e instanceof TokenLimitError) throw new TokenLimitError(limit, out.length + e.atLeast);
        throw e;
      }
      for (const id of ids) out.push(id);
    }
    if (performance.now() - since > 8) { // many short messages: each encode alone is quick
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
  return out;
}

export function renderConversationForCompletion(conversation: Conversation | Message[], nextRole: Role = "assistant", options: Pick<RenderOptions, "autoDropAnalysis"> = {}): string {
  return render(conversation, { ...options, mode: "completion", nextRole });
}

export function renderConversation(conversation: Conversation | Message[], options: Pick<RenderOptions, "autoDropAnalysis"> = {}): string {
  return render(conversation, { ...options, mode: "conversation" });
}

export function renderConversationForTraining(conversation: Conversation | Message[], options: Pick<RenderOptions, "autoDropAnalysis"> = {}): string {
  return render(conversation, { ...options, mode: "training" });
}

export function renderMessage(message: Message, options: RenderMessageOptions = {}): string {
  const out: Segment[] = [];
  renderMessageInto(message, options, out);
  return segmentsToText(out);
}

export function renderMessageToTokens(message: Message, options: RenderMessageOptions = {}, tokenizer?: Tokenizer): number[] {
  const out: Segment[] = [];
  renderMessageInto(message, options, out);
  return segmentsToTokens(out, tokenizer);
}

export function renderSegments(conversation: Conversation | Message[], options: RenderOptions = {}): Segment[] {
  return [...segmentGroups(conversation, options)].flat();
}

/** The segments of renderSegments in groups, one per message (then the completion's `<|start|>role`), so
 * that a long conversation can be encoded, counted and refused as it is rendered. */
function* segmentGroups(conversation: Conversation | Message[], options: RenderOptions): Generator<Segment[]> {
  const messages = Array.isArray(conversation) ? conversation : conversation.messages;
  const mode = options.mode ?? "completion";
  if (mode !== "completion" && mode !== "conversation" && mode !== "training") {
    throw new Error(`render: unknown mode ${JSON.stringify(mode)} (completion, conversation or training)`);
  }
  const keep = keptMessages(messages, options.autoDropAnalysis ?? true);
  const messageOptions = { conversationHasFunctionTools: messages.some(definesFunctionTools) };
  for (let i = 0; i < keep.length; i++) {
    const out: Segment[] = [];
    renderMessageInto(keep[i], messageOptions, out);
    if (mode === "training" && i === keep.length - 1) {
      const last = messages[messages.length - 1];
      const lastSeg = out[out.length - 1];
      if (last?.role === "assistant" && last.channel === "final" && lastSeg && "special" in lastSeg) {
        out[out.length - 1] = { special: "return" };
      }
    }
    yield out;
  }
  if (mode === "completion") {
    // The prompt stops right after the role: the model writes `<|channel|>...` next.
    yield [{ special: "start" }, { text: options.nextRole ?? "assistant" }];
  }
}

/**
 * openai-harmony's `auto_drop_analysis`, literally (spec §5.6, §7.29): only when the last assistant message
 * is on `final`, drop the `analysis` messages that come before the first `final` message of the conversation.
 * Analysis written after that first final stays, and nothing is dropped during a tool-calling turn.
 */
function keptMessages(messages: readonly Message[], autoDropAnalysis: boolean): readonly Message[] {
  let lastAssistant: Message | undefined;
  for (const m of messages) if (m.role === "assistant") lastAssistant = m;
  const firstFinal = messages.findIndex((m) => m.channel === "final");
  if (!autoDropAnalysis || lastAssistant?.channel !== "final" || firstFinal < 0) return messages;
  return messages.filter((m, i) => !(i < firstFinal && m.channel === "analysis"));
}

function definesFunctionTools(m: Message): boolean {
  return m.content.some((c) => c.type === "developer_content" && (c.tools?.functions?.tools.length ?? 0) > 0);
}

const CONSTRAIN = "<|constrain|>";

function renderMessageInto(m: Message, options: RenderMessageOptions, out: Segment[]): void {
  out.push({ special: "start" });
  // Header: author, recipient, channel, content type (in that order; the parser accepts either order).
  if (m.role === "tool") {
    if (!m.name) throw new Error("render: a tool message needs a name (the tool that answered, e.g. \"functions.get_weather\")");
    out.push({ text: m.name });
  } else {
    out.push({ text: m.role });
    if (m.name !== undefined) out.push({ text: `:${m.name}` });
  }
  if (m.recipient !== undefined && m.recipient !== "all") out.push({ text: ` to=${m.recipient}` });
  if (m.channel !== undefined) out.push({ special: "channel" }, { text: m.channel });
  if (m.content_type !== undefined) {
    if (m.content_type.startsWith(CONSTRAIN)) {
      // ` <|constrain|>json` is a space token, the special token, then the rest (spec §7.27).
      out.push({ text: " " }, { special: "constrain" });
      const rest = m.content_type.slice(CONSTRAIN.length);
      if (rest !== "") out.push({ text: rest });
    } else {
      out.push({ text: ` ${m.content_type}` });
    }
  }
  out.push({ special: "message" });
  for (const c of m.content) out.push({ text: renderContent(c, m.role, options) });
  // An assistant message addressed to someone is a tool call; everything else (a final answer too, when it
  // goes back into history) ends with <|end|>.
  out.push({ special: m.role === "assistant" && m.recipient !== undefined ? "call" : "end" });
}

function renderContent(c: Content, role: Role, options: RenderMessageOptions): string {
  switch (c.type) {
    case "text":
      return c.text;
    case "system_content":
      if (role !== "system") throw new Error(`render: system_content may only appear in a system message, found in a ${role} message`);
      return renderSystemContent(c, options);
    case "developer_content":
      if (role !== "developer") throw new Error(`render: developer_content may only appear in a developer message, found in a ${role} message`);
      return renderDeveloperContent(c);
    default:
      throw new Error(`render: unknown content type ${JSON.stringify((c as { type?: unknown }).type)}`);
  }
}

// Spec §5.2: non-empty sections joined by a blank line.
function renderSystemContent(sys: SystemContent, options: RenderMessageOptions): string {
  const sections: string[] = [];
  const top: string[] = [];
  if (sys.model_identity !== undefined) top.push(sys.model_identity);
  if (sys.knowledge_cutoff !== undefined) top.push(`Knowledge cutoff: ${sys.knowledge_cutoff}`);
  if (sys.conversation_start_date !== undefined) top.push(`Current date: ${sys.conversation_start_date}`);
  if (top.length > 0) sections.push(top.join("\n"));
  if (sys.reasoning_effort !== undefined) sections.push(`Reasoning: ${sys.reasoning_effort.toLowerCase()}`);
  if (sys.tools && Object.keys(sys.tools).length > 0) sections.push(toolsSection(sys.tools));
  const channels = sys.channel_config;
  if (channels && channels.valid_channels.length > 0) {
    let line = `# Valid channels: ${channels.valid_channels.join(", ")}.`;
    if (channels.channel_required) line += " Channel must be included for every message.";
    if (options.conversationHasFunctionTools) line += "\nCalls to these tools must go to the commentary channel: 'functions'.";
    sections.push(line);
  }
  return sections.join("\n\n");
}

// Spec §5.3.
function renderDeveloperContent(dev: DeveloperContent): string {
  const sections: string[] = [];
  if (dev.instructions !== undefined) sections.push("# Instructions", dev.instructions);
  if (dev.tools && Object.keys(dev.tools).length > 0) sections.push(toolsSection(dev.tools));
  // Structured output as OpenAI's Harmony guide writes it, at the end of the developer message.
  if (dev.response_formats && dev.response_formats.length > 0) {
    sections.push("# Response Formats");
    for (const f of dev.response_formats) {
      const comment = f.description ? f.description.split("\n").map((line) => `// ${line}\n`).join("") : "";
      sections.push(`## ${f.name}`, `${comment}${JSON.stringify(f.schema)}`);
    }
  }
  return sections.join("\n\n");
}

// Spec §5.4. Namespaces in sorted-key order (openai-harmony keeps them in a BTreeMap).
function toolsSection(namespaces: Record<string, ToolNamespaceConfig>): string {
  const blocks = ["# Tools"];
  for (const key of Object.keys(namespaces).sort(byCodePoint)) {
    const ns = namespaces[key];
    const hasTools = ns.tools.length > 0;
    const parts = [`## ${ns.name}\n`];
    for (const line of lines(ns.description ?? "")) parts.push(hasTools ? `// ${line}` : line);
    if (hasTools) {
      parts.push(`namespace ${ns.name} {\n`);
      for (const tool of ns.tools) {
        for (const line of lines(tool.description)) parts.push(`// ${line}`);
        parts.push(
          tool.parameters !== undefined
            ? `type ${tool.name} = (_: ${schemaToTypeScript(tool.parameters, "")}) => any;\n`
            : `type ${tool.name} = () => any;\n`,
        );
      }
      parts.push(`} // namespace ${ns.name}`);
    }
    blocks.push(parts.join("\n"));
  }
  return blocks.join("\n\n");
}

// Rust's BTreeMap<String> orders by bytes; for UTF-16 strings, code point order is the same thing.
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (ch) => ch.codePointAt(0)!);
  const y = Array.from(b, (ch) => ch.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Rust's `str::lines()`: split on \n, drop one trailing empty line, strip a \r before each \n. */
function lines(text: string): string[] {
  if (text === "") return [];
  const out = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (text.endsWith("\n")) out.pop();
  return out;
}

// ---------------------------------------------------------------------------------------------------
// JSON Schema -> the TypeScript-like type text of spec §5.4. `indent` prefixes the lines of an object's
// body; nested objects get 4 more spaces, oneOf variants 3 more.

function schemaToTypeScript(schema: JsonSchema, indent: string): string {
  if (Array.isArray(schema.oneOf)) {
    return (schema.oneOf as unknown[]).map((v) => `\n${indent} | ${variantText(asSchema(v), indent)}`).join("");
  }
  if (Array.isArray(schema.type)) {
    const names = schema.type.filter((t): t is string => typeof t === "string").map((t) => (t === "integer" ? "number" : t));
    if (names.length > 0) return names.join(" | ");
  }
  switch (schema.type) {
    case "object":
      return objectText(schema, indent);
    case "string": {
      const values = Array.isArray(schema.enum) ? schema.enum.filter((v): v is string => typeof v === "string") : [];
      return values.length > 0 ? values.map((v) => `"${v}"`).join(" | ") : "string";
    }
    case "number":
    case "integer":
      return "number";
    case "boolean":
      return "boolean";
    case "array":
      return schema.items !== undefined ? `${schemaToTypeScript(asSchema(schema.items), indent)}[]` : "Array<any>";
    default:
      return "any";
  }
}

// A oneOf variant: its type, ` | null` if nullable, then ` // {description} default: {v}` if any.
function variantText(variant: JsonSchema, indent: string, skipDescription = false, propertyDescription?: string): string {
  let text = withNullable(variant, schemaToTypeScript(variant, `${indent}   `));
  const comments: string[] = [];
  const desc = variant.description;
  if (!skipDescription && typeof desc === "string" && desc !== propertyDescription) comments.push(desc);
  if (variant.default !== undefined) comments.push(`default: ${defaultText(variant)}`);
  if (comments.length > 0) text += ` // ${comments.join(" ")}`;
  return text;
}

function objectText(schema: JsonSchema, indent: string): string {
  let out = "";
  if (typeof schema.description === "string") out += `${indent}// ${schema.description}\n`;
  out += "{\n";
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const props = isPlainObject(schema.properties) ? schema.properties : {};
  // Object.entries keeps insertion order except for integer-like keys, which JSON Schema property
  // names practically never are.
  for (const [key, raw] of Object.entries(props)) {
    const prop = asSchema(raw);
    const optional = required.has(key) ? "" : "?";
    const oneOf = Array.isArray(prop.oneOf) ? (prop.oneOf as unknown[]).map(asSchema) : undefined;
    if (typeof prop.title === "string") out += `${indent}// ${prop.title}\n${indent}//\n`;
    if (!oneOf && typeof prop.description === "string") out += `${indent}// ${prop.description}\n`;
    if (Array.isArray(prop.examples) && prop.examples.length > 0) {
      out += `${indent}// Examples:\n`;
      for (const ex of prop.examples) if (typeof ex === "string") out += `${indent}// - "${ex}"\n`;
    }
    if (oneOf) {
      // Description and default go above the name; variants follow one per line.
      const desc = typeof prop.description === "string" ? prop.description : undefined;
      const descAbove = desc !== undefined && desc !== oneOf[0]?.description;
      if (descAbove) out += `${indent}// ${desc}\n`;
      if (prop.default !== undefined) out += `${indent}// default: ${defaultText(prop)}\n`;
      out += `${indent}${key}${optional}:\n`;
      oneOf.forEach((v, i) => {
        out += `${indent} | ${variantText(v, indent, i === 0 && descAbove, desc)}\n`;
      });
      out += `${indent},\n`;
      continue;
    }
    out += `${indent}${key}${optional}: ${withNullable(prop, schemaToTypeScript(prop, `${indent}    `))},`;
    if (prop.default !== undefined) out += ` // default: ${defaultText(prop)}`;
    out += "\n";
  }
  return `${out}${indent}}`;
}

function withNullable(schema: JsonSchema, text: string): string {
  return schema.nullable === true && !text.includes("null") ? `${text} | null` : text;
}

// String defaults are quoted, except on enums; anything else is written as JSON.
function defaultText(schema: JsonSchema): string {
  const v = schema.default;
  if (typeof v === "string") {
    const isEnum = Array.isArray(schema.enum) && schema.enum.length > 0;
    return isEnum ? v : `"${v}"`;
  }
  return JSON.stringify(v) ?? String(v);
}

function asSchema(v: unknown): JsonSchema {
  return isPlainObject(v) ? v : {};
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------------

const SPECIAL_TEXT: Record<SpecialName, string> = {
  start: "<|start|>",
  end: "<|end|>",
  message: "<|message|>",
  channel: "<|channel|>",
  constrain: "<|constrain|>",
  return: "<|return|>",
  call: "<|call|>",
};

export function segmentsToText(segments: readonly Segment[]): string {
  return segments.map((s) => ("special" in s ? SPECIAL_TEXT[s.special] : s.text)).join("");
}

export function segmentsToTokens(segments: readonly Segment[], tokenizer: Tokenizer = getTokenizer()): number[] {
  const out: number[] = [];
  for (const s of segments) {
    if ("special" in s) out.push(TOKENS[s.special]);
    else for (const id of tokenizer.encode(s.text)) out.push(id);
  }
  return out;
}
