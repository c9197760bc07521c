import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HarmonyParser, parseHeader, parseMessages, parseTokens, type ParserEvent } from "../src/harmony/parser.js";
import { renderConversation } from "../src/harmony/render.js";
import { getTokenizer } from "../src/tokenizer/tokenizer.js";

const dir = new URL("./fixtures/harmony/", import.meta.url);
const cases = JSON.parse(readFileSync(new URL("cases.json", dir), "utf8")).cases as any[];
const parseCases = cases.filter((c) => c.kind === "parse");
const tok = getTokenizer();
const enc = (text: string) => tok.encode(text, { allowSpecial: true });

describe("parser on the openai-harmony fixtures", () => {
  it("has all parse cases", () => expect(parseCases.length).toBe(3));

  for (const c of parseCases) {
    it(c.id, () => {
      const raw = readFileSync(new URL(c.fixture, dir), "utf8");
      const ids = c.input_format === "token_ids" ? raw.trim().split(/\s+/).map(Number) : enc(raw.trimEnd());
      expect(ids).toEqual(c.input_tokens);
      expect(tok.decode(ids)).toBe(c.input_text);
      const { messages, errors } = parseTokens(ids, { role: c.role });
      expect(errors).toEqual([]);
      expect(messages).toEqual(c.expected_messages);
      if (c.expected_message_count) expect(messages).toHaveLength(c.expected_message_count);
      if (c.alt_input_tokens_rust) expect(parseMessages(c.alt_input_tokens_rust)).toEqual(c.expected_messages);
    });
  }
});

function types(events: ParserEvent[]): string[] {
  return events.map((e) => (e.type === "error" ? `error:${e.code}` : e.type));
}

describe("HarmonyParser events", () => {
  it("streams start, deltas and end, and flags <|return|>/<|call|> as stops", () => {
    const ids = enc("<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Done 😀.<|return|>");
    const parser = new HarmonyParser();
    const events = ids.flatMap((t) => parser.push(t));
    expect(events[0]).toEqual({ type: "message-start", role: "assistant", channel: "analysis" });
    const ends = events.filter((e) => e.type === "message-end");
    expect(ends.map((e) => [e.terminator, e.stop])).toEqual([
      ["end", false],
      ["return", true],
    ]);
    expect(parser.stopped).toBe(true);
    const deltas = events.filter((e) => e.type === "content").map((e) => e.text);
    expect(deltas.join("")).toBe("Think.Done 😀.");
    for (const d of deltas) expect(d).not.toContain("\uFFFD"); // the emoji spans several tokens
    expect(parser.messages.map((m) => m.channel)).toEqual(["analysis", "final"]);
    expect(parser.end()).toEqual([]);
  });

  it("reports the current message while it streams", () => {
    const parser = new HarmonyParser();
    parser.pushAll(enc("<|channel|>commentary to=functions.f <|constrain|>json<|message|>{\"a\":"));
    expect(parser.current).toEqual({
      role: "assistant",
      channel: "commentary",
      recipient: "functions.f",
      contentType: "<|constrain|>json",
      text: '{"a":',
    });
    const events = parser.pushAll(enc("1}<|call|>"));
    expect(types(events)).toEqual(["content", "content", "message-end"]); // "1", "}"
    expect(parser.stopped).toBe(true);
    expect(parser.current).toBeUndefined();
  });

  it("accepts the recipient before or after the channel, and <|constrain|> without a space", () => {
    const expected = { role: "assistant", recipient: "functions.f", channel: "commentary", content_type: "<|constrain|>json", content: [{ type: "text", text: "{}" }] };
    for (const header of [
      "assistant to=functions.f<|channel|>commentary <|constrain|>json",
      "assistant<|channel|>commentary to=functions.f <|constrain|>json",
      "assistant<|channel|>commentary to=functions.f<|constrain|>json",
    ]) {
      expect(parseTokens(enc(`<|start|>${header}<|message|>{}<|call|>`), { role: null })).toEqual({ messages: [expected], errors: [] });
    }
  });

  it("reads tool messages, bare recipients and author roles", () => {
    expect(parseHeader("functions.get_weather to=assistant<|channel|>commentary", null).header).toEqual({
      role: "tool",
      name: "functions.get_weather",
      recipient: "assistant",
      channel: "commentary",
    });
    expect(parseHeader("assistant<|channel|>analysis python", null).header).toEqual({ role: "assistant", channel: "analysis", recipient: "python" });
    expect(parseHeader("<|channel|>final", "assistant").header).toEqual({ role: "assistant", channel: "final" });
    expect(parseHeader("user", null).header).toEqual({ role: "user" });
  });

  it("parses a whole rendered conversation, and stores <|return|> as <|end|> in history", () => {
    const ids = enc("<|start|>user<|message|>hi<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|return|>");
    const { messages, errors } = parseTokens(ids); // a leading <|start|> overrides the assistant hint
    expect(errors).toEqual([]);
    expect(messages).toEqual([
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", channel: "final", content: [{ type: "text", text: "Hello!" }] },
    ]);
    expect(renderConversation(messages)).toBe("<|start|>user<|message|>hi<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|end|>");
  });
});

