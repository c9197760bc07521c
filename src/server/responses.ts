// OpenAI's Responses API on top of `chat`: a request's `input` items (plus a stored previous response)
// become Harmony messages and chat options; the chat events become output items, the streamed events of
// the reference (each with its sequence number) and the final response object. Responses are kept in a
// bounded in-memory store for `previous_response_id`, GET and DELETE. No I/O: src/server/server.ts serves it.
import { randomBytes } from "node:crypto";
import { appendReply, isToolCall, toToolDescriptions, type ChatDone, type ChatEvent, type ChatOptions } from "../chat/chat.js";
import { textMessage, type Message, type ReasoningEffort } from "../harmony/types.js";
import { Sampler } from "../generation/sampling.js";
import type { TokenLogprob } from "../generation/logprobs.js";
import { isObject } from "../util/json.js";
import { InvalidRequestError, logprobJson, optionalNumber, samplingFields, topLogprobsOf, type LogprobJson, type RequestDefaults } from "./openai-chat.js";
import { checkResponseFormat, responseFormatOfText, ResponseFormatError, type ResponseFormat } from "../structured/response-format.js";

type Json = Record<string, unknown>;

/** What a response keeps of its conversation, so that a later request can continue it. */
export interface StoredConversation {
  /** the Harmony conversation so far, this response's reply included (no system or developer message) */
  messages: Message[];
  /** the text of the system and developer input items so far (the `instructions` field is not kept, as OpenAI does) */
  instructions: string[];
  /** call_id -> function name of every function call so far */
  callNames: Record<string, string>;
}

export interface ResponsesRequest {
  /** this request's conversation: the previous response's, then the input items */
  conversation: StoredConversation;
  options: Omit<ChatOptions, "signal">;
  stream: boolean;
  store: boolean;
  /** `include: ["message.output_text.logprobs"]`: log-probabilities of the output text */
  logprobs: boolean;
  /** the request's fields echoed in the response object */
  echo: {
    instructions: string | null;
    max_output_tokens: number | null;
    previous_response_id: string | null;
    reasoning: { effort: ReasoningEffort; summary: null };
    temperature: number;
    top_p: number;
    top_logprobs: number;
    tool_choice: "auto" | "none";
    tools: Json[];
    metadata: Json;
    text: { format: ResponseFormat };
  };
}

/** Built-in tools of OpenAI's API, which this server does not run: named in the refusal. */
const BUILT_IN = "a built-in tool (web search, file search, code interpreter, computer use, image generation, MCP, shell, ...)";

/**
 * Checks a Responses API body and maps it; throws InvalidRequestError (400, or 404 for an unknown
 * previous_response_id) on anything wrong. `store` resolves `previous_response_id`.
 */
