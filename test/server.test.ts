// The OpenAI-style server over 127.0.0.1, driven by scripted token sources (Harmony written by hand and
// tokenised), so every reply is known; plus one smoke test with a real random-weight model.
import { serveCli } from "./server-helpers.js";
import { rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TokenSource } from "../src/chat/chat.js";
import type { GenerateOptions } from "../src/model/model.js";
import { loadModel } from "../src/model/model.js";
import { DeltaStream, parseChatRequest, type Delta } from "../src/server/openai-chat.js";
import { createServer, type ServerOptions } from "../src/server/server.js";
import { synthesize } from "../src/checkpoint/synth.js";
import { getTokenizer } from "../src/tokenizer/tokenizer.js";
import { tempDir } from "./helpers.js";

const tok = getTokenizer();
const ids = (harmony: string) => tok.encode(harmony, { allowSpecial: true });

/** Yields one script per call, honouring maxTokens, stop tokens and the signal; records the prompts. */
class Scripted implements TokenSource {
  prompts: string[] = [];
  aborted = 0;
  contextLength?: number;
  constructor(private readonly scripts: number[][], private readonly delayMs = 0) {}
  async *generate(prompt: readonly number[], options: GenerateOptions) {
    this.prompts.push(tok.decode([...prompt]));
    const script = this.scripts[this.prompts.length - 1] ?? [];
    for (let index = 0; index < script.length && index < (options.maxTokens ?? Infinity); index++) {
      if (options.signal?.aborted) return void this.aborted++;
      yield { token: script[index], index };
      if (options.stopTokens?.includes(script[index])) return;
      await new Promise((r) => (this.delayMs ? setTimeout(r, this.delayMs) : setImmediate(r)));
    }
    if (options.signal?.aborted) this.aborted++;
  }
}

const REASONED = "<|channel|>analysis<|message|>User says hi. Reply politely.<|end|><|start|>assistant<|channel|>final<|message|>Hello! How can I help?<|return|>";
const CALL = "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"location\": \"Paris\"}<|call|>";
const SUNNY = "<|channel|>final<|message|>It is sunny in Paris.<|return|>";
const weatherTool = {
  type: "function",
  function: { name: "get_weather", description: "Gets the weather.", parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] } },
};

interface Running { url: string; logs: string[]; close(): Promise<void> }

async function serve(source: TokenSource | Parameters<typeof createServer>[0], options: ServerOptions = {}): Promise<Running> {
  const logs: string[] = [];
  const server: Server = createServer(source, { modelId: "test-model", date: "2025-06-28", log: (l) => logs.push(l), ...options });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    close: () => new Promise((ok) => (server.closeAllConnections(), server.close(() => ok()))),
  };
}

const post = (url: string, body: unknown, init: RequestInit = {}) =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body), ...init });

/** The SSE body as its data payloads (JSON parsed; "[DONE]" kept as is). */
async function events(res: Response): Promise<unknown[]> {
  const text = await res.text();
  expect(text.endsWith("\n\n")).toBe(true);
  return text.split("\n\n").filter((b) => b !== "").map((b) => {
    expect(b.startsWith("data: ")).toBe(true);
    const data = b.slice("data: ".length);
    return data === "[DONE]" ? data : JSON.parse(data);
  });
}

const user = (content: string) => ({ role: "user", content });
const json = (res: Response): Promise<any> => res.json();

