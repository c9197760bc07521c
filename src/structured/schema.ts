// A JSON Schema as a byte automaton that accepts exactly the JSON texts this matcher lets a model write
// for it: a subset of the texts valid for the schema, chosen so that every one of them is finite and can
// be completed from any point (see README "Structured output"):
// - properties in the schema's order, each written at most once; no properties the schema does not
//   declare (extra ones are valid but never needed);
// - at most `maxWhitespace` whitespace bytes (space, tab, newline) between two JSON tokens, none around
//   the whole value;
// - numbers of at most 15 integer and 15 fraction digits and a two-digit exponent (finite in JavaScript);
// - strings as raw UTF-8 plus the escapes \" \\ \b \f \n \r \t (no \u escapes, so other control
//   characters are never written);
// - values the schema leaves free ({}, true, an object without properties) nest at most `anyDepth`
//   containers deep.
// Keywords it cannot honour are refused with their path rather than ignored.
import { GptOssError } from "../util/errors.js";
import { NfaBuilder, UNREACHABLE, type Nfa } from "./nfa.js";
import { integer, number, type Bounds } from "./numbers.js";
import { compilePattern, PatternError, type CodePointNfa } from "./regex.js";
import { intersect, MAX_CODE_POINT, utf8Sequences, type ByteSequence, type CodePointRanges } from "./utf8.js";

export interface SchemaOptions {
  /** most whitespace bytes between two JSON tokens (default 8: a newline and some indentation) */
  maxWhitespace?: number;
  /** how deep containers nest where the schema leaves a value free (default 4) */
  anyDepth?: number;
}

export class SchemaError extends GptOssError {
  /** where in the schema, as a JSON pointer ("#/properties/name") */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

export const DEFAULT_MAX_WHITESPACE = 8;
/** Schemas nested deeper are refused (the compiler recurses; a hostile depth would overflow the stack). */
export const MAX_SCHEMA_DEPTH = 100;
export const DEFAULT_ANY_DEPTH = 4;

/** Keywords that describe a value without constraining it. */
const ANNOTATIONS = new Set([
  "title", "description", "examples", "default", "$comment", "$schema", "$id", "$anchor", "deprecated",
  "readOnly", "writeOnly", "$defs", "definitions",
]);

const TYPES = ["string", "integer", "number", "boolean", "null", "object", "array"] as const;
type JsonType = (typeof TYPES)[number];

const KEYWORDS: Record<JsonType, readonly string[]> = {
  string: ["minLength", "maxLength", "pattern", "format"],
  integer: ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"],
  number: ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"],
  boolean: [],
  null: [],
  object: ["properties", "required", "additionalProperties", "unevaluatedProperties"],
  array: ["items", "prefixItems", "minItems", "maxItems", "uniqueItems"],
};

/** `format` values written through a pattern that only matches valid instances. */
const FORMATS: Record<string, string> = {
  date: "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$",
  time: "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$",
  "date-time": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,3})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$",
  uuid: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
  email: "^[a-z0-9]+(\\.[a-z0-9]+)*@([a-z0-9]+\\.)+[a-z]{2,6}$",
};

// String content written raw: everything but `"`, `\` and the control characters.
const RAW: CodePointRanges = [[0x20, 0x21], [0x23, 0x5b], [0x5d, MAX_CODE_POINT]];
// Characters written as a two-character escape, with its letter.
const ESCAPES: [number, string][] = [[0x22, '"'], [0x5c, "\\"], [0x08, "b"], [0x0c, "f"], [0x0a, "n"], [0x0d, "r"], [0x09, "t"]];
const ANY_CHAR: CodePointNfa = { start: 0, accepting: [true], edges: [[{ ranges: [[0, MAX_CODE_POINT]], to: 0 }]] };
const WHITESPACE: [number, number][] = [[0x09, 0x0a], [0x20, 0x20]];

/** The automaton of `schema`; throws SchemaError (with the path) for what it cannot honour. */
export function compileSchema(schema: unknown, options: SchemaOptions = {}): Nfa {
  return new SchemaCompiler(schema, options).compile();
}