export function parseResponsesRequest(body: unknown, store: ResponseStore, defaults: RequestDefaults = {}): ResponsesRequest {
  if (!isObject(body)) throw new InvalidRequestError("the request body must be a JSON object");
  for (const key of ["background", "conversation", "prompt"]) {
    if (body[key] != null && body[key] !== false) throw new InvalidRequestError(`${key} is not supported by this server`, key);
  }

  let previous: StoredConversation = { messages: [], instructions: [], callNames: {} };
  const previousId = body.previous_response_id;
  if (previousId != null) {
    if (typeof previousId !== "string") throw new InvalidRequestError("previous_response_id must be a string", "previous_response_id");
    const stored = store.get(previousId);
    if (!stored) throw new InvalidRequestError(`no response with id ${JSON.stringify(previousId)} is stored here (it was never stored, was deleted, or was evicted)`, "previous_response_id", 404);
    previous = stored.conversation;
  }
  const conversation = inputConversation(body.input, previous);

  const options: Omit<ChatOptions, "signal"> = {};
  let effort: ReasoningEffort = "medium";
  if (body.reasoning != null) {
    if (!isObject(body.reasoning)) throw new InvalidRequestError("reasoning must be an object {effort}", "reasoning");
    const e = body.reasoning.effort;
    if (e != null) {
      if (e !== "low" && e !== "medium" && e !== "high") throw new InvalidRequestError(`reasoning.effort must be "low", "medium" or "high", got ${JSON.stringify(e)}`, "reasoning.effort");
      options.reasoningEffort = effort = e;
    }
  }
  if (body.instructions != null && typeof body.instructions !== "string") throw new InvalidRequestError("instructions must be a string", "instructions");
  const instructions = [...(body.instructions ? [body.instructions as string] : []), ...conversation.instructions];
  if (instructions.length > 0) options.instructions = instructions.join("\n\n");

  const toolChoice = body.tool_choice ?? "auto";
  if (toolChoice !== "auto" && toolChoice !== "none") {
    throw new InvalidRequestError(`tool_choice ${JSON.stringify(toolChoice)} is not supported (only "auto" and "none")`, "tool_choice");
  }
  const tools: Json[] = [];
  if (body.tools != null) {
    if (!Array.isArray(body.tools)) throw new InvalidRequestError("tools must be a list of function tools", "tools");
    body.tools.forEach((t, i) => {
      if (!isObject(t)) throw new InvalidRequestError(`tools[${i}] must be an object`, "tools");
      if (t.type !== "function") throw new InvalidRequestError(`tools[${i}]: ${JSON.stringify(t.type)} is ${BUILT_IN} or another kind this server does not run: only function tools are supported`, "tools");
      tools.push(t);
    });
    let described;
    try {
      described = toToolDescriptions(tools, "tools");
    } catch (e) {
      throw new InvalidRequestError((e as Error).message, "tools");
    }
    if (described.length > 0 && toolChoice !== "none") options.tools = described;
  }

  const maxOutput = body.max_output_tokens;
  if (maxOutput != null && !(Number.isInteger(maxOutput) && (maxOutput as number) > 0)) {
    throw new InvalidRequestError(`max_output_tokens must be a positive integer, got ${JSON.stringify(maxOutput)}`, "max_output_tokens");
  }
  options.maxTokens = (maxOutput as number | undefined) ?? defaults.maxTokens ?? Number.MAX_SAFE_INTEGER;
  if (defaults.date !== undefined) options.date = defaults.date;
  samplingFields(body, options);
  // text.format: json_object or json_schema constrain the answer (src/structured/); schemas compile now.
  let format: ResponseFormat | undefined;
  try {
    format = responseFormatOfText(body.text);
    if (format && format.type !== "text") options.responseFormat = format;
    checkResponseFormat(options);
  } catch (e) {
    if (e instanceof ResponseFormatError) throw new InvalidRequestError(e.message, e.param);
    throw e;
  }
  if (body.truncation != null && body.truncation !== "disabled") throw new InvalidRequestError("truncation must be \"disabled\": an input longer than the context is refused", "truncation");
  if (body.include != null && !(Array.isArray(body.include) && body.include.every((x) => typeof x === "string"))) {
    throw new InvalidRequestError("include must be a list of strings", "include");
  }
  // Other `include` values ask for what this server has not (encrypted reasoning, search results): ignored.
  const logprobs = Array.isArray(body.include) && body.include.includes("message.output_text.logprobs");
  const top = topLogprobsOf(body.top_logprobs) ?? 0;
  if (logprobs || top > 0) options.topLogprobs = top;
  if (body.metadata != null && !isObject(body.metadata)) throw new InvalidRequestError("metadata must be an object", "metadata");
  if (body.stream != null && typeof body.stream !== "boolean") throw new InvalidRequestError("stream must be a boolean", "stream");
  if (body.store != null && typeof body.store !== "boolean") throw new InvalidRequestError("store must be a boolean", "store");
  try {
    new Sampler(options); // the sampler's own checks, before the request waits in the queue
  } catch (e) {
    throw new InvalidRequestError((e as Error).message);
  }

  return {
    conversation,
    options,
    stream: body.stream === true,
    store: body.store !== false,
    logprobs: logprobs || top > 0,
    echo: {
      instructions: (body.instructions as string | undefined) ?? null,
      max_output_tokens: (maxOutput as number | undefined) ?? null,
      previous_response_id: (previousId as string | undefined) ?? null,
      reasoning: { effort, summary: null },
      temperature: options.temperature ?? 1,
      top_p: options.topP ?? 1,
      top_logprobs: top,
      tool_choice: toolChoice,
      tools,
      metadata: (body.metadata as Json | undefined) ?? {},
      text: { format: format ?? { type: "text" } },
    },
  };
}

