// The pieces of the structured-output matcher against independent oracles: UTF-8 ranges against
// TextEncoder, patterns against JavaScript's RegExp, number ranges against enumeration, the compiled
// schema against ajv, token tables against running each token's bytes; and the refusals.
import { describe, expect, it } from "vitest";
import { Ajv } from "ajv";
import { utf8Sequences, encode } from "../src/structured/utf8.js";
import { compilePattern, PatternError, type CodePointNfa } from "../src/structured/regex.js";
import { compileSchema, SchemaError } from "../src/structured/schema.js";
import { LazyDfa, DEAD } from "../src/structured/dfa.js";
import { JsonGrammar, grammarFor } from "../src/structured/grammar.js";
import { getTokenTrie } from "../src/structured/vocabulary.js";
import { getTokenizer } from "../src/tokenizer/tokenizer.js";
import { Xoshiro128 } from "../src/util/prng.js";

const ajv = new Ajv({ strict: false });

/** Whether the DFA of `schema` accepts `text` (as UTF-8) as a complete value. */
function accepts(dfa: LazyDfa, text: string): boolean {
  let s = dfa.start;
  for (const b of new TextEncoder().encode(text)) {
    s = dfa.next(s, b);
    if (s === DEAD) return false;
  }
  return dfa.accepting[s] === 1;
}

function matchesNfa(nfa: CodePointNfa, text: string): boolean {
  let states = new Set([nfa.start]);
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const next = new Set<number>();
    for (const s of states) for (const e of nfa.edges[s]) if (e.ranges.some(([lo, hi]) => lo <= cp && cp <= hi)) next.add(e.to);
    states = next;
  }
  return [...states].some((s) => nfa.accepting[s]);
}

describe("UTF-8 ranges", () => {
  it("cover exactly the code points of a range, as TextEncoder encodes them", () => {
    const rng = new Xoshiro128(7);
    for (let trial = 0; trial < 40; trial++) {
      const a = Math.floor(rng.float() ** 3 * 0x110000), b = Math.min(0x10ffff, a + Math.floor(rng.float() ** 4 * 0x110000));
      const seqs = utf8Sequences([[a, b]]);
      const inSeqs = (bytes: number[]) => seqs.some((s) => s.length === bytes.length && s.every(([lo, hi], i) => lo <= bytes[i] && bytes[i] <= hi));
      for (let k = 0; k < 200; k++) {
        const cp = Math.floor(rng.float() * 0x110000);
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const bytes = encode(cp);
        if (cp <= 0xffff || cp >= 0x10000) expect(bytes).toEqual(Array.from(new TextEncoder().encode(String.fromCodePoint(cp))));
        expect(inSeqs(bytes)).toBe(cp >= a && cp <= b);
      }
    }
  });

  it("never produce surrogates or overlong forms", () => {
    for (const s of utf8Sequences([[0, 0x10ffff]])) {
      if (s.length === 2) expect(s[0][0]).toBeGreaterThanOrEqual(0xc2);
      if (s.length === 3 && s[0][0] === 0xe0) expect(s[1][0]).toBeGreaterThanOrEqual(0xa0);
      if (s.length === 3 && s[0][0] === 0xed) expect(s[1][1]).toBeLessThanOrEqual(0x9f);
    }
  });
});

describe("patterns", () => {
  const patterns = [
    "^[A-Z]{2}-[0-9]{3,5}$", "^a(b|cd)*e?$", "colou?r", "^\\d+(\\.\\d{1,2})?$", "^[^aeiou\\s]{0,4}$", "x|^y$",
    "^(?:[a-c]|zz){2}$", "^\\w+@\\w+\\.[a-z]{2,3}$", "^.{3}$", "^[\\u00e9\\u4e2d-]+$", "é", "^(?<word>ab)+$", "^$", "[]", "^[^]$",
  ];
  const alphabet = ["a", "b", "c", "d", "e", "z", "y", "x", "A", "Z", "0", "5", "9", "-", ".", "@", " ", "\n", "é", "中", "😀", "_", "r", "o", "l", "u"];

  it("match the same strings as RegExp with the u flag", () => {
    const rng = new Xoshiro128(11);
    for (const p of patterns) {
      const nfa = compilePattern(p);
      const re = new RegExp(p, "u");
      const samples = ["", "AB-123", "AB-12345", "abcde", "ae", "color", "colour", "12.5", "x", "y", "abzz", "a@b.io", "abc", "é中-", "ab", "abab"];
      for (let i = 0; i < 300; i++) {
        let s = "";
        const n = Math.floor(rng.float() * 8);
        for (let j = 0; j < n; j++) s += alphabet[Math.floor(rng.float() * alphabet.length)];
        samples.push(s);
      }
      for (const s of samples) expect(matchesNfa(nfa, s), `${p} on ${JSON.stringify(s)}`).toBe(re.test(s));
    }
  });

  it("refuses what has no finite automaton, with where", () => {
    expect(() => compilePattern("(a)\\1")).toThrow(/backreferences/);
    expect(() => compilePattern("a(?=b)")).toThrow(/lookaround/);
    expect(() => compilePattern("\\bword")).toThrow(/word boundaries/);
    expect(() => compilePattern("a^b")).toThrow(/only supported at the start/);
    expect(() => compilePattern("(")).toThrow(PatternError);
  });
});