class SchemaCompiler {
  private readonly b = new NfaBuilder();
  private readonly maxWhitespace: number;
  private readonly anyDepth: number;
  /** $refs being expanded (a ref inside its own expansion is recursion) */
  private readonly refs: string[] = [];
  /** byte sequences and escape letters of each character set (per set object) */
  private readonly charCache = new Map<CodePointRanges, { raw: ByteSequence[]; escapes: string }>();
  private readonly escapeStates = new Map<string, number>();
  private nesting = 0;

  constructor(private readonly root: unknown, options: SchemaOptions) {
    this.maxWhitespace = options.maxWhitespace ?? DEFAULT_MAX_WHITESPACE;
    this.anyDepth = options.anyDepth ?? DEFAULT_ANY_DEPTH;
  }

  compile(): Nfa {
    const start = this.b.state();
    const end = this.value(this.root, "#", start, this.anyDepth);
    const nfa = this.b.finish(start, end);
    if (nfa.dist[start] === UNREACHABLE) throw new SchemaError("#", "no JSON text this matcher can write is valid for the schema");
    return nfa;
  }

  /** Any text valid for `s` from `from`; returns its end state. */
  private value(s: unknown, path: string, from: number, depth: number): number {
    if (this.nesting >= MAX_SCHEMA_DEPTH) throw new SchemaError(path, `the schema is nested more than ${MAX_SCHEMA_DEPTH} levels deep`);
    this.nesting++;
    try {
      return this.valueOf(s, path, from, depth);
    } finally {
      this.nesting--;
    }
  }

  private valueOf(s: unknown, path: string, from: number, depth: number): number {
    if (s === true) return this.any(from, depth);
    if (s === false) throw new SchemaError(path, "the schema `false` allows no value");
    if (!isObject(s)) throw new SchemaError(path, `expected a schema (an object or a boolean), got ${JSON.stringify(s)}`);
    const keys = Object.keys(s).filter((k) => !ANNOTATIONS.has(k));
    const others = (allowed: string[]) => keys.filter((k) => !allowed.includes(k));

    if (s.$ref !== undefined) {
      const extra = others(["$ref"]);
      if (extra.length > 0) throw new SchemaError(path, `$ref beside ${extra.join(", ")} is not supported`);
      return this.ref(s.$ref, path, from, depth);
    }
    if (s.const !== undefined || s.enum !== undefined) return this.enumeration(s, path, from, others(["const", "enum", "type"]));
    for (const k of ["anyOf", "oneOf", "allOf"] as const) {
      if (s[k] === undefined) continue;
      const extra = others([k]);
      if (extra.length > 0) throw new SchemaError(path, `${k} beside ${extra.join(", ")} is not supported (move them into each branch)`);
      return this.combination(k, s[k], `${path}/${k}`, from, depth);
    }

    const types = this.typesOf(s, path);
    if (types === undefined) {
      const extra = others([]);
      if (extra.length > 0) throw new SchemaError(path, `keyword ${extra[0]} is not supported by the structured-output matcher`);
      return this.any(from, depth);
    }
    const allowed = ["type", ...types.flatMap((t) => KEYWORDS[t])];
    const extra = others(allowed);
    if (extra.length > 0) {
      const known = TYPES.some((t) => KEYWORDS[t].includes(extra[0]));
      throw new SchemaError(path, known
        ? `keyword ${extra[0]} does not apply to type ${types.join("|")}`
        : `keyword ${extra[0]} is not supported by the structured-output matcher`);
    }
    // "integer" inside "number" adds nothing.
    const list = types.includes("number") ? types.filter((t) => t !== "integer") : types;
    return this.union(from, list.map((t) => (at: number) => this.typed(t, s, path, at, depth)));
  }

  private typed(type: JsonType, s: Record<string, unknown>, path: string, from: number, depth: number): number {
    switch (type) {
      case "string":
        return this.string(s, path, from);
      case "integer":
      case "number": {
        const bounds = this.bounds(s, path);
        const end = this.b.state();
        if (!(type === "integer" ? integer : number)(this.b, from, end, bounds)) {
          throw new SchemaError(path, type === "integer" ? "no integer lies within minimum/maximum" : "no number this matcher writes lies within minimum/maximum");
        }
        return end;
      }
      case "boolean":
        return this.union(from, [(at) => this.b.literal(at, "true"), (at) => this.b.literal(at, "false")]);
      case "null":
        return this.b.literal(from, "null");
      case "object":
        return this.object(s, path, from, depth);
      case "array":
        return this.array(s, path, from, depth);
    }
  }