/**
 * `input` (a string, or a list of items) after the previous conversation. Messages: user, assistant
 * (`output_text`: `final`, or a `commentary` preamble when a function call follows it in the same turn),
 * system and developer (their text joins the instructions). `reasoning` items go back as `analysis`
 * messages (Harmony's renderer drops them after a final answer); `function_call` items as commentary
 * messages to `functions.NAME`; `function_call_output` as the tool's answer, found by its call_id.
 */
export function inputConversation(input: unknown, previous: StoredConversation): StoredConversation {
  const out: StoredConversation = { messages: [...previous.messages], instructions: [...previous.instructions], callNames: { ...previous.callNames } };
  if (typeof input === "string") {
    out.messages.push(textMessage("user", input));
    return out;
  }
  if (!Array.isArray(input) || input.length === 0) throw new InvalidRequestError("input must be a string or a non-empty list of items", "input");
  input.forEach((item, i) => {
    const path = `input[${i}]`;
    if (!isObject(item)) throw new InvalidRequestError(`${path} must be an object`, "input");
    const type = item.type ?? (item.role !== undefined ? "message" : undefined);
    switch (type) {
      case "message": {
        const text = textOfParts(item.content, `${path}.content`);
        switch (item.role) {
          case "system":
          case "developer":
            out.instructions.push(text);
            return;
          case "user":
            out.messages.push(textMessage("user", text));
            return;
          case "assistant": {
            const next = input.slice(i + 1).find((x) => !(isObject(x) && x.type === "reasoning"));
            const preamble = item.phase === "commentary" || (isObject(next) && next.type === "function_call");
            out.messages.push(textMessage("assistant", text, { channel: preamble ? "commentary" : "final" }));
            return;
          }
          default:
            throw new InvalidRequestError(`${path}.role must be one of user, assistant, system, developer; got ${JSON.stringify(item.role)}`, "input");
        }
      }
      case "reasoning": {
        const parts = Array.isArray(item.content) && item.content.length > 0 ? item.content : Array.isArray(item.summary) ? item.summary : [];
        const text = parts.map((p: unknown, j: number) => {
          if (isObject(p) && typeof p.text === "string") return p.text;
          throw new InvalidRequestError(`${path}: reasoning parts must be {type: "reasoning_text", text} (part ${j} is not)`, "input");
        }).join("");
        if (text !== "") out.messages.push(textMessage("assistant", text, { channel: "analysis" }));
        return; // only encrypted content: nothing this server can read
      }
      case "function_call": {
        if (typeof item.call_id !== "string" || item.call_id === "") throw new InvalidRequestError(`${path}.call_id must be a non-empty string`, "input");
        // The name goes into a Harmony header (`to=functions.NAME`): no spaces or special characters.
        if (typeof item.name !== "string" || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(item.name)) {
          throw new InvalidRequestError(`${path}.name: expected a function name (letters, digits, _ . or -), got ${JSON.stringify(item.name)}`, "input");
        }
        const raw = item.arguments ?? "{}";
        if (typeof raw !== "string" && !isObject(raw)) throw new InvalidRequestError(`${path}.arguments must be a string of JSON or an object`, "input");
        out.callNames[item.call_id] = item.name;
        out.messages.push(textMessage("assistant", typeof raw === "string" ? raw : JSON.stringify(raw), {
          channel: "commentary", recipient: `functions.${item.name}`, content_type: "<|constrain|>json",
        }));
        return;
      }
      case "function_call_output": {
        const name = typeof item.call_id === "string" ? out.callNames[item.call_id] : undefined;
        if (name === undefined) {
          throw new InvalidRequestError(`${path}.call_id ${JSON.stringify(item.call_id)} does not match a function_call earlier in the input or in the previous response`, "input");
        }
        const output = typeof item.output === "string" ? item.output : textOfParts(item.output, `${path}.output`);
        out.messages.push(textMessage("tool", output, { name: `functions.${name}`, recipient: "assistant", channel: "commentary" }));
        return;
      }
      default:
        throw new InvalidRequestError(`${path}: items of type ${JSON.stringify(type)} are not supported (only message, reasoning, function_call and function_call_output)`, "input");
    }
  });
  if (!out.messages.some((m) => m.role !== "assistant")) throw new InvalidRequestError("input has no user message or function call output", "input");
  return out;
}

