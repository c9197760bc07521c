// Hostile text and requests (issue 14): a long input is refused as soon as it cannot fit, encoding lets
// the event loop run, and the server keeps answering others meanwhile; odd paths and schemas get a 4xx.
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { chat, type TokenSource } from "../src/chat/chat.js";
import { renderToTokens, renderToTokensAsync } from "../src/harmony/render.js";
import { textMessage } from "../src/harmony/types.js";
import { checkNesting } from "../src/server/openai-chat.js";
import { createServer } from "../src/server/server.js";
import { getTokenizer, MAX_TOKEN_BYTES, TokenLimitError } from "../src/tokenizer/tokenizer.js";

const tok = getTokenizer();

/** A model that never gets to run: every request here is refused before generation. */
const unused = (contextLength: number): TokenSource & { calls: number } => ({
  contextLength,
  calls: 0,
  async *generate() {
    this.calls++;
  },
});

describe("bounded encoding", () => {
  it("refuses text too long for maxTokens before any BPE, and counts the rest as it goes", () => {
    const word = "a".repeat(1_000_000);
    const refused = (() => {
      try {
        tok.encode(word, { maxTokens: 1000 });
      } catch (e) {
        return e;
      }
    })();
    expect(refused).toBeInstanceOf(TokenLimitError);
    expect(refused).toMatchObject({ limit: 1000, atLeast: Math.ceil(word.length / MAX_TOKEN_BYTES) });

    const text = "Hello world, hello tokens. ".repeat(50);
    const n = tok.encode(text).length;
    expect(tok.encode(text, { maxTokens: n })).toEqual(tok.encode(text));
    expect(() => tok.encode(text, { maxTokens: n - 1 })).toThrow(TokenLimitError);
    // special tokens count too
    const special = "<|start|>user<|message|>hi<|end|>";
    const m = tok.encode(special, { allowSpecial: true }).length;
    expect(() => tok.encode(special, { allowSpecial: true, maxTokens: m - 1 })).toThrow(/more than the limit of/);
  });

  it("encodeAsync gives encode's ids and lets timers run during one long word", async () => {
    for (const text of ["", "plain text", "emoji 😀 日本語 <|end|> ".repeat(300), "x".repeat(300_000) + " tail", " ".repeat(70_000)]) {
      expect(await tok.encodeAsync(text)).toEqual(tok.encode(text));
      expect(await tok.encodeAsync(text, { allowSpecial: true })).toEqual(tok.encode(text, { allowSpecial: true }));
    }
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await tok.encodeAsync("b".repeat(1_000_000));
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0); // a synchronous encode would have let none run
  });

  it("renders asynchronously to the same tokens, refusing a prompt over the limit", async () => {
    const messages = [textMessage("user", "What is 2 + 2? ".repeat(20)), textMessage("assistant", "4", { channel: "final" })];
    const ids = renderToTokens(messages);
    expect(await renderToTokensAsync(messages)).toEqual(ids);
    await expect(renderToTokensAsync(messages, { maxTokens: ids.length - 1 })).rejects.toThrow(TokenLimitError);
    expect(await renderToTokensAsync(messages, { maxTokens: ids.length })).toEqual(ids);
    for (const mode of ["conversation", "training"] as const) expect(await renderToTokensAsync(messages, { mode })).toEqual(renderToTokens(messages, { mode }));
    // Many short messages: counted message by message, refused long before the last is rendered.
    const many = Array.from({ length: 100_000 }, (_, i) => textMessage(i % 2 ? "assistant" : "user", `message ${i}`, { channel: i % 2 ? "final" : undefined }));
    await expect(renderToTokensAsync(many, { maxTokens: 4096 })).rejects.toMatchObject({ limit: 4096, atLeast: 4097 });
  });

  it("chat refuses a conversation that cannot fit without running the model", async () => {
    const source = unused(4096);
    const events = chat(source, [textMessage("user", "z".repeat(2_000_000))]);
    await expect(events.next()).rejects.toThrow(/the conversation is at least \d+ tokens, which fills the model's context of 4096 tokens/);
    expect(source.calls).toBe(0);
  });
});

describe("server under hostile requests", () => {
  async function serve(source: TokenSource) {
    const server = createServer(source, { modelId: "m", date: null, log: () => {} });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const close = () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok())));
    return { url, close };
  }

  it("answers /v1/models while a 4 MB one-word message is being refused", async () => {
    // gpt-oss's real context: 4 MB of one word is not refused by its length alone, only once counted.
    const s = await serve(unused(131_072));
    try {
      const body = JSON.stringify({ messages: [{ role: "user", content: "a".repeat(4 * 2 ** 20) }] });
      let postDone = false;
      const post = fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body })
        .then(async (res) => ({ status: res.status, body: await res.json() }))
        .finally(() => (postDone = true));
      // Asked back to back (the server is in this process: one is always waiting when it is busy).
      const whilePending: number[] = []; // latency of each /v1/models asked before the refusal came
      while (!postDone) {
        const t0 = performance.now();
        const res = await fetch(`${s.url}/v1/models`);
        expect(res.status).toBe(200);
        await res.json();
        whilePending.push(performance.now() - t0);
      }
      const refused = await post;
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ type: "invalid_request_error", param: "messages", message: expect.stringMatching(/fills the model's context of 131072 tokens/) });
      expect(whilePending.length).toBeGreaterThan(0);
      expect(Math.max(...whilePending)).toBeLessThan(1000); // generous: the refusal itself takes seconds
    } finally {
      await s.close();
    }
  });

  it("GET // is a 404; deep nesting (a tool schema 5,000 deep) and a 4 MB stop string are a 400", async () => {
    const s = await serve(unused(131_072));
    try {
      for (const path of ["//", "//v1/models", "/v1//models"]) {
        const res = await fetch(`${s.url}${path}`);
        expect(res.status).toBe(404);
        expect((await res.json()).error.message).toMatch(/no such endpoint/);
      }
      // Written as text: JSON.stringify itself recurses too deep for such values.
      const post = (body: string) => fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
      const withSchema = (depth: number) => `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${
        '{"type":"object","properties":{"a":'.repeat(depth) + '{"type":"string"}' + "}}".repeat(depth)}}}]}`;
      // The renderer would recurse through the schema (a stack overflow, a 500 once); the body nests 10,000 deep.
      let res = await post(withSchema(5000));
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toBe("the request body nests arrays and objects more than 1000 levels deep");
      res = await post(withSchema(200));
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatchObject({ param: "tools", message: expect.stringMatching(/tools\[0\]\.parameters: nested more than 100 levels deep/) });
      // Any field: JSON.parse alone takes seconds over millions of levels.
      res = await post(`{"messages":[{"role":"user","content":"hi"}],"metadata":${"[".repeat(2_000_000)}${"]".repeat(2_000_000)}}`);
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(/more than 1000 levels deep/);
      // Brackets inside strings are text, not nesting.
      expect(() => checkNesting(JSON.stringify({ a: "[[[[{{{{".repeat(1000), b: "\\\"[[[" }))).not.toThrow();
      // A stop string is compared with the reply's tail at every token: a 4 MB one would hold the thread.
      const stop = await fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], stop: ["x".repeat(4_000_000)] }) });
      expect(stop.status).toBe(400);
      expect((await stop.json()).error).toMatchObject({ param: "stop", message: "stop strings must be at most 1000 characters long" });
    } finally {
      await s.close();
    }
  });
});
