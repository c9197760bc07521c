// A server you can leave running: Chat Completions as current servers answer it (reasoning, reasoning
// tokens, logprobs, tool-call arguments as objects), /health, the API key, CORS, the default and caps
// (max tokens, prompt tokens, queue), SSE backpressure, and `serve` binding its port before loading.
import { spawn } from "node:child_process";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { DeltaStream } from "../src/server/openai-chat.js";
import { DEFAULT_MAX_TOKENS, loadingListener } from "../src/server/server.js";
import { ids, REASONED, Scripted, serve, sleep, SUNNY, tok, weatherTool } from "./server-helpers.js";

const chatTool = { type: "function" as const, function: { name: weatherTool.name, description: weatherTool.description, parameters: weatherTool.parameters } };

describe("Chat Completions as current servers answer it", () => {
  it("sends the reasoning under reasoning and reasoning_content, and counts reasoning tokens", async () => {
    const s = await serve(new Scripted([ids(REASONED), ids(REASONED)]));
    try {
      const r = await s.client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Hi" }] });
      const message = r.choices[0].message as unknown as Record<string, unknown>;
      expect(message).toMatchObject({ content: "Hello! How can I help?", reasoning: "User says hi. Reply politely.", reasoning_content: "User says hi. Reply politely." });
      expect(r.usage!.completion_tokens_details!.reasoning_tokens).toBe(ids("<|channel|>analysis<|message|>User says hi. Reply politely.<|end|>").length);
      const stream = await s.client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Hi" }], stream: true });
      let reasoning = "";
      for await (const c of stream) {
        const delta = c.choices[0]?.delta as Record<string, string> | undefined;
        if (delta?.reasoning !== undefined) {
          expect(delta.reasoning_content).toBe(delta.reasoning);
          reasoning += delta.reasoning;
        }
      }
      expect(reasoning).toBe("User says hi. Reply politely.");
    } finally {
      await s.close();
    }
  });

  it("gives logprobs with top_logprobs on the visible tokens, plain and streamed", async () => {
    const source = new Scripted([ids(REASONED), ids(REASONED), ids(REASONED)]);
    const s = await serve(source);
    try {
      const r = await s.client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Hi" }], logprobs: true, top_logprobs: 2 });
      const content = r.choices[0].logprobs!.content!;
      expect(content.map((l) => l.token).join("")).toBe("Hello! How can I help?");
      expect(content[0]).toEqual({ token: "Hello", logprob: -ids("Hello")[0] / 1e6, bytes: [...Buffer.from("Hello")], top_logprobs: [{ token: "!", logprob: -0.5, bytes: [33] }, { token: "\"", logprob: -1.5, bytes: [34] }] });
      expect(source.options[0].topLogprobs).toBe(2);

      const stream = await s.client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Hi" }], logprobs: true, stream: true });
      const streamed: string[] = [];
      for await (const c of stream) for (const l of c.choices[0]?.logprobs?.content ?? []) streamed.push(l.token);
      expect(streamed.join("")).toBe("Hello! How can I help?");
      expect(source.options[1].topLogprobs).toBe(0);

      const plain = await s.client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Hi" }] });
      expect(plain.choices[0].logprobs).toBeNull();
      expect(source.options[2].topLogprobs).toBeUndefined(); // not computed when not asked for
    } finally {
      await s.close();
    }
  });

  it("keeps logprobs with the text a stop string holds back, and drops those after the stop", () => {
    const lp = (token: number) => ({ token, logprob: -1, top: [] });
    const d = new DeltaStream(["END"]);
    const out = [
      ...d.push({ type: "answer", text: "ab E", logprobs: [lp(1)] }),
      ...d.push({ type: "answer", text: "ND", logprobs: [lp(2)] }),
      ...d.push({ type: "answer", text: "x", logprobs: [lp(3)] }),
    ];
    expect(out).toEqual([{ content: "ab ", logprobs: [lp(1)] }]);
    const open = new DeltaStream(["END"]);
    expect(open.push({ type: "answer", text: "x E", logprobs: [lp(5)] })).toEqual([{ content: "x ", logprobs: [lp(5)] }]);
    expect(open.push({ type: "answer", text: "N", logprobs: [lp(6)] })).toEqual([]);
    expect(open.end()).toEqual([{ content: "EN", logprobs: [lp(6)] }]);
  });

  it("takes tool-call arguments as an object, as ollama-style histories send them", async () => {
    const source = new Scripted([ids(SUNNY)]);
    const s = await serve(source);
    try {
      const r = await fetch(`${s.url}/v1/chat/completions`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({
          tools: [chatTool],
          messages: [
            { role: "user", content: "Weather in Paris?" },
            { role: "assistant", content: "", tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: { location: "Paris" } } }] },
            { role: "tool", tool_call_id: "c1", content: "sunny" },
          ],
        }),
      });
      expect(r.status).toBe(200);
      expect(source.prompts[0]).toContain("<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"location\":\"Paris\"}<|call|>");
    } finally {
      await s.close();
    }
  });
});