  /** The declared types, or the ones its keywords imply, or undefined for any value. */
  private typesOf(s: Record<string, unknown>, path: string): JsonType[] | undefined {
    if (s.type !== undefined) {
      const list = Array.isArray(s.type) ? s.type : [s.type];
      if (list.length === 0) throw new SchemaError(`${path}/type`, "an empty list of types allows no value");
      for (const t of list) {
        if (!TYPES.includes(t as JsonType)) throw new SchemaError(`${path}/type`, `unknown type ${JSON.stringify(t)} (expected one of ${TYPES.join(", ")})`);
      }
      return [...new Set(list as JsonType[])];
    }
    const implied = TYPES.filter((t) => t !== "integer" && KEYWORDS[t].some((k) => k in s));
    return implied.length > 0 ? implied : undefined;
  }

  private ref(ref: unknown, path: string, from: number, depth: number): number {
    if (typeof ref !== "string" || !ref.startsWith("#")) throw new SchemaError(`${path}/$ref`, `only local references ("#/...") are supported, got ${JSON.stringify(ref)}`);
    if (this.refs.includes(ref)) throw new SchemaError(`${path}/$ref`, `${ref} refers to itself: recursive schemas are not supported`);
    let target: unknown = this.root;
    for (const raw of ref.slice(1).split("/").filter((p) => p !== "")) {
      const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
      if (!isObject(target) || !(key in target)) throw new SchemaError(`${path}/$ref`, `${ref} does not resolve`);
      target = target[key];
    }
    this.refs.push(ref);
    try {
      return this.value(target, ref, from, depth);
    } finally {
      this.refs.pop();
    }
  }

  private enumeration(s: Record<string, unknown>, path: string, from: number, extra: string[]): number {
    if (extra.length > 0) throw new SchemaError(path, `${s.const !== undefined ? "const" : "enum"} beside ${extra.join(", ")} is not supported`);
    let values: unknown[];
    if (s.const !== undefined) values = [s.const];
    else if (Array.isArray(s.enum) && s.enum.length > 0) values = s.enum;
    else throw new SchemaError(`${path}/enum`, "expected a non-empty list");
    const types = this.typesOf({ type: s.type }, path);
    if (types) values = values.filter((v) => types.some((t) => isOfType(v, t)));
    if (values.length === 0) throw new SchemaError(path, "no enum value has the schema's type");
    const texts = [...new Set(values.map((v) => JSON.stringify(v)))];
    return this.union(from, texts.map((t) => (at: number) => this.b.literal(at, t)));
  }

  private combination(kind: "anyOf" | "oneOf" | "allOf", list: unknown, path: string, from: number, depth: number): number {
    if (!Array.isArray(list) || list.length === 0) throw new SchemaError(path, "expected a non-empty list of schemas");
    if (kind === "allOf") {
      if (list.length > 1) throw new SchemaError(path, "allOf with more than one schema is not supported");
      return this.value(list[0], `${path}/0`, from, depth);
    }
    // oneOf needs exactly one branch to match; taken as anyOf only when no value can match two branches.
    if (kind === "oneOf" && !disjoint(list)) {
      throw new SchemaError(path, "oneOf is supported only when its branches have different types or a distinguishing const property; use anyOf");
    }
    return this.union(from, list.map((branch, i) => (at: number) => this.value(branch, `${path}/${i}`, at, depth)));
  }