describe("HarmonyParser tolerance: events, never exceptions", () => {
  it("reports an unknown channel and keeps the message", () => {
    const { messages, errors } = parseTokens(enc("<|channel|>thinking<|message|>hm<|end|>"));
    expect(errors.map((e) => e.code)).toEqual(["unknown-channel"]);
    expect(messages[0]).toMatchObject({ channel: "thinking", content: [{ text: "hm" }] });
    expect(parseTokens(enc("<|channel|>thinking<|message|>hm<|end|>"), { validChannels: ["thinking"] }).errors).toEqual([]);
  });

  it("reports malformed headers and keeps parsing", () => {
    const { messages, errors } = parseTokens(
      enc("<|channel|>final a b c<|message|>x<|end|><|start|><|channel|><|message|>y<|end|><|start|>mystery<|message|>z<|end|>"),
    );
    expect(errors.map((e) => e.message)).toEqual([
      'unexpected words in message header: "a"',
      "<|channel|> without a channel name in the message header",
      "message header has no role; assuming assistant",
      'unknown role "mystery"; read as the name of a tool',
    ]);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(["malformed-header"]));
    expect(messages.map((m) => m.content[0])).toEqual(["x", "y", "z"].map((text) => ({ type: "text", text })));
    expect(messages[2]).toMatchObject({ role: "tool", name: "mystery" });
  });

  it("salvages a header that never got its <|message|>", () => {
    const { messages, errors } = parseTokens(enc("<|start|>assistant<|channel|>final Hello there<|end|><|start|>user<|message|>ok<|end|>"));
    expect(errors.map((e) => e.code)).toEqual(["missing-message"]);
    expect(messages).toEqual([
      { role: "assistant", channel: "final", content: [{ type: "text", text: "Hello there" }] },
      { role: "user", content: [{ type: "text", text: "ok" }] },
    ]);
  });

  it("skips stray tokens between messages with one error per run", () => {
    const { messages, errors } = parseTokens(enc("<|channel|>final<|message|>a<|end|>junk text here<|message|><|start|>assistant<|channel|>final<|message|>b<|end|>"));
    expect(errors.map((e) => e.code)).toEqual(["expected-start"]);
    expect(messages.map((m) => m.content[0])).toEqual([{ type: "text", text: "a" }, { type: "text", text: "b" }]);
  });

  it("closes a message cut short by <|start|>, and a header cut short too", () => {
    const { messages, errors } = parseTokens(
      enc("<|channel|>analysis<|message|>no end<|start|>assistant<|channel|>fin<|start|>assistant<|channel|>final<|message|>ok<|end|>"),
    );
    expect(errors.map((e) => e.code)).toEqual(["interrupted", "interrupted"]);
    expect(messages.map((m) => [m.channel, m.content[0]])).toEqual([
      ["analysis", { type: "text", text: "no end" }],
      ["final", { type: "text", text: "ok" }],
    ]);
  });

  it("reports invalid ids and a stream ending inside a header", () => {
    const parser = new HarmonyParser();
    expect(types(parser.push(-1))).toEqual(["error:invalid-token"]);
    expect(types(parser.push(999999))).toEqual(["error:invalid-token"]);
    expect(types(parser.push(1.5))).toEqual(["error:invalid-token"]);
    parser.pushAll(enc("<|channel|>final"));
    expect(types(parser.end())).toEqual(["error:incomplete-header"]);
    expect(parser.messages).toEqual([]);
    // an empty completion is not an error
    expect(new HarmonyParser().end()).toEqual([]);
  });

  it("completes a message at end of stream, flushing a partial character as U+FFFD", () => {
    const partial = [...enc("<|channel|>final<|message|>ok "), findByteToken(0xc3)]; // first byte of "é"
    const { messages } = parseTokens(partial);
    expect(messages[0].content[0]).toEqual({ type: "text", text: "ok \uFFFD" });
  });

  it("survives random token soup", () => {
    const alphabet = [200002, 200003, 200005, 200006, 200007, 200008, 200012, 199999, 200100, ...enc("assistant to=functions.x final analysis json hé 😀 user")];
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 300; run++) {
      const ids = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => alphabet[Math.floor(rand() * alphabet.length)]);
      for (const role of ["assistant", null] as const) {
        const parser = new HarmonyParser({ role });
        expect(() => {
          parser.pushAll(ids);
          parser.end();
        }).not.toThrow();
      }
    }
  });
});

function findByteToken(byte: number): number {
  for (let id = 0; id < 1024; id++) {
    const b = tok.tokenBytes(id);
    if (b.length === 1 && b[0] === byte) return id;
  }
  throw new Error(`no single-byte token for ${byte}`);
}
