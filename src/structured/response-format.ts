// Response formats as the APIs spell them, and the constraint a chat reply gets from its options.
//
// `responseFormat` takes OpenAI's Responses shape ({type: "json_schema", name, schema, strict}) or its
// Chat Completions shape ({type: "json_schema", json_schema: {name, schema, strict}}), and
// {type: "json_object"} (any JSON object) or {type: "text"} (no constraint).
import type { StepHook } from "../generation/loop.js";
import { GptOssError } from "../util/errors.js";
import type { JsonSchema, ResponseFormatSection, ToolDescription } from "../harmony/types.js";
import { grammarFor, type JsonGrammar } from "./grammar.js";
import { ReasoningBudget, ReplyBudgetError, StructuredReply } from "./reply.js";
import { SchemaError } from "./schema.js";

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema";
      /** the JSON Schema the answer must be valid for */
      schema: JsonSchema | boolean;
      /** shown to the model as the format's name (default "response") */
      name?: string;
      description?: string;
      /** false: when the schema uses what the matcher cannot honour, any JSON is enforced instead of refusing */
      strict?: boolean;
    };

/** A response format, tool schema or budget that cannot be honoured; `param` names the option. */
export class ResponseFormatError extends GptOssError {
  constructor(message: string, readonly param: string) {
    super(message);
  }
}

/** Checks a response format given as JSON and returns it in the flat shape (undefined for none). */
export function toResponseFormat(json: unknown, param = "response_format"): ResponseFormat | undefined {
  if (json === undefined || json === null) return undefined;
  if (!isObject(json)) throw new ResponseFormatError(`${param} must be an object with a type`, param);
  switch (json.type) {
    case "text":
      return { type: "text" };
    case "json_object":
      return { type: "json_object" };
    case "json_schema": {
      const inner = isObject(json.json_schema) ? json.json_schema : json;
      const where = inner === json ? param : `${param}.json_schema`;
      if (inner.schema === undefined) throw new ResponseFormatError(`${where}.schema is required`, param);
      if (!isObject(inner.schema) && typeof inner.schema !== "boolean") throw new ResponseFormatError(`${where}.schema must be a JSON Schema object`, param);
      if (inner.name !== undefined && (typeof inner.name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(inner.name))) {
        throw new ResponseFormatError(`${where}.name must be 1 to 64 letters, digits, _ or -`, param);
      }
      if (inner.description !== undefined && typeof inner.description !== "string") throw new ResponseFormatError(`${where}.description must be a string`, param);
      if (inner.strict !== undefined && inner.strict !== null && typeof inner.strict !== "boolean") throw new ResponseFormatError(`${where}.strict must be a boolean`, param);
      const out: ResponseFormat = { type: "json_schema", schema: inner.schema as JsonSchema | boolean };
      if (inner.name !== undefined) out.name = inner.name as string;
      if (inner.description !== undefined) out.description = inner.description as string;
      if (typeof inner.strict === "boolean") out.strict = inner.strict;
      return out;
    }
    default:
      throw new ResponseFormatError(`${param}.type must be "text", "json_object" or "json_schema", got ${JSON.stringify(json.type)}`, param);
  }
}

/** The `# Response Formats` entry of the developer message for a format (none for text). */
export function responseFormatSection(format: ResponseFormat | undefined): ResponseFormatSection | undefined {
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return { name: "json_object", description: "Any JSON object.", schema: { type: "object" } };
  return { name: format.name ?? "response", ...(format.description ? { description: format.description } : {}), schema: format.schema };
}

/**
 * The Responses API's `text` field ({format: {type: "text" | "json_object" | "json_schema", name, schema,
 * strict}}) as a ResponseFormat, for a Responses endpoint: throws ResponseFormatError (param "text.format").
 */
export function responseFormatOfText(text: unknown): ResponseFormat | undefined {
  if (text === undefined || text === null) return undefined;
  if (!isObject(text)) throw new ResponseFormatError("text must be an object {format}", "text");
  return toResponseFormat(text.format, "text.format");
}

/** Compiles the schemas of a response format and of strict tools (cached), throwing ResponseFormatError as replyConstraint would. */
export function checkResponseFormat(options: ConstraintOptions): void {
  replyConstraint(options, Number.MAX_SAFE_INTEGER);
}

export interface ConstraintOptions {
  responseFormat?: ResponseFormat;
  tools?: ToolDescription[];
  maxReasoningTokens?: number;
}

/**
 * The constraint of a chat reply of at most `maxTokens` tokens, as a step hook of the generation loop: the whole Harmony reply when the answer
 * must be JSON or a tool is strict, a reasoning budget alone when only that is set, else none.
 * Throws ResponseFormatError when a schema cannot be honoured or the budget cannot hold a valid reply.
 */
export function replyConstraint(options: ConstraintOptions, maxTokens: number): StepHook | undefined {
  const { maxReasoningTokens } = options;
  if (maxReasoningTokens !== undefined && !(Number.isInteger(maxReasoningTokens) && maxReasoningTokens >= 0)) {
    throw new ResponseFormatError(`maxReasoningTokens must be a non-negative integer, got ${maxReasoningTokens}`, "max_reasoning_tokens");
  }
  const format = options.responseFormat === undefined ? undefined : toResponseFormat(options.responseFormat, "responseFormat");
  let final: JsonGrammar | undefined;
  if (format?.type === "json_object") final = grammarFor({ type: "object" });
  else if (format?.type === "json_schema") {
    try {
      final = grammarFor(format.schema);
    } catch (e) {
      if (!(e instanceof SchemaError)) throw e;
      if (format.strict !== false) throw new ResponseFormatError(`response format schema at ${e.message}`, "response_format");
      final = grammarFor(true); // not strict: any JSON rather than a refusal
    }
  }
  const strict = (options.tools ?? []).some((t) => t.strict);
  if (!final && !strict) return maxReasoningTokens === undefined ? undefined : new ReasoningBudget(maxReasoningTokens);
  const tools = (options.tools ?? []).map((t, i) => {
    if (!t.strict) return { name: t.name };
    try {
      return { name: t.name, grammar: grammarFor(t.parameters ?? { type: "object", properties: {}, additionalProperties: false }) };
    } catch (e) {
      if (e instanceof SchemaError) throw new ResponseFormatError(`tools[${i}] (${t.name}) parameters at ${e.message}`, "tools");
      throw e;
    }
  });
  try {
    return new StructuredReply({ final, tools, maxReasoningTokens }, maxTokens);
  } catch (e) {
    if (e instanceof ReplyBudgetError) throw new ResponseFormatError(e.message, "max_tokens");
    throw e;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