/** A string, or a list of text parts (`input_text`, `output_text`, `text`), joined. Images and files are refused. */
function textOfParts(content: unknown, path: string): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((p, i) => {
      if (isObject(p) && (p.type === "input_text" || p.type === "output_text" || p.type === "text") && typeof p.text === "string") return p.text;
      const type = isObject(p) ? JSON.stringify(p.type) : "not an object";
      throw new InvalidRequestError(`${path}[${i}]: only text parts are supported (input_text, output_text), got ${type}`, "input");
    }).join("");
  }
  throw new InvalidRequestError(`${path} must be a string or a list of text parts`, "input");
}

// ---------------------------------------------------------------------------------------------------
// The reply: chat events -> output items and stream events.

export type OutputItem =
  | { id: string; type: "reasoning"; summary: []; content: { type: "reasoning_text"; text: string }[]; status: ItemStatus }
  | { id: string; type: "message"; role: "assistant"; status: ItemStatus; content: OutputText[] }
  | { id: string; type: "function_call"; status: ItemStatus; call_id: string; name: string; arguments: string };

type ItemStatus = "in_progress" | "completed" | "incomplete";

interface OutputText {
  type: "output_text";
  text: string;
  annotations: [];
  logprobs: LogprobJson[];
}

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface ResponseObject {
  id: string;
  object: "response";
  created_at: number;
  status: "in_progress" | "completed" | "incomplete";
  completed_at: number | null;
  error: null;
  incomplete_details: { reason: "max_output_tokens" } | null;
  model: string;
  output: OutputItem[];
  output_text: string;
  parallel_tool_calls: boolean;
  store: boolean;
  text: { format: ResponseFormat };
  truncation: "disabled";
  usage: ResponseUsage | null;
  [echoed: string]: unknown;
}

/** A streamed event: `{type, sequence_number, ...}`. */
export type StreamEvent = { type: string; sequence_number: number } & Json;

/**
 * Turns chat events into output items: `analysis` text -> a `reasoning` item; the answer, preambles and
 * text outside Harmony's known channels -> `message` items; a tool call -> a `function_call` item. Each
 * Harmony message is one item. Every method returns the stream events it caused (numbered in order).
 */
export class ResponseBuilder {
  readonly id = `resp_${randomBytes(24).toString("hex")}`;
  readonly createdAt = Math.floor(Date.now() / 1000);
  readonly output: OutputItem[] = [];
  private status: ResponseObject["status"] = "in_progress";
  private usage: ResponseUsage | null = null;
  private sequence = 0;
  private open?: { item: OutputItem; index: number; text: string; logprobs: LogprobJson[] };

  constructor(private readonly request: ResponsesRequest, private readonly modelId: string) {}

  /** `response.created` and `response.in_progress`. */
  start(): StreamEvent[] {
    return [this.event("response.created", { response: this.response() }), this.event("response.in_progress", { response: this.response() })];
  }