  private bounds(s: Record<string, unknown>, path: string): Bounds {
    const bounds: Bounds = {};
    for (const k of ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] as const) {
      const v = s[k];
      if (v === undefined) continue;
      if (typeof v === "boolean" && (k === "exclusiveMinimum" || k === "exclusiveMaximum")) {
        // draft 4: a flag on minimum / maximum
        const base = k === "exclusiveMinimum" ? "minimum" : "maximum";
        if (v && typeof s[base] === "number") bounds[k] = s[base] as number;
        continue;
      }
      if (typeof v !== "number" || !Number.isFinite(v)) throw new SchemaError(`${path}/${k}`, "expected a finite number");
      bounds[k] = v;
    }
    if (s.exclusiveMinimum === true) delete bounds.minimum;
    if (s.exclusiveMaximum === true) delete bounds.maximum;
    return bounds;
  }

  // Strings ----------------------------------------------------------------------------------------

  private string(s: Record<string, unknown>, path: string, from: number): number {
    const min = count(s.minLength, `${path}/minLength`) ?? 0;
    const max = count(s.maxLength, `${path}/maxLength`) ?? Infinity;
    if (min > max) throw new SchemaError(path, "minLength is larger than maxLength");
    let chars = ANY_CHAR;
    if (s.pattern !== undefined && s.format !== undefined) throw new SchemaError(path, "pattern together with format is not supported");
    const pattern = s.pattern ?? (s.format !== undefined ? FORMATS[s.format as string] : undefined);
    if (s.format !== undefined && pattern === undefined) {
      throw new SchemaError(`${path}/format`, `format ${JSON.stringify(s.format)} is not supported (supported: ${Object.keys(FORMATS).join(", ")})`);
    }
    if (pattern !== undefined) {
      const where = s.pattern !== undefined ? `${path}/pattern` : `${path}/format`;
      if (typeof pattern !== "string") throw new SchemaError(where, "expected a string");
      try {
        chars = compilePattern(pattern);
      } catch (e) {
        if (e instanceof PatternError) throw new SchemaError(where, e.message);
        throw e;
      }
    }
    const open = this.b.state();
    this.b.move(from, 0x22, 0x22, open);
    const close = this.b.state();
    this.content(open, close, chars, min, max);
    const end = this.b.state();
    this.b.move(close, 0x22, 0x22, end);
    return end;
  }

  /**
   * String content from `from` to `to`: the character automaton run alongside a count of characters
   * (up to maxLength, or up to minLength when there is no maximum), each pair one state.
   */
  private content(from: number, to: number, chars: CodePointNfa, min: number, max: number): void {
    const cap = max === Infinity ? min : max;
    const states = new Map<number, number>();
    const queue: [number, number][] = [];
    const stateOf = (p: number, k: number) => {
      const key = p * (cap + 1) + k;
      let s = states.get(key);
      if (s === undefined) {
        s = states.size === 0 ? from : this.b.state();
        states.set(key, s);
        queue.push([p, k]);
      }
      return s;
    };
    stateOf(chars.start, 0);
    for (let q = 0; q < queue.length; q++) {
      const [p, k] = queue[q];
      const s = states.get(p * (cap + 1) + k)!;
      if (chars.accepting[p] && k >= min) this.b.empty(s, to);
      if (k + 1 > max) continue;
      const next = Math.min(k + 1, cap);
      for (const edge of chars.edges[p]) this.chars(s, edge.ranges, stateOf(edge.to, next));
    }
  }

  /** One character of `ranges`, raw or escaped, from `from` to `to`. */
  private chars(from: number, ranges: CodePointRanges, to: number): void {
    let c = this.charCache.get(ranges);
    if (!c) {
      const escapes = ESCAPES.filter(([cp]) => ranges.some(([lo, hi]) => lo <= cp && cp <= hi)).map(([, letter]) => letter).join("");
      this.charCache.set(ranges, (c = { raw: utf8Sequences(intersect(ranges, RAW)), escapes }));
    }
    for (const seq of c.raw) this.b.sequence(from, seq, to);
    if (c.escapes !== "") {
      const key = `${to}|${c.escapes}`;
      let after = this.escapeStates.get(key);
      if (after === undefined) {
        after = this.b.state();
        this.escapeStates.set(key, after);
        for (const letter of c.escapes) this.b.move(after, letter.charCodeAt(0), letter.charCodeAt(0), to);
      }
      this.b.move(from, 0x5c, 0x5c, after);
    }
  }

  private freeString(from: number): number {
    return this.string({}, "#", from);
  }

  // Objects and arrays -----------------------------------------------------------------------------

  private object(s: Record<string, unknown>, path: string, from: number, depth: number): number {
    const props = s.properties ?? {};
    if (!isObject(props)) throw new SchemaError(`${path}/properties`, "expected an object of schemas");
    const required = s.required ?? [];
    if (!Array.isArray(required) || !required.every((r) => typeof r === "string")) throw new SchemaError(`${path}/required`, "expected a list of property names");
    const additional = s.additionalProperties;
    if (additional !== undefined && typeof additional !== "boolean" && !isObject(additional)) {
      throw new SchemaError(`${path}/additionalProperties`, "expected a boolean or a schema");
    }
    if (s.unevaluatedProperties !== undefined && s.unevaluatedProperties !== false) {
      throw new SchemaError(`${path}/unevaluatedProperties`, "only false is supported");
    }
    const open = this.b.state();
    this.b.move(from, 0x7b, 0x7b, open);
    const first = this.ws(open);
    const end = this.b.state();

    if (Object.keys(props).length === 0 && required.length === 0) {
      this.b.move(first, 0x7d, 0x7d, end);
      if (additional === false) return end;
      // A map: any keys, values of the additionalProperties schema (any value if none).
      const valueSchema = isObject(additional) ? additional : true;
      const valueDepth = isObject(additional) ? depth : depth - 1;
      const entry = this.b.state();
      this.b.empty(first, entry);
      const after = this.member(entry, -1, valueSchema, `${path}/additionalProperties`, valueDepth);
      this.b.move(after, 0x7d, 0x7d, end);
      const comma = this.b.state();
      this.b.move(after, 0x2c, 0x2c, comma);
      this.b.empty(this.ws(comma), entry);
      return end;
    }

    const entries: [string, unknown, boolean][] = Object.entries(props).map(([k, v]) => [k, v, required.includes(k)]);
    for (const r of required) {
      if (r in props) continue;
      if (additional === false) throw new SchemaError(`${path}/required`, `${JSON.stringify(r)} is required but not in properties, and additionalProperties is false`);
      entries.push([r, isObject(additional) ? additional : true, true]);
    }
    // Properties in order; `none` = nothing written yet (no comma needed), `some` = at least one written.
    let none: number | undefined = first;
    let some = this.b.state();
    for (const [key, sub, isRequired] of entries) {
      const nextNone: number | undefined = isRequired || none === undefined ? undefined : this.b.state();
      const nextSome = this.b.state();
      if (!isRequired) {
        if (none !== undefined) this.b.empty(none, nextNone!);
        this.b.empty(some, nextSome);
      }
      const body = this.b.state();
      if (none !== undefined) this.b.empty(none, body);
      const comma = this.b.state();
      this.b.move(some, 0x2c, 0x2c, comma);
      this.b.empty(this.ws(comma), body);
      const after = this.member(body, key, sub, `${path}/properties/${escapePointer(key)}`, depth);
      this.b.empty(after, nextSome);
      none = nextNone;
      some = nextSome;
    }
    if (none !== undefined) this.b.move(none, 0x7d, 0x7d, end);
    this.b.move(some, 0x7d, 0x7d, end);
    return end;
  }

  /** `"key": value` and the whitespace after it; key -1 is any key. */
  private member(from: number, key: string | -1, schema: unknown, path: string, depth: number): number {
    let at = key === -1 ? this.freeString(from) : this.b.literal(from, JSON.stringify(key));
    at = this.ws(at);
    const colon = this.b.state();
    this.b.move(at, 0x3a, 0x3a, colon);
    return this.ws(this.value(schema, path, this.ws(colon), depth));
  }

  private array(s: Record<string, unknown>, path: string, from: number, depth: number): number {
    if (s.uniqueItems === true) throw new SchemaError(`${path}/uniqueItems`, "uniqueItems is not supported");
    let prefix: unknown[] = [];
    let items: unknown = s.items ?? true;
    if (s.prefixItems !== undefined) {
      if (!Array.isArray(s.prefixItems)) throw new SchemaError(`${path}/prefixItems`, "expected a list of schemas");
      prefix = s.prefixItems;
    } else if (Array.isArray(s.items)) {
      prefix = s.items; // draft 4 tuple form
      items = true;
    }
    const min = count(s.minItems, `${path}/minItems`) ?? 0;
    let max = count(s.maxItems, `${path}/maxItems`) ?? Infinity;
    if (items === false) max = Math.min(max, prefix.length);
    if (min > max) throw new SchemaError(path, "minItems is larger than maxItems (or than the items allowed)");
    const itemDepth = s.items === undefined && prefix.length === 0 ? depth - 1 : depth;

    const open = this.b.state();
    this.b.move(from, 0x5b, 0x5b, open);
    let entry = this.ws(open);
    const end = this.b.state();
    if (min === 0) this.b.move(entry, 0x5d, 0x5d, end);
    for (let k = 1; k <= max; k++) {
      const schema = k <= prefix.length ? prefix[k - 1] : items;
      const where = k <= prefix.length ? `${path}/prefixItems/${k - 1}` : `${path}/items`;
      const start = this.b.state();
      this.b.empty(entry, start);
      const after = this.ws(this.value(schema, where, start, itemDepth));
      if (k >= min) this.b.move(after, 0x5d, 0x5d, end);
      const comma = this.b.state();
      if (k < max) this.b.move(after, 0x2c, 0x2c, comma);
      // Past the prefix and the minimum with no maximum: one copy of the item that loops.
      if (max === Infinity && k > prefix.length && k >= min) {
        this.b.empty(this.ws(comma), start);
        break;
      }
      entry = this.ws(comma);
    }
    return end;
  }

  /** Any JSON value, containers nested at most `depth` deep. */
  private any(from: number, depth: number): number {
    const branches: ((at: number) => number)[] = [
      (at) => this.freeString(at),
      (at) => this.typed("number", {}, "#", at, depth),
      (at) => this.b.literal(at, "true"),
      (at) => this.b.literal(at, "false"),
      (at) => this.b.literal(at, "null"),
    ];
    if (depth > 0) {
      branches.push((at) => this.object({}, "#", at, depth));
      branches.push((at) => this.array({}, "#", at, depth));
    }
    return this.union(from, branches);
  }

  /** Up to maxWhitespace whitespace bytes. */
  private ws(from: number): number {
    const out = this.b.state();
    let at = from;
    for (let i = 0; i < this.maxWhitespace; i++) {
      this.b.empty(at, out);
      const next = this.b.state();
      this.b.byteSet(at, WHITESPACE, next);
      at = next;
    }
    this.b.empty(at, out);
    return out;
  }

  /** Alternatives from one state to one end state. */
  private union(from: number, branches: ((at: number) => number)[]): number {
    if (branches.length === 1) return branches[0](from);
    const end = this.b.state();
    for (const branch of branches) {
      const start = this.b.state();
      this.b.empty(from, start);
      this.b.empty(branch(start), end);
    }
    return end;
  }
}

