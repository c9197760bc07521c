// The Responses API, driven end to end by OpenAI's npm client: scripted token sources where the content
// matters (reasoning, tool calls), the tiny random-weight model for a smoke test, and the refusals.
import { rmSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesize } from "../src/checkpoint/synth.js";
import { loadModel } from "../src/model/model.js";
import { ResponseStore } from "../src/server/responses.js";
import { tempDir } from "./helpers.js";
import { CALL, ids, REASONED, Scripted, serve, SUNNY, weatherTool } from "./server-helpers.js";

describe("Responses API with a scripted model", () => {
  it("answers a string input: reasoning and message items, output_text, usage, and keeps the response", async () => {
    const source = new Scripted([ids(REASONED)]);
    const s = await serve(source);
    try {
      const r = await s.client.responses.create({ model: "x", input: "Hi", instructions: "Be brief.", reasoning: { effort: "high" } });
      expect(r).toMatchObject({ object: "response", status: "completed", model: "test-model", error: null, incomplete_details: null, instructions: "Be brief." });
      expect(r.id).toMatch(/^resp_[0-9a-f]+$/);
      expect(r.output).toEqual([
        { id: expect.stringMatching(/^rs_/), type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: "User says hi. Reply politely." }], status: "completed" },
        { id: expect.stringMatching(/^msg_/), type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Hello! How can I help?", annotations: [], logprobs: [] }] },
      ]);
      expect(r.output_text).toBe("Hello! How can I help?");
      const reasoning = ids("<|channel|>analysis<|message|>User says hi. Reply politely.<|end|>").length;
      expect(r.usage).toEqual({
        input_tokens: ids(source.prompts[0]).length, input_tokens_details: { cached_tokens: 0 },
        output_tokens: ids(REASONED).length, output_tokens_details: { reasoning_tokens: reasoning },
        total_tokens: ids(source.prompts[0]).length + ids(REASONED).length,
      });
      expect(source.prompts[0]).toContain("Reasoning: high");
      expect(source.prompts[0]).toContain("<|start|>developer<|message|># Instructions\n\nBe brief.<|end|><|start|>user<|message|>Hi<|end|><|start|>assistant");
      expect(await s.client.responses.retrieve(r.id)).toEqual(r);
      expect(s.logs[0]).toMatch(/^POST \/v1\/responses 200 [\d.]+ s: \d+ prompt tokens \(0 cached\), \d+ generated, completed$/);
    } finally {
      await s.close();
    }
  });

  it("streams the reference's event sequence with increasing sequence numbers", async () => {
    const s = await serve(new Scripted([ids(REASONED)]));
    try {
      const stream = await s.client.responses.create({ model: "x", input: [{ role: "user", content: [{ type: "input_text", text: "Hi" }] }], stream: true });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const e of stream) events.push(e);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      const types = events.map((e) => e.type).filter((t, i, all) => !(t.endsWith(".delta") && all[i - 1] === t)); // one per run of deltas
      expect(types).toEqual([
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added", "response.reasoning_text.delta", "response.reasoning_text.done",
        "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done",
        "response.completed",
      ]);
      const created = events[0] as OpenAI.Responses.ResponseCreatedEvent;
      expect(created.response).toMatchObject({ status: "in_progress", output: [], usage: null });
      const text = (type: string) => events.filter((e) => e.type === type).map((e) => (e as { delta: string }).delta).join("");
      expect(text("response.reasoning_text.delta")).toBe("User says hi. Reply politely.");
      expect(text("response.output_text.delta")).toBe("Hello! How can I help?");
      expect(events.filter((e) => e.type === "response.output_text.delta").length).toBeGreaterThan(1);
      const done = events[events.length - 1] as OpenAI.Responses.ResponseCompletedEvent;
      expect(done.response.output.map((i) => i.type)).toEqual(["reasoning", "message"]);
      expect(done.response.output_text).toBe("Hello! How can I help?");
      // the item ids of the deltas are those of the items added
      const added = events.filter((e) => e.type === "response.output_item.added").map((e) => (e as OpenAI.Responses.ResponseOutputItemAddedEvent).item.id);
      expect(new Set(events.filter((e) => "item_id" in e).map((e) => (e as { item_id: string }).item_id))).toEqual(new Set(added));
      expect(await s.client.responses.retrieve(done.response.id)).toEqual(done.response);
    } finally {
      await s.close();
    }
  });

  it("round-trips a function call with previous_response_id and function_call_output", async () => {
    const source = new Scripted([ids(CALL), ids(SUNNY), ids(CALL)]);
    const s = await serve(source);
    try {
      const first = await s.client.responses.create({ model: "x", input: "Weather in Paris?", tools: [weatherTool] });
      expect(first.status).toBe("completed");
      expect(first.output.map((i) => i.type)).toEqual(["reasoning", "function_call"]);
      const call = first.output[1] as OpenAI.Responses.ResponseFunctionToolCall;
      expect(call).toEqual({ id: expect.stringMatching(/^fc_/), type: "function_call", status: "completed", call_id: expect.stringMatching(/^call_/), name: "get_weather", arguments: "{\"location\": \"Paris\"}" });
      expect(first.output_text).toBe("");
      expect(source.prompts[0]).toContain("namespace functions {\n\n// Gets the weather.\ntype get_weather = (_: {\nlocation: string,\n}) => any;");

      const second = await s.client.responses.create({
        model: "x", previous_response_id: first.id, tools: [weatherTool],
        input: [{ type: "function_call_output", call_id: call.call_id, output: "{\"sunny\": true}" }],
      });
      expect(second).toMatchObject({ status: "completed", output_text: "It is sunny in Paris.", previous_response_id: first.id });
      // the reasoning stays during the tool turn; the call and its result are rendered as Harmony expects
      expect(source.prompts[1]).toContain("<|start|>user<|message|>Weather in Paris?<|end|>" +
        "<|start|>assistant<|channel|>analysis<|message|>Need the weather.<|end|>" +
        "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"location\": \"Paris\"}<|call|>" +
        "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{\"sunny\": true}<|end|><|start|>assistant");

      // streamed: the call opens with its name, then its arguments stream
      const stream = await s.client.responses.create({ model: "x", input: "Weather in Paris?", tools: [weatherTool], stream: true });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const e of stream) events.push(e);
      const added = events.filter((e) => e.type === "response.output_item.added").map((e) => (e as OpenAI.Responses.ResponseOutputItemAddedEvent).item);
      expect(added[1]).toMatchObject({ type: "function_call", name: "get_weather", arguments: "", status: "in_progress" });
      const args = events.filter((e) => e.type === "response.function_call_arguments.delta").map((e) => (e as { delta: string }).delta);
      expect(args.join("")).toBe("{\"location\": \"Paris\"}");
      expect(events.find((e) => e.type === "response.function_call_arguments.done")).toMatchObject({ name: "get_weather", arguments: "{\"location\": \"Paris\"}" });
      expect(events[events.length - 1].type).toBe("response.completed");
    } finally {
      await s.close();
    }
  });

  it("continues a conversation given back as items, and drops reasoning after a final answer", async () => {
    const source = new Scripted([ids(REASONED), ids(SUNNY)]);
    const s = await serve(source);
    try {
      const first = await s.client.responses.create({ model: "x", input: "Hi", store: false });
      await expect(s.client.responses.retrieve(first.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError); // store: false
      await s.client.responses.create({
        model: "x",
        input: [
          { role: "developer", content: "Be kind." },
          { role: "user", content: "Hi" },
          ...(first.output as OpenAI.Responses.ResponseInputItem[]),
          { role: "user", content: "Weather?" },
        ],
      });
      expect(source.prompts[1]).toContain("# Instructions\n\nBe kind.<|end|>");
      // the analysis before the final answer is dropped (Harmony's rule); the answer stays
      expect(source.prompts[1]).toContain("<|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>final<|message|>Hello! How can I help?<|end|><|start|>user<|message|>Weather?<|end|><|start|>assistant");
      expect(source.prompts[1]).not.toContain("User says hi");
    } finally {
      await s.close();
    }
  });

  it("stops at max_output_tokens with status incomplete", async () => {
    const s = await serve(new Scripted([ids(REASONED), ids(REASONED)]));
    try {
      const r = await s.client.responses.create({ model: "x", input: "Hi", max_output_tokens: 4 });
      expect(r).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, max_output_tokens: 4 });
      expect(r.usage!.output_tokens).toBe(4);
      expect(r.output[0]).toMatchObject({ type: "reasoning", status: "incomplete" });
      const stream = await s.client.responses.create({ model: "x", input: "Hi", max_output_tokens: 4, stream: true });
      const types: string[] = [];
      for await (const e of stream) types.push(e.type);
      expect(types[types.length - 1]).toBe("response.incomplete");
    } finally {
      await s.close();
    }
  });

  it("gives the output text's logprobs when asked for them", async () => {
    const source = new Scripted([ids(REASONED), ids(REASONED)]);
    const s = await serve(source);
    try {
      const r = await s.client.responses.create({ model: "x", input: "Hi", include: ["message.output_text.logprobs"], top_logprobs: 2 });
      const part = (r.output[1] as OpenAI.Responses.ResponseOutputMessage).content[0] as OpenAI.Responses.ResponseOutputText;
      expect(part.logprobs!.map((l) => l.token).join("")).toBe("Hello! How can I help?");
      expect(part.logprobs![0]).toEqual({ token: "Hello", logprob: -ids("Hello")[0] / 1e6, bytes: [...Buffer.from("Hello")], top_logprobs: [{ token: "!", logprob: -0.5, bytes: [33] }, { token: "\"", logprob: -1.5, bytes: [34] }] });
      expect(source.options[0].topLogprobs).toBe(2);
      const stream = await s.client.responses.create({ model: "x", input: "Hi", include: ["message.output_text.logprobs"], stream: true });
      const deltas: OpenAI.Responses.ResponseTextDeltaEvent[] = [];
      for await (const e of stream) if (e.type === "response.output_text.delta") deltas.push(e);
      expect(deltas.flatMap((d) => d.logprobs).map((l) => l.token).join("")).toBe("Hello! How can I help?");
    } finally {
      await s.close();
    }
  });

  it("deletes a stored response", async () => {
    const s = await serve(new Scripted([ids(REASONED)]));
    try {
      const r = await s.client.responses.create({ model: "x", input: "Hi" });
      const raw = await fetch(`${s.url}/v1/responses/${r.id}`, { method: "DELETE" });
      expect(await raw.json()).toEqual({ id: r.id, object: "response", deleted: true });
      await expect(s.client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await expect(s.client.responses.delete(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    } finally {
      await s.close();
    }
  });

  it("refuses what it cannot do: 400 for bad input, 404 for an unknown previous_response_id", async () => {
    const tiny = Object.assign(new Scripted([]), { contextLength: 10 });
    const s = await serve(tiny);
    const bad = async (body: Record<string, unknown>, pattern: RegExp, status = 400) => {
      const res = await fetch(`${s.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((await res.json()).error).toMatchObject({ type: "invalid_request_error", message: expect.stringMatching(pattern) });
    };
    try {
      await bad({ input: "Hi", previous_response_id: "resp_nope" }, /no response with id "resp_nope"/, 404);
      await bad({ input: [{ type: "function_call_output", call_id: "call_x", output: "1" }] }, /call_id "call_x" does not match a function_call/);
      await bad({ input: "Hi", tools: [{ type: "web_search" }] }, /tools\[0\]: "web_search" is a built-in tool .* only function tools/);
      await bad({ input: "Hi", tools: [{ type: "code_interpreter", container: { type: "auto" } }] }, /"code_interpreter" is a built-in tool/);
      await bad({ input: "Hi", tool_choice: "required" }, /tool_choice "required" is not supported/);
      await bad({}, /input must be a string or a non-empty list/);
      await bad({ input: [{ role: "user", content: [{ type: "input_image", image_url: "x" }] }] }, /only text parts/);
      await bad({ input: [{ type: "web_search_call", id: "ws" }] }, /items of type "web_search_call" are not supported/);
      await bad({ input: "Hi", reasoning: { effort: "minimal" } }, /reasoning.effort/);
      await bad({ input: "Hi", max_output_tokens: 0 }, /max_output_tokens must be a positive integer/);
      await bad({ input: "Hi", top_logprobs: 30 }, /top_logprobs must be an integer from 0 to 20/);
      await bad({ input: "Hi", text: { format: { type: "grammar" } } }, /text.format.type must be "text", "json_object" or "json_schema"/);
      await bad({ input: "Hi", background: true }, /background is not supported/);
      await bad({ input: "Hi" }, /fills the model's context of 10 tokens/);
      expect(tiny.prompts.length).toBe(0);
      // OpenAI's client sees them as its error classes
      await expect(s.client.responses.create({ model: "x", input: "Hi", previous_response_id: "resp_nope" })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await expect(s.client.responses.create({ model: "x", input: "Hi", tools: [{ type: "web_search" }] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    } finally {
      await s.close();
    }
  });
});

describe("the response store", () => {
  const stored = (id: string, text: string) => ({
    response: { id, output_text: text } as never,
    conversation: { messages: [], instructions: [], callNames: {} },
  });

  it("keeps at most its count and bytes, dropping the oldest first", () => {
    const byCount = new ResponseStore(2);
    for (const id of ["a", "b", "c"]) byCount.put(stored(id, ""));
    expect([byCount.get("a"), byCount.get("b")?.response.id, byCount.get("c")?.response.id]).toEqual([undefined, "b", "c"]);
    const byBytes = new ResponseStore(100, 1000);
    byBytes.put(stored("a", "x".repeat(200)));
    byBytes.put(stored("b", "x".repeat(200)));
    expect(byBytes.get("a")).toBeUndefined();
    expect(byBytes.get("b")).toBeDefined();
    byBytes.put(stored("c", "x".repeat(2000))); // larger than the whole store: not kept, nothing dropped
    expect([byBytes.get("b") !== undefined, byBytes.get("c")]).toEqual([true, undefined]);
    expect(byBytes.delete("b")).toBe(true);
    expect(byBytes.size).toBe(0);
  });
});

describe("Responses API with a real random-weight model", () => {
  const tmp = tempDir();
  const ckpt = join(tmp, "tiny-real-vocab");
  beforeAll(() => synthesize({ preset: "tiny", outDir: ckpt, seed: 7 }));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("answers plain and streamed, and continues with previous_response_id", async () => {
    const model = await loadModel(ckpt);
    const s = await serve(model, { modelId: undefined });
    try {
      const r = await s.client.responses.create({ model: "x", input: "What is 2 + 2?", max_output_tokens: 6, temperature: 0, include: ["message.output_text.logprobs"], top_logprobs: 2 });
      expect(r).toMatchObject({ object: "response", model: "tiny-real-vocab", status: "incomplete" });
      expect(r.usage!.output_tokens).toBe(6);
      // greedy: each token is the most likely one, and its logprob the first of the top 2
      const logprobs = r.output.flatMap((i) => (i.type === "message" ? i.content.flatMap((c) => (c.type === "output_text" ? c.logprobs ?? [] : [])) : []));
      expect(logprobs.length).toBeGreaterThan(0);
      for (const l of logprobs) expect([l.top_logprobs.length, l.top_logprobs[0].logprob]).toEqual([2, l.logprob]);
      const stream = await s.client.responses.create({ model: "x", input: "And 3 + 3?", previous_response_id: r.id, max_output_tokens: 6, stream: true });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const e of stream) events.push(e);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      const last = events[events.length - 1] as OpenAI.Responses.ResponseIncompleteEvent;
      expect(last.type).toBe("response.incomplete");
      // the second prompt extends the first: its start came from the KV cache
      expect(last.response.usage!.input_tokens).toBeGreaterThan(r.usage!.input_tokens);
      expect(last.response.usage!.input_tokens_details.cached_tokens).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