describe("a server you can leave running", () => {
  it("answers /health, also without the API key", async () => {
    const s = await serve(new Scripted([]), { apiKey: "sekret" });
    try {
      const res = await fetch(`${s.url}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok", model: "test-model", running: 0, waiting: 0 });
    } finally {
      await s.close();
    }
  });

  it("answers 503 on /health and the API while the model loads", async () => {
    const server = createHttpServer(loadingListener());
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const health = await fetch(`${url}/health`);
      expect([health.status, await health.json()]).toEqual([503, { status: "loading" }]);
      const api = await fetch(`${url}/v1/responses`, { method: "POST", body: "{}" });
      expect(api.status).toBe(503);
      expect(api.headers.get("retry-after")).toBe("10");
    } finally {
      server.close();
    }
  });

  it("checks the API key on /v1/*: 401 without it or with another", async () => {
    const s = await serve(new Scripted([ids(REASONED), ids(REASONED)]), { apiKey: "sekret" });
    try {
      for (const [path, method] of [["/v1/models", "GET"], ["/v1/chat/completions", "POST"], ["/v1/responses", "POST"], ["/v1/responses/resp_x", "GET"]]) {
        const res = await fetch(`${s.url}${path}`, { method, ...(method === "POST" ? { body: "{}" } : {}) });
        expect(res.status, path).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe("Bearer");
        expect((await res.json()).error).toMatchObject({ code: "invalid_api_key", message: expect.stringMatching(/needs an API key/) });
      }
      const wrong = await fetch(`${s.url}/v1/models`, { headers: { authorization: "Bearer sekret2" } });
      expect(wrong.status).toBe(401);
      expect((await wrong.json()).error.message).toMatch(/is not this server's/);
      await expect(new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "nope", maxRetries: 0 }).models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      // the right key
      expect((await s.client.responses.create({ model: "x", input: "Hi" })).output_text).toBe("Hello! How can I help?");
      expect((await s.client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Hi" }] })).choices[0].message.content).toBe("Hello! How can I help?");
    } finally {
      await s.close();
    }
  });

  it("sends no CORS headers unless asked; with --cors, answers preflights for the origins given", async () => {
    const closed = await serve(new Scripted([]));
    try {
      const res = await fetch(`${closed.url}/v1/models`, { headers: { origin: "http://localhost:3000" } });
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await closed.close();
    }
    const s = await serve(new Scripted([]), { cors: ["http://localhost:3000"], apiKey: "k" });
    try {
      const pre = await fetch(`${s.url}/v1/responses`, {
        method: "OPTIONS", headers: { origin: "http://localhost:3000", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
      expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
      expect(pre.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
      const get = await fetch(`${s.url}/v1/models`, { headers: { origin: "http://localhost:3000", authorization: "Bearer k" } });
      expect([get.status, get.headers.get("access-control-allow-origin")]).toEqual([200, "http://localhost:3000"]);
      const other = await fetch(`${s.url}/v1/models`, { headers: { origin: "http://evil.example", authorization: "Bearer k" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await s.close();
    }
  });

  it("bounds a reply when the request sets no max tokens, and refuses a prompt over the cap", async () => {
    const source = new Scripted([ids(REASONED), ids(REASONED), ids(REASONED)]);
    const s = await serve(source, { maxPromptTokens: 200 });
    try {
      await s.client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Hi" }] });
      await s.client.responses.create({ model: "x", input: "Hi" });
      expect(source.options.map((o) => o.maxTokens)).toEqual([DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOKENS]);
      const long = "word ".repeat(300);
      const chat = s.client.chat.completions.create({ model: "x", messages: [{ role: "user", content: long }] });
      await expect(chat).rejects.toThrow(/more than the 200 prompt tokens a request may have here/);
      const resp = s.client.responses.create({ model: "x", input: long });
      await expect(resp).rejects.toBeInstanceOf(OpenAI.BadRequestError);
      expect(source.prompts.length).toBe(2);
    } finally {
      await s.close();
    }
  });

  it("answers 429 with Retry-After when the queue is full", async () => {
    const endless = Array.from({ length: 5000 }, () => tok.encode(" word")[0]);
    const source = new Scripted([endless, ids(REASONED)], 2);
    const s = await serve(source, { maxQueue: 1 });
    const controller = new AbortController();
    try {
      const running = await fetch(`${s.url}/v1/chat/completions`, {
        method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: "Talk" }], stream: true }), signal: controller.signal,
      });
      const reader = running.body!.getReader();
      await reader.read(); // generating
      const waiting = s.client.responses.create({ model: "x", input: "Hi" }); // waits its turn
      for (let i = 0; i < 100 && !(await (await fetch(`${s.url}/health`)).json()).waiting; i++) await sleep(5);
      const full = await fetch(`${s.url}/v1/responses`, { method: "POST", body: JSON.stringify({ input: "Hi" }) });
      expect(full.status).toBe(429);
      expect(Number(full.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect((await full.json()).error).toMatchObject({ type: "rate_limit_error", message: expect.stringMatching(/busy: 1 requests are waiting/) });
      await expect(s.client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "Hi" }] })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
      controller.abort();
      expect((await waiting).output_text).toBe("Hello! How can I help?");
    } finally {
      controller.abort();
      await s.close();
    }
  });

  it("holds the generation while a streaming client does not read (backpressure)", async () => {
    // 60,000 tokens of 112 dashes: some 20 MB of events, far more than the sockets' buffers take
    const dashes = tok.encode("-".repeat(112));
    expect(dashes).toHaveLength(1);
    const many = Array.from({ length: 60000 }, () => dashes[0]);
    for (const path of ["/v1/chat/completions", "/v1/responses"]) {
      const source = new Scripted([many]);
      const s = await serve(source);
      try {
        const body = path === "/v1/responses" ? { input: "Talk", stream: true, max_output_tokens: many.length } : { messages: [{ role: "user", content: "Talk" }], stream: true, max_tokens: many.length };
        const res = await new Promise<IncomingMessage>((ok, fail) => {
          const req = httpRequest(`${s.url}${path}`, { method: "POST", headers: { "content-type": "application/json" } }, ok);
          req.on("error", fail);
          req.end(JSON.stringify(body));
        });
        res.pause(); // a reader that does not read
        let last = -1;
        for (let i = 0; i < 100 && source.yielded !== last; i++) {
          last = source.yielded;
          await sleep(50);
        }
        expect(source.yielded, path).toBeLessThan(many.length / 2); // stalled, not run to the end into a buffer
        let bytes = 0;
        res.on("data", (b: Buffer) => (bytes += b.length)).resume();
        await new Promise((ok) => res.on("end", ok)); // reading again lets it finish
        expect(source.yielded).toBe(many.length);
        expect(bytes).toBeGreaterThan(many.length * 112);
      } finally {
        await s.close();
      }
    }
  });

  it("gpt-oss-ts serve reports a port in use before loading the model", async () => {
    const blocker = createHttpServer();
    await new Promise<void>((ok) => blocker.listen(0, "127.0.0.1", ok));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const child = spawn(process.execPath, ["dist/src/cli/main.js", "serve", "--model", "/nonexistent/model", "--port", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const code = await new Promise<number | null>((ok) => child.on("exit", ok));
      expect(code).not.toBe(0);
      expect(stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
      expect(stderr).not.toMatch(/nonexistent/); // the model was not looked at
    } finally {
      blocker.close();
    }
  });
});