describe("numbers", () => {
  const schemaAccepts = (schema: object, texts: string[]) => {
    const dfa = new LazyDfa(compileSchema(schema));
    const validate = ajv.compile(schema);
    for (const t of texts) {
      const ok = accepts(dfa, t);
      if (ok) expect(validate(JSON.parse(t)), `${JSON.stringify(schema)} accepted ${t}`).toBe(true);
    }
    return (t: string) => accepts(dfa, t);
  };

  it("integer ranges are exact", () => {
    for (const [lo, hi] of [[0, 0], [-5, 5], [7, 123], [-1000, -990], [95, 105], [0, 9], [10, 99], [-3, 0]]) {
      const dfa = new LazyDfa(compileSchema({ type: "integer", minimum: lo, maximum: hi }));
      for (let v = lo - 15; v <= hi + 15; v++) expect(accepts(dfa, String(v)), `${v} in [${lo}, ${hi}]`).toBe(v >= lo && v <= hi);
      expect(accepts(dfa, "01")).toBe(false);
    }
    const excl = new LazyDfa(compileSchema({ type: "integer", exclusiveMinimum: 1.5, exclusiveMaximum: 4 }));
    expect([1, 2, 3, 4].map((v) => accepts(excl, String(v)))).toEqual([false, true, true, false]);
  });

  it("numbers within bounds only, finite always", () => {
    const texts = ["0", "0.5", "1", "1.0", "-0.5", "-1", "2.75", "3", "3.5", "-2.5", "1e5", "12"];
    const unit = schemaAccepts({ type: "number", minimum: 0, maximum: 3 }, texts);
    expect(unit("0.5")).toBe(true);
    expect(unit("2.75")).toBe(true);
    expect(unit("3")).toBe(true);
    expect(unit("3.5")).toBe(false);
    expect(unit("-0.5")).toBe(false);
    const neg = schemaAccepts({ type: "number", minimum: -3, exclusiveMaximum: 0 }, texts);
    expect(neg("-2.5")).toBe(true);
    expect(neg("-1")).toBe(true);
    expect(neg("0")).toBe(false);
    expect(neg("-0.5")).toBe(false); // valid, but -0.F may be -0.0 = 0: outside the subset written
    const free = new LazyDfa(compileSchema({ type: "number" }));
    expect(["1e99", "-0.25E-07", "123456789012345", "0.000000000000001"].every((t) => accepts(free, t))).toBe(true);
    expect(["1e100", "1234567890123456", "01", "1.", ".5", "+1", "NaN"].some((t) => accepts(free, t))).toBe(false);
  });
});