describe("OpenAI-style server with a scripted model", () => {
  it("lists the model, and answers unknown paths with 404 and wrong methods with 405", async () => {
    const s = await serve(new Scripted([]));
    try {
      const list = await json(await fetch(`${s.url}/v1/models`));
      expect(list).toEqual({ object: "list", data: [{ id: "test-model", object: "model", created: 0, owned_by: "gpt-oss-ts" }] });
      expect(await json(await fetch(`${s.url}/v1/models/test-model`))).toMatchObject({ id: "test-model", object: "model" });
      const missing = await fetch(`${s.url}/v1/completions`);
      expect(missing.status).toBe(404);
      expect((await json(missing)).error).toMatchObject({ type: "invalid_request_error", message: expect.stringMatching(/no such endpoint/) });
      const wrong = await fetch(`${s.url}/v1/chat/completions`);
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get("allow")).toBe("POST");
      expect(s.logs[0]).toMatch(/^GET \/v1\/models 200 [\d.]+ s$/);
    } finally {
      await s.close();
    }
  });

  it("answers with the reasoning apart from the content, and usage", async () => {
    const source = new Scripted([ids(REASONED)]);
    const s = await serve(source);
    try {
      const res = await post(s.url, {
        model: "anything", reasoning_effort: "high",
        messages: [{ role: "system", content: "Be brief." }, { role: "developer", content: [{ type: "text", text: "Be kind." }] }, user("Hi")],
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/json");
      const body = await json(res);
      expect(body).toMatchObject({ object: "chat.completion", model: "test-model", id: expect.stringMatching(/^chatcmpl-/), created: expect.any(Number) });
      expect(body.choices).toEqual([{
        index: 0, logprobs: null, finish_reason: "stop",
        message: { role: "assistant", content: "Hello! How can I help?", reasoning_content: "User says hi. Reply politely.", reasoning: "User says hi. Reply politely." },
      }]);
      const generated = ids(REASONED).length;
      expect(body.usage).toMatchObject({ completion_tokens: generated, total_tokens: body.usage.prompt_tokens + generated });
      expect(body.usage.prompt_tokens).toBe(ids(source.prompts[0]).length);
      // system and developer text -> Harmony's developer instructions; the effort and date in the system message
      expect(source.prompts[0]).toContain("Current date: 2025-06-28\n\nReasoning: high");
      expect(source.prompts[0]).toContain("<|start|>developer<|message|># Instructions\n\nBe brief.\n\nBe kind.<|end|><|start|>user<|message|>Hi<|end|><|start|>assistant");
      expect(s.logs[0]).toMatch(new RegExp(`^POST /v1/chat/completions 200 [\\d.]+ s: ${body.usage.prompt_tokens} prompt tokens \\(0 cached\\), ${generated} generated, finish stop$`));
    } finally {
      await s.close();
    }
  });

  it("streams role, reasoning, content, the finish reason, usage and [DONE]", async () => {
    const s = await serve(new Scripted([ids(REASONED)]));
    try {
      const res = await post(s.url, { messages: [user("Hi")], stream: true, stream_options: { include_usage: true } });
      expect(res.headers.get("content-type")).toBe("text/event-stream");
      const data = await events(res);
      expect(data[data.length - 1]).toBe("[DONE]");
      const chunks = data.slice(0, -1) as { id: string; object: string; choices: { delta: Delta; finish_reason: string | null }[]; usage?: unknown }[];
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
      expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
      const usage = chunks[chunks.length - 1];
      expect(usage.choices).toEqual([]);
      expect(usage.usage).toMatchObject({ completion_tokens: ids(REASONED).length });
      const finish = chunks[chunks.length - 2].choices[0];
      expect(finish).toMatchObject({ delta: {}, finish_reason: "stop" });
      const body = chunks.slice(1, -2).map((c) => c.choices[0]);
      expect(body.every((c) => c.finish_reason === null)).toBe(true);
      const kinds = body.map((c) => Object.keys(c.delta).join());
      expect(kinds.lastIndexOf("reasoning_content,reasoning")).toBeGreaterThanOrEqual(0);
      expect(kinds.lastIndexOf("reasoning_content,reasoning")).toBeLessThan(kinds.indexOf("content"));
      expect(body.map((c) => c.delta.reasoning_content ?? "").join("")).toBe("User says hi. Reply politely.");
      expect(body.map((c) => c.delta.content ?? "").join("")).toBe("Hello! How can I help?");
      expect(body.filter((c) => c.delta.content).length).toBeGreaterThan(1); // streamed, not in one piece
    } finally {
      await s.close();
    }
  });

  it("round-trips a tool call: finish tool_calls, then the result, then the answer", async () => {
    const source = new Scripted([ids(CALL), ids(SUNNY), ids(CALL)]);
    const s = await serve(source);
    try {
      const messages: unknown[] = [user("Weather in Paris?")];
      const first = await json(await post(s.url, { messages, tools: [weatherTool] }));
      expect(first.choices[0].finish_reason).toBe("tool_calls");
      const msg = first.choices[0].message;
      expect(msg).toMatchObject({ role: "assistant", content: null, reasoning_content: "Need the weather." });
      expect(msg.tool_calls).toEqual([{ id: expect.stringMatching(/^call_/), type: "function", function: { name: "get_weather", arguments: "{\"location\": \"Paris\"}" } }]);
      expect(JSON.parse(msg.tool_calls[0].function.arguments)).toEqual({ location: "Paris" });
      expect(source.prompts[0]).toContain("namespace functions {\n\n// Gets the weather.\ntype get_weather = (_: {\nlocation: string,\n}) => any;");

      messages.push(msg, { role: "tool", tool_call_id: msg.tool_calls[0].id, content: "{\"sunny\": true}" });
      const second = await json(await post(s.url, { messages, tools: [weatherTool] }));
      expect(second.choices[0]).toMatchObject({ finish_reason: "stop", message: { role: "assistant", content: "It is sunny in Paris." } });
      // the reasoning stays during the tool turn; the call and its result are rendered as Harmony expects
      expect(source.prompts[1]).toContain("<|start|>user<|message|>Weather in Paris?<|end|>" +
        "<|start|>assistant<|channel|>analysis<|message|>Need the weather.<|end|>" +
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"location\": \"Paris\"}<|call|>" +
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{\"sunny\": true}<|end|><|start|>assistant");

      // streamed: the call opens with its id and name, then the arguments follow
      const data = (await events(await post(s.url, { messages: [user("Weather in Paris?")], tools: [weatherTool], stream: true }))).slice(0, -1) as { choices: { delta: Delta; finish_reason: string | null }[] }[];
      const calls = data.flatMap((c) => c.choices[0].delta.tool_calls ?? []);
      expect(calls[0]).toEqual({ index: 0, id: expect.stringMatching(/^call_/), type: "function", function: { name: "get_weather", arguments: "" } });
      expect(calls.slice(1).every((c) => c.index === 0 && c.id === undefined)).toBe(true);
      expect(calls.map((c) => c.function.arguments).join("")).toBe("{\"location\": \"Paris\"}");
      expect(data[data.length - 1].choices[0].finish_reason).toBe("tool_calls");
    } finally {
      await s.close();
    }
  });

  it("stops at max_tokens with finish length, and at a stop string with finish stop", async () => {
    const source = new Scripted([ids(REASONED), ids(REASONED), ids(REASONED)]);
    const s = await serve(source);
    try {
      const cut = await json(await post(s.url, { messages: [user("Hi")], max_tokens: 4 }));
      expect(cut.choices[0].finish_reason).toBe("length");
      expect(cut.usage.completion_tokens).toBe(4);
      const stopped = await json(await post(s.url, { messages: [user("Hi")], stop: ["How can", "zzz"] }));
      expect(stopped.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "Hello! " } });
      expect(stopped.usage.completion_tokens).toBeLessThan(ids(REASONED).length); // generation stopped there
      const streamed = (await events(await post(s.url, { messages: [user("Hi")], stop: "How can", stream: true }))).slice(0, -1) as { choices: { delta: Delta }[] }[];
      expect(streamed.map((c) => c.choices[0].delta.content ?? "").join("")).toBe("Hello! ");
    } finally {
      await s.close();
    }
  });

  it("refuses bad input with 400 and an OpenAI-style error", async () => {
    const tiny = Object.assign(new Scripted([]), { contextLength: 10 });
    const s = await serve(tiny);
    const bad = async (body: unknown, pattern: RegExp) => {
      const res = await post(s.url, body);
      expect(res.status).toBe(400);
      const reply = await json(res);
      expect(reply.error).toMatchObject({ type: "invalid_request_error", message: expect.stringMatching(pattern) });
    };
    try {
      await bad("{not json", /not valid JSON/);
      await bad([1, 2], /must be a JSON object/);
      await bad({}, /messages must be a non-empty list/);
      await bad({ messages: [] }, /messages must be a non-empty list/);
      await bad({ messages: [{ role: "wizard", content: "hi" }] }, /messages\[0\]\.role must be one of/);
      await bad({ messages: [{ role: "user", content: 3 }] }, /messages\[0\]\.content must be a string/);
      await bad({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }, /only text content parts/);
      await bad({ messages: [user("hi"), { role: "tool", tool_call_id: "nope", content: "1" }] }, /does not match a tool call/);
      await bad({ messages: [user("hi"), { role: "assistant", tool_calls: [{ id: "a", function: { name: "bad name", arguments: "{}" } }] }] }, /tool_calls\[0\]\.function\.name: expected a function name/);
      await bad({ messages: [user("hi")], reasoning_effort: "max" }, /reasoning_effort/);
      await bad({ messages: [user("hi")], temperature: -1 }, /temperature must be a number from 0 to 2/);
      await bad({ messages: [user("hi")], max_tokens: 0 }, /max_tokens must be a positive integer/);
      await bad({ messages: [user("hi")], n: 2 }, /n must be 1/);
      await bad({ messages: [user("hi")], logprobs: true, top_logprobs: 21 }, /top_logprobs must be an integer from 0 to 20/);
      await bad({ messages: [user("hi")], top_logprobs: 2 }, /top_logprobs needs logprobs: true/);
      await bad({ messages: [user("hi")], tools: [{ type: "web_search" }] }, /only function tools/);
      await bad({ messages: [user("hi")], tools: [{ type: "function", function: { name: "bad name" } }] }, /tools\[0\]\.name/);
      await bad({ messages: [user("hi")], tool_choice: "required" }, /tool_choice/);
      await bad({ messages: [user("hi")], stop: [1] }, /stop must be/);
      // the prompt does not fit the model's context: the model's own message
      await bad({ messages: [user("hi")] }, /the conversation is at least \d+ tokens, which fills the model's context of 10 tokens/);
      await bad({ messages: [user("hi")], stream: true }, /fills the model's context/);
      expect(tiny.prompts.length).toBe(0);
      expect(s.logs.every((l) => / 400 /.test(l))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it("serves one request at a time, and a client that goes away stops its generation", async () => {
    // an endless reply, one token every 2 ms (bounded, in case the abort were missed)
    const endless = Array.from({ length: 5000 }, () => tok.encode(" word")[0]);
    const source = new Scripted([endless, ids(REASONED), endless], 2);
    const s = await serve(source);
    try {
      const controller = new AbortController();
      const res = await post(s.url, { messages: [user("Talk forever")], stream: true }, { signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read(); // the first chunk arrived: generation is running
      const queued = post(s.url, { messages: [user("Hi")] }); // waits for the first
      await new Promise((r) => setTimeout(r, 50));
      expect(source.prompts.length).toBe(1);
      controller.abort();
      const second = await json(await queued);
      expect(second.choices[0].message.content).toBe("Hello! How can I help?");
      expect(source.aborted).toBe(1);
      expect(s.logs[0]).toMatch(/^POST \/v1\/chat\/completions client gone [\d.]+ s: .* generated, finish stop \(aborted\)$/);

      // the same without streaming
      const c2 = new AbortController();
      const pending = post(s.url, { messages: [user("Talk forever")] }, { signal: c2.signal }).catch((e: Error) => e.name);
      for (let i = 0; i < 400 && source.prompts.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
      expect(source.prompts.length).toBe(3);
      c2.abort();
      expect(await pending).toBe("AbortError");
      for (let i = 0; i < 200 && source.aborted < 2; i++) await new Promise((r) => setTimeout(r, 5));
      expect(source.aborted).toBe(2);
    } finally {
      await s.close();
    }
  });
});

describe("OpenAI request and reply mapping", () => {
  it("holds back text that may start a stop string, across deltas", () => {
    const d = new DeltaStream(["END"]);
    const text = (list: Delta[]) => list.map((x) => x.content ?? "").join("");
    expect(text(d.push({ type: "answer", text: "abc E" }))).toBe("abc ");
    expect(text(d.push({ type: "answer", text: "N" }))).toBe("");
    expect(text(d.push({ type: "answer", text: "x E" }))).toBe("ENx ");
    expect(text(d.push({ type: "answer", text: "ND more" }))).toBe("");
    expect(d.stopped).toBe(true);
    expect(d.push({ type: "answer", text: "after" })).toEqual([]);
    const open = new DeltaStream(["END"]);
    open.push({ type: "answer", text: "tail E" });
    expect(open.end()).toEqual([{ content: "E" }]);
  });

  it("maps assistant history: reasoning, a preamble with calls, and a final answer", () => {
    const r = parseChatRequest({
      messages: [
        user("Q"),
        { role: "assistant", reasoning: "think", content: "Checking.", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: [{ type: "text", text: "42" }] },
        { role: "assistant", content: "It is 42." },
        user("Thanks"),
      ],
      max_completion_tokens: 7, temperature: 0, top_p: 0.5, seed: 3,
    });
    expect(r.messages.map((m) => [m.role, m.channel, m.recipient, m.name])).toEqual([
      ["user", undefined, undefined, undefined],
      ["assistant", "analysis", undefined, undefined],
      ["assistant", "commentary", undefined, undefined],
      ["assistant", "commentary", "functions.f", undefined],
      ["tool", "commentary", "assistant", "functions.f"],
      ["assistant", "final", undefined, undefined],
      ["user", undefined, undefined, undefined],
    ]);
    expect(r.messages[3].content_type).toBe("<|constrain|>json");
    expect(r.options).toMatchObject({ maxTokens: 7, temperature: 0, topP: 0.5, seed: 3 });
    expect(r.stream).toBe(false);
  });
});

describe("OpenAI-style server with a real random-weight model", () => {
  const tmp = tempDir();
  const ckpt = join(tmp, "tiny-real-vocab");
  beforeAll(() => synthesize({ preset: "tiny", outDir: ckpt, seed: 7 }));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("returns a valid completion for max_tokens 8", async () => {
    const model = await loadModel(ckpt);
    const s = await serve(model, { modelId: undefined });
    try {
      expect((await json(await fetch(`${s.url}/v1/models`))).data[0].id).toBe("tiny-real-vocab");
      const res = await post(s.url, { messages: [user("What is 2 + 2?")], max_tokens: 8, seed: 1 });
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body).toMatchObject({ object: "chat.completion", model: "tiny-real-vocab", choices: [{ index: 0, message: { role: "assistant" } }] });
      expect(body.usage.completion_tokens).toBe(8);
      expect(["length", "stop", "tool_calls"]).toContain(body.choices[0].finish_reason);
      expect(typeof body.choices[0].message.content === "string" || body.choices[0].message.tool_calls).toBeTruthy();
    } finally {
      await s.close();
    }
  });

  it("each server owns its session: a conversation that goes on reuses the cache, another server's does not", async () => {
    const model = await loadModel(ckpt);
    const a = await serve(model), b = await serve(model);
    try {
      const turn1 = [user("What is 2 + 2?")];
      const first = await json(await post(a.url, { messages: turn1, max_tokens: 4, seed: 1 }));
      expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);
      const turn2 = [...turn1, { role: "assistant", content: "4" }, user("And 3 + 3?")];
      const second = await json(await post(a.url, { messages: turn2, max_tokens: 4, seed: 1 }));
      expect(second.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(first.usage.prompt_tokens / 2);
      // the other server has a cache of its own, still empty
      const other = await json(await post(b.url, { messages: turn2, max_tokens: 4, seed: 1 }));
      expect(other.usage.prompt_tokens_details.cached_tokens).toBe(0);
      expect(other.choices[0].message).toEqual(second.choices[0].message);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("gpt-oss-ts serve listens, answers, logs a line per request and stops on SIGTERM", async () => {
    const { url, stderr, stop } = await serveCli(["--model", ckpt, "--max-tokens", "3"]);
    let code: number | null;
    try {
      expect(url, stderr()).toBeDefined();
      const data = await events(await post(url!, { messages: [user("Hi")], stream: true, seed: 2 }));
      expect(data[data.length - 1]).toBe("[DONE]");
      const finish = data[data.length - 2] as { choices: { finish_reason: string }[] };
      expect(finish.choices[0].finish_reason).toBe("length"); // --max-tokens 3 is the default cap
    } finally {
      code = await stop();
    }
    expect(code).toBe(0);
    expect(stderr()).toMatch(/POST \/v1\/chat\/completions 200 [\d.]+ s: \d+ prompt tokens \(0 cached\), 3 generated, finish length/);
  });
});
