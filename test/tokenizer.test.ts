import { describe, expect, it } from "vitest";
import { getTokenizer, SPECIAL_TOKENS, StreamDecoder, TOKENS, VOCAB_SIZE } from "../src/tokenizer/tokenizer.js";

const tok = getTokenizer();

// Spec §4.4 (docs/format.md L131-168 of openai/harmony).
const FORMAT_STREAM = [
  200005, 35644, 200008, 1844, 31064, 25, 392, 4827, 382, 220, 17, 659, 220, 17, 16842, 12295, 81645, 13, 51441, 6052, 13, 200007,
  200006, 173781, 200005, 17196, 200008, 17, 659, 220, 17, 314, 220, 19, 13, 200002,
];
const FORMAT_TEXT =
  '<|channel|>analysis<|message|>User asks: "What is 2 + 2?" Simple arithmetic. Provide answer.<|end|>' +
  "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>";

describe("o200k_harmony tokenizer", () => {
  it("encodes the test vectors of spec §4.4", () => {
    expect(tok.encode("hello world")).toEqual([24912, 2375]);
    expect(tok.encode("<|channel|>analysis<|message|>", { allowSpecial: true })).toEqual([200005, 35644, 200008]);
    expect(tok.encode("assistant")).toEqual([173781]);
    expect(tok.encode("final")).toEqual([17196]);
    // digits never take the leading space
    expect(tok.encode(" 2")).toEqual([220, 17]);
  });

  it("round-trips the full format.md token stream", () => {
    expect(tok.decode(FORMAT_STREAM)).toBe(FORMAT_TEXT);
    expect(tok.encode(FORMAT_TEXT, { allowSpecial: true })).toEqual(FORMAT_STREAM);
  });

  it("decodes the tool-call stream of spec §4.4", () => {
    const ids = [
      200005, 35644, 200008, 1844, 31064, 25, 392, 4827, 382, 290, 11122, 306, 40510, 16842, 1416, 1309, 316, 1199, 37342, 170154,
      4584, 13, 200007, 200006, 173781, 200005, 35644, 316, 28, 29712, 170154, 3490, 200008, 10848, 7693, 1243, 392, 173844, 18583,
    ];
    const text = tok.decode(ids);
    expect(text).toBe(
      '<|channel|>analysis<|message|>User asks: "What is the weather in Tokyo?" We need to use lookup_weather tool.<|end|>' +
        '<|start|>assistant<|channel|>analysis to=lookup_weather code<|message|>{"location": "Tokyo"}',
    );
    expect(tok.encode(text, { allowSpecial: true })).toEqual(ids);
  });

  it("has every special token at its id (spec §4.2)", () => {
    const named: Record<string, number> = {
      "<|startoftext|>": 199998,
      "<|endoftext|>": 199999,
      "<|reserved_200000|>": 200000,
      "<|reserved_200001|>": 200001,
      "<|return|>": 200002,
      "<|constrain|>": 200003,
      "<|reserved_200004|>": 200004,
      "<|channel|>": 200005,
      "<|start|>": 200006,
      "<|end|>": 200007,
      "<|message|>": 200008,
      "<|reserved_200009|>": 200009,
      "<|reserved_200011|>": 200011,
      "<|call|>": 200012,
      "<|reserved_200013|>": 200013,
      "<|reserved_200018|>": 200018,
      "<|reserved_201087|>": 201087,
    };
    for (const [name, id] of Object.entries(named)) {
      expect(tok.specialId(name)).toBe(id);
      expect(tok.encode(name, { allowSpecial: true })).toEqual([id]);
      expect(tok.decode([id])).toBe(name);
    }
    expect(tok.specialId("start")).toBe(TOKENS.start);
    expect(Object.keys(SPECIAL_TOKENS)).toHaveLength(VOCAB_SIZE - 199998);
    for (let id = 199998; id < VOCAB_SIZE; id++) {
      const name = tok.specialName(id)!;
      expect(SPECIAL_TOKENS[name]).toBe(id);
      expect(tok.isSpecial(id)).toBe(true);
    }
    expect(tok.isSpecial(199997)).toBe(false);
    expect(tok.isSpecial(VOCAB_SIZE)).toBe(false);
    expect(tok.vocabSize).toBe(201088);
    // <|endofprompt|> is tiktoken's name for 200018; Harmony reserves it, so it is plain text here.
    expect(tok.encode("<|endofprompt|>", { allowSpecial: true })).not.toContain(200018);
    expect(() => tok.specialId("<|nope|>")).toThrow(/unknown special token/);
  });

  it("splits on special tokens only with allowSpecial, also inside words", () => {
    const text = "hel<|end|>lo wor<|start|>ld";
    const withSpecial = tok.encode(text, { allowSpecial: true });
    expect(withSpecial).toEqual([...tok.encode("hel"), 200007, ...tok.encode("lo wor"), 200006, ...tok.encode("ld")]);
    const ordinary = tok.encode(text);
    expect(ordinary.some((id) => tok.isSpecial(id))).toBe(false);
    expect(tok.decode(ordinary)).toBe(text);
    // Lookalikes and broken spellings stay text even with allowSpecial.
    const odd = "<|<|end|>|> <|unknown|> <|end| <|END|>";
    const ids = tok.encode(odd, { allowSpecial: true });
    expect(ids.filter((id) => tok.isSpecial(id))).toEqual([200007]);
    expect(tok.decode(ids)).toBe(odd);
  });

  it("round-trips unicode, emoji and whitespace", () => {
    for (const text of [
      "Ünïcödé Çàfé naïve — “quotes” ‘single’",
      "日本語のテキスト、中文，한국어, العربية, עברית",
      "emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷🇯🇵",
      "tabs\tand\r\nnewlines\n\n  indented\u00a0nbsp\u2003em space\u0085nel",
      "I'm, you're, THEY'LL, we'VE 12345678 3.14159",
      "",
    ]) {
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
    expect(tok.encode("")).toEqual([]);
  });

  it("rejects ids outside the vocabulary with a clear error", () => {
    expect(() => tok.decode([VOCAB_SIZE])).toThrow(/outside the o200k_harmony vocabulary/);
    expect(() => tok.decode([-1])).toThrow(RangeError);
    expect(() => tok.decode([1.5])).toThrow(RangeError);
  });
});

describe("StreamDecoder", () => {
  it("never emits half a UTF-8 character", () => {
    // Find an emoji whose encoding splits one character over several tokens.
    const text = "a😀b🇫🇷c";
    const ids = tok.encode(text);
    const pieces = ids.map((id) => new TextDecoder().decode(tok.tokenBytes(id)));
    expect(pieces.some((p) => p.includes("\uFFFD"))).toBe(true); // some token is a partial character

    const dec = new StreamDecoder(tok);
    const out: string[] = [];
    for (const id of ids) out.push(dec.push(id));
    out.push(dec.flush());
    expect(out.join("")).toBe(text);
    for (const piece of out) expect(piece).not.toContain("\uFFFD");
  });

  it("holds a split character until its last byte, and flushes leftovers as U+FFFD", () => {
    // "é" is C3 A9; find the single-byte tokens 0xC3 and 0xA9 by their bytes.
    const c3 = findByteToken(0xc3);
    const a9 = findByteToken(0xa9);
    const dec = new StreamDecoder(tok);
    expect(dec.push(c3)).toBe("");
    expect(dec.push([a9, ...tok.encode("x")])).toBe("éx");
    expect(dec.push(c3)).toBe("");
    expect(dec.flush()).toBe("\uFFFD");
  });
});

function findByteToken(byte: number): number {
  for (let id = 0; id < 256 * 4; id++) {
    const b = tok.tokenBytes(id);
    if (b.length === 1 && b[0] === byte) return id;
  }
  throw new Error(`no single-byte token for ${byte}`);
}