  push(event: ChatEvent): StreamEvent[] {
    switch (event.type) {
      case "reasoning":
        return [...this.openItem("reasoning"), this.textDelta("response.reasoning_text.delta", event.text)];
      case "answer":
      case "commentary":
      case "other":
      case "raw":
        return event.text === "" ? [] : [...this.openItem("message"), this.textDelta("response.output_text.delta", event.text, event.logprobs)];
      case "tool-call-delta":
        return [...this.openItem("function_call", event.recipient), this.textDelta("response.function_call_arguments.delta", event.text)];
      case "tool-call": {
        const opened = this.open?.item.type === "function_call" ? [] : this.openItem("function_call", event.recipient);
        if (opened.length > 0 && event.argumentsText !== "") opened.push(this.textDelta("response.function_call_arguments.delta", event.argumentsText));
        return [...opened, ...this.close(event.complete ? "completed" : "incomplete")];
      }
      case "message":
        // A tool call's item is closed by the tool-call event that follows.
        return isToolCall(event.message) ? [] : this.close(event.complete ? "completed" : "incomplete");
      default:
        return [];
    }
  }

  /** The end: the last item closed, the usage, and `response.completed` or `response.incomplete`. */
  finish(done: ChatDone): StreamEvent[] {
    const cut = done.stopReason === "max_tokens" || done.stopReason === "context_full";
    const out = this.close(cut || done.stopReason === "aborted" ? "incomplete" : "completed");
    this.status = cut ? "incomplete" : "completed";
    this.usage = {
      input_tokens: done.promptTokens,
      input_tokens_details: { cached_tokens: done.reusedPromptTokens },
      output_tokens: done.generatedTokens,
      output_tokens_details: { reasoning_tokens: done.reasoningTokens },
      total_tokens: done.promptTokens + done.generatedTokens,
    };
    out.push(this.event(cut ? "response.incomplete" : "response.completed", { response: this.response() }));
    return out;
  }

  /** An `error` event, for a failure after the stream began. */
  error(message: string): StreamEvent {
    return this.event("error", { code: "server_error", message, param: null });
  }

  /** The response object as it stands (a copy). */
  response(): ResponseObject {
    const { echo } = this.request;
    const text = this.output.flatMap((i) => (i.type === "message" ? i.content.map((c) => c.text) : [])).join("");
    return structuredClone({
      id: this.id,
      object: "response",
      created_at: this.createdAt,
      status: this.status,
      completed_at: this.status === "completed" ? Math.floor(Date.now() / 1000) : null,
      error: null,
      incomplete_details: this.status === "incomplete" ? { reason: "max_output_tokens" } : null,
      instructions: echo.instructions,
      max_output_tokens: echo.max_output_tokens,
      metadata: echo.metadata,
      model: this.modelId,
      output: this.output,
      output_text: text,
      parallel_tool_calls: true,
      previous_response_id: echo.previous_response_id,
      reasoning: echo.reasoning,
      store: this.request.store,
      temperature: echo.temperature,
      text: echo.text,
      tool_choice: echo.tool_choice,
      tools: echo.tools,
      top_logprobs: echo.top_logprobs,
      top_p: echo.top_p,
      truncation: "disabled",
      usage: this.usage,
    });
  }

  /** What `previous_response_id` continues from: the request's conversation and this reply. */
  conversation(done: ChatDone): StoredConversation {
    const { conversation } = this.request;
    const callNames = { ...conversation.callNames };
    for (const i of this.output) if (i.type === "function_call") callNames[i.call_id] = i.name;
    return { messages: appendReply(conversation.messages, done).messages, instructions: conversation.instructions, callNames };
  }