describe("schemas", () => {
  it("accept what the schema allows, in the matcher's subset, and nothing invalid", () => {
    const schema = {
      type: "object",
      properties: {
        a: { type: "string", maxLength: 3 },
        b: { enum: ["x", 2, null] },
        c: { type: "array", items: { type: "boolean" }, maxItems: 2 },
        d: { anyOf: [{ type: "integer" }, { type: "string", pattern: "^z+$" }] },
      },
      required: ["a"],
      additionalProperties: false,
    };
    const dfa = new LazyDfa(compileSchema(schema));
    const yes = [`{"a":"é\\n"}`, `{ "a": "", "b": null }`, `{"a":"abc","c":[true, false],"d":"zz"}`, `{\n  "a": "x",\n  "d": -3\n}`, `{"a":"\\"\\\\"}`];
    const no = [`{}`, `{"a":"abcd"}`, `{"b":2,"a":"x"}`, `{"a":"x","c":[true,true,true]}`, `{"a":"x","d":"zy"}`, `{"a":"x","e":1}`, `{"a":"x",}`, ` {"a":""}`, `{"a":"\\u0041"}`];
    for (const t of yes) expect(accepts(dfa, t), t).toBe(true);
    for (const t of no) expect(accepts(dfa, t), t).toBe(false);
  });

  it("are refused with the path of what cannot be honoured", () => {
    const refused: [object, RegExp][] = [
      [{ type: "object", properties: { a: { type: "string", not: {} } } }, /#\/properties\/a: keyword not is not supported/],
      [{ type: "array", items: { type: "integer" }, uniqueItems: true }, /#\/uniqueItems: uniqueItems is not supported/],
      [{ $defs: { n: { type: "array", items: { $ref: "#/$defs/n" } } }, $ref: "#/$defs/n" }, /recursive schemas are not supported/],
      [{ type: "string", pattern: "(a)\\1" }, /#\/pattern: backreferences/],
      [{ type: "string", format: "hostname" }, /#\/format: format "hostname" is not supported/],
      [{ type: "integer", minimum: 5, maximum: 4 }, /#: no integer lies within minimum\/maximum/],
      [{ type: "object", required: ["x"], additionalProperties: false }, /"x" is required but not in properties/],
      [{ oneOf: [{ type: "string" }, { type: "string", maxLength: 2 }] }, /#\/oneOf: oneOf is supported only when/],
      [{ type: "string", minLength: 3, maxLength: 2 }, /minLength is larger than maxLength/],
      [{ type: "strnig" }, /#\/type: unknown type "strnig"/],
      [{ enum: [] }, /#\/enum: expected a non-empty list/],
      [{ $ref: "https://example.com/s.json" }, /only local references/],
      [Array.from({ length: 150 }).reduce((inner) => ({ type: "array", items: inner }), { type: "null" }) as object, /nested more than 100 levels deep/],
    ];
    for (const [schema, message] of refused) expect(() => compileSchema(schema), JSON.stringify(schema)).toThrow(message);
    expect(() => compileSchema({ type: "integer", minimum: 5, maximum: 4 })).toThrow(SchemaError);
  });

  it("resolve local $refs and take oneOf when its branches cannot overlap", () => {
    const dfa = new LazyDfa(compileSchema({
      $defs: { point: { type: "object", properties: { x: { type: "integer" } }, required: ["x"], additionalProperties: false } },
      type: "array", items: { $ref: "#/$defs/point" }, maxItems: 2,
    }));
    expect(accepts(dfa, `[{"x":1},{"x":2}]`)).toBe(true);
    expect(accepts(dfa, `[{"x":1},{"x":2},{"x":3}]`)).toBe(false);
    const tagged = new LazyDfa(compileSchema({ oneOf: [
      { type: "object", properties: { kind: { const: "a" }, n: { type: "integer" } }, required: ["kind"], additionalProperties: false },
      { type: "object", properties: { kind: { const: "b" } }, required: ["kind"], additionalProperties: false },
    ] }));
    expect(accepts(tagged, `{"kind":"a","n":1}`)).toBe(true);
    expect(accepts(tagged, `{"kind":"b","n":1}`)).toBe(false);
  });
});

describe("token tables", () => {
  it("list exactly the tokens whose bytes continue the text, with the bytes left after them", () => {
    const tok = getTokenizer();
    const g = new JsonGrammar({ type: "object", properties: { name: { type: "string", maxLength: 4 } }, required: ["name"], additionalProperties: false });
    const m = g.matcher();
    for (const text of ['{"name":"', "ab"]) for (const t of tok.encode(text)) m.accept(t);
    const table = m.allowed();
    const allowed = new Set(table.ids);
    const rng = new Xoshiro128(3);
    // Every listed token runs; a sample of the others does not.
    for (let i = 0; i < table.ids.length; i += 97) {
      const s = m.peek(table.ids[i]);
      expect(s).not.toBe(DEAD);
      expect(g.dfa.dist[s]).toBe(table.dists[i]);
    }
    for (let k = 0; k < 3000; k++) {
      const id = Math.floor(rng.float() * 199998);
      expect(m.peek(id) !== DEAD, tok.decode([id])).toBe(allowed.has(id));
    }
    // Two more characters at most, then the closing quote and brace.
    expect(allowed.has(tok.encode('"}')[0])).toBe(true);
    expect(allowed.has(tok.encode("abc")[0])).toBe(false);
    expect(getTokenTrie().size).toBeGreaterThan(199998);
  });

  it("compile a schema once per process", () => {
    expect(grammarFor({ type: "boolean" })).toBe(grammarFor({ type: "boolean" }));
  });
});