function count(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || (v as number) < 0) throw new SchemaError(path, "expected a non-negative integer");
  return v as number;
}

function isOfType(v: unknown, t: JsonType): boolean {
  switch (t) {
    case "string": return typeof v === "string";
    case "integer": return Number.isInteger(v);
    case "number": return typeof v === "number" && Number.isFinite(v);
    case "boolean": return typeof v === "boolean";
    case "null": return v === null;
    case "object": return isObject(v);
    case "array": return Array.isArray(v);
  }
}

/** True when no JSON value can be valid for two of the branches (by type, or by a const discriminator). */
function disjoint(branches: unknown[]): boolean {
  const kinds = branches.map((b) => {
    if (!isObject(b)) return undefined;
    if (b.const !== undefined) return [jsonKind(b.const)];
    if (Array.isArray(b.enum)) return [...new Set(b.enum.map(jsonKind))];
    if (b.type === undefined) return undefined;
    const list = (Array.isArray(b.type) ? b.type : [b.type]) as string[];
    return list.map((t) => (t === "integer" ? "number" : t));
  });
  if (kinds.every((k) => k !== undefined)) {
    const seen = new Set<string>();
    let clash = false;
    for (const k of kinds) for (const t of k!) (seen.has(t) ? (clash = true) : seen.add(t));
    if (!clash) return true;
  }
  // Objects told apart by a required property with a different const in each branch.
  const objects = branches.filter(isObject);
  if (objects.length !== branches.length) return false;
  const first = objects[0];
  if (!isObject(first.properties)) return false;
  return Object.keys(first.properties).some((key) => {
    const seen = new Set<string>();
    return objects.every((o) => {
      const p = isObject(o.properties) ? o.properties[key] : undefined;
      const required = Array.isArray(o.required) && o.required.includes(key);
      if (!required || !isObject(p) || p.const === undefined) return false;
      const text = JSON.stringify(p.const);
      if (seen.has(text)) return false;
      seen.add(text);
      return true;
    });
  });
}

function jsonKind(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "number" ? "number" : typeof v;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