  private openItem(type: OutputItem["type"], recipient = ""): StreamEvent[] {
    if (this.open?.item.type === type) return [];
    const out = this.close("completed");
    const index = this.output.length;
    const hex = () => randomBytes(24).toString("hex");
    const item: OutputItem =
      type === "reasoning" ? { id: `rs_${hex()}`, type, summary: [], content: [], status: "in_progress" }
      : type === "message" ? { id: `msg_${hex()}`, type, role: "assistant", status: "in_progress", content: [] }
      : { id: `fc_${hex()}`, type, status: "in_progress", call_id: `call_${hex()}`, name: recipient.replace(/^functions\./, ""), arguments: "" };
    this.output.push(item);
    this.open = { item, index, text: "", logprobs: [] };
    out.push(this.event("response.output_item.added", { output_index: index, item: structuredClone(item) }));
    if (type !== "function_call") {
      out.push(this.event("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part: item.type === "reasoning" ? { type: "reasoning_text", text: "" } : { type: "output_text", text: "", annotations: [], logprobs: [] } }));
    }
    return out;
  }

  private textDelta(type: string, delta: string, logprobs?: TokenLogprob[]): StreamEvent {
    const open = this.open!;
    open.text += delta;
    const fields: Json = { item_id: open.item.id, output_index: open.index };
    if (open.item.type !== "function_call") fields.content_index = 0;
    fields.delta = delta;
    if (type === "response.output_text.delta") {
      const json = this.request.logprobs ? (logprobs ?? []).map(logprobJson) : [];
      open.logprobs.push(...json);
      fields.logprobs = json;
    }
    return this.event(type, fields);
  }

  private close(status: "completed" | "incomplete"): StreamEvent[] {
    const open = this.open;
    if (!open) return [];
    this.open = undefined;
    const { item, index, text } = open;
    const at = { item_id: item.id, output_index: index };
    const out: StreamEvent[] = [];
    if (item.type === "function_call") {
      item.arguments = text;
      out.push(this.event("response.function_call_arguments.done", { ...at, name: item.name, arguments: text }));
    } else {
      if (item.type === "reasoning") {
        item.content = [{ type: "reasoning_text", text }];
        out.push(this.event("response.reasoning_text.done", { ...at, content_index: 0, text }));
      } else {
        item.content = [{ type: "output_text", text, annotations: [], logprobs: open.logprobs }];
        out.push(this.event("response.output_text.done", { ...at, content_index: 0, text, logprobs: open.logprobs }));
      }
      out.push(this.event("response.content_part.done", { ...at, content_index: 0, part: structuredClone(item.content[0]) }));
    }
    item.status = status;
    out.push(this.event("response.output_item.done", { output_index: index, item: structuredClone(item) }));
    return out;
  }

  private event(type: string, fields: Json): StreamEvent {
    return { type, sequence_number: this.sequence++, ...fields };
  }
}

// ---------------------------------------------------------------------------------------------------
// The store: responses by id, the oldest dropped first once there are too many or they take too much.

export interface StoredResponse {
  response: ResponseObject;
  conversation: StoredConversation;
}

export class ResponseStore {
  private readonly entries = new Map<string, { stored: StoredResponse; bytes: number }>();
  private bytes = 0;

  constructor(readonly maxCount = 1000, readonly maxBytes = 64 * 2 ** 20) {}

  get size(): number {
    return this.entries.size;
  }

  /** Keeps `stored` (unless it alone is larger than the store), dropping the oldest as needed. */
  put(stored: StoredResponse): void {
    // Strings count twice: JavaScript keeps them as UTF-16.
    const bytes = 2 * JSON.stringify(stored).length;
    if (bytes > this.maxBytes || this.maxCount === 0) return;
    this.delete(stored.response.id);
    this.entries.set(stored.response.id, { stored, bytes });
    this.bytes += bytes;
    for (const [id] of this.entries) {
      if (this.entries.size <= this.maxCount && this.bytes <= this.maxBytes) break;
      this.delete(id);
    }
  }

  get(id: string): StoredResponse | undefined {
    return this.entries.get(id)?.stored;
  }

  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    this.bytes -= entry.bytes;
    return true;
  }
}


