// response_format and max_reasoning_tokens in the OpenAI-style server: the request mapping, then real
// clients (OpenAI's npm client, the Vercel AI SDK's generateObject) against a server whose "model"
// writes random logits, so every valid reply is the constraint's doing.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import { generateObject, jsonSchema } from "ai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { Ajv2020 } from "ajv/dist/2020.js";
import { InvalidRequestError, parseChatRequest } from "../src/server/openai-chat.js";
import { createServer } from "../src/server/server.js";
import { responseFormatOfText } from "../src/structured/response-format.js";
import { randomModel } from "./structured-helpers.js";

const ajv = new Ajv2020({ strict: false });
const person = {
  type: "object",
  properties: { name: { type: "string", maxLength: 16 }, age: { type: "integer", minimum: 0, maximum: 120 }, tags: { type: "array", items: { enum: ["a", "b"] }, maxItems: 2 } },
  required: ["name", "age", "tags"],
  additionalProperties: false,
};
const user = [{ role: "user", content: "Describe a person as JSON." }];

describe("response_format in a request", () => {
  it("maps json_schema, json_object, max_reasoning_tokens and strict tools", () => {
    const r = parseChatRequest({ messages: user, response_format: { type: "json_schema", json_schema: { name: "person", schema: person, strict: true } }, max_reasoning_tokens: 16 });
    expect(r.options.responseFormat).toEqual({ type: "json_schema", name: "person", schema: person, strict: true });
    expect(r.options.maxReasoningTokens).toBe(16);
    expect(parseChatRequest({ messages: user, response_format: { type: "json_object" } }).options.responseFormat).toEqual({ type: "json_object" });
    expect(parseChatRequest({ messages: user, response_format: { type: "text" } }).options.responseFormat).toBeUndefined();
    const tools = [{ type: "function", function: { name: "f", parameters: person, strict: true } }];
    expect(parseChatRequest({ messages: user, tools }).options.tools![0].strict).toBe(true);
  });

  it("refuses what cannot be honoured with a 400 naming the field", () => {
    const refused: [object, string, RegExp][] = [
      [{ response_format: { type: "json_schema", json_schema: { name: "p", schema: { type: "object", properties: { a: { type: "string", not: {} } } } } } }, "response_format", /#\/properties\/a: keyword not/],
      [{ response_format: { type: "xml" } }, "response_format", /response_format.type must be/],
      [{ response_format: { type: "json_schema", json_schema: { name: "p" } } }, "response_format", /schema is required/],
      [{ max_reasoning_tokens: -1 }, "max_reasoning_tokens", /non-negative integer/],
      [{ tools: [{ type: "function", function: { name: "f", strict: true, parameters: { type: "array", uniqueItems: true } } }] }, "tools", /tools\[0\] \(f\) parameters at #\/uniqueItems/],
    ];
    for (const [body, param, message] of refused) {
      try {
        parseChatRequest({ messages: user, ...body });
        expect.unreachable(JSON.stringify(body));
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidRequestError);
        expect((e as InvalidRequestError).param).toBe(param);
        expect((e as Error).message).toMatch(message);
      }
    }
    // strict: false takes any JSON rather than refusing a schema the matcher cannot honour.
    expect(() => parseChatRequest({ messages: user, response_format: { type: "json_schema", json_schema: { name: "p", strict: false, schema: { not: {} } } } })).not.toThrow();
  });

  it("maps the Responses API's text.format", () => {
    expect(responseFormatOfText({ format: { type: "json_schema", name: "person", schema: person, strict: true } })).toEqual({ type: "json_schema", name: "person", schema: person, strict: true });
    expect(responseFormatOfText({ format: { type: "json_object" } })).toEqual({ type: "json_object" });
    expect(() => responseFormatOfText({ format: { type: "grammar" } })).toThrow(/text.format.type must be/);
  });
});

describe("real clients against the server", () => {
  let server: Server;
  let baseURL = "";
  beforeAll(async () => {
    server = createServer(randomModel(1), { modelId: "test-model", date: "2025-06-28", log: () => {} });
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await new Promise((ok) => (server.closeAllConnections(), server.close(ok)));
  });

  it("OpenAI's client gets JSON valid for the schema, streamed or not", async () => {
    const client = new OpenAI({ baseURL, apiKey: "none" });
    for (const seed of [1, 2, 3]) {
      const completion = await client.chat.completions.create({
        model: "test-model", messages: [{ role: "user", content: "A person, please." }], seed, max_tokens: 120, max_reasoning_tokens: 8,
        response_format: { type: "json_schema", json_schema: { name: "person", schema: person, strict: true } },
      } as OpenAI.ChatCompletionCreateParamsNonStreaming);
      expect(completion.choices[0].finish_reason).toBe("stop");
      expect(ajv.validate(person, JSON.parse(completion.choices[0].message.content!))).toBe(true);
    }
    const stream = await client.chat.completions.create({
      model: "test-model", messages: [{ role: "user", content: "Any object." }], seed: 4, max_tokens: 60, stream: true, response_format: { type: "json_object" },
    });
    let content = "";
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
    expect(typeof JSON.parse(content)).toBe("object");
    await expect(client.chat.completions.create({ model: "test-model", messages: [{ role: "user", content: "x" }], max_tokens: 5, response_format: { type: "json_object" } }))
      .rejects.toMatchObject({ status: 400, param: "max_tokens" });
  });

  it("OpenAI's client gets JSON valid for text.format from the Responses API", async () => {
    const client = new OpenAI({ baseURL, apiKey: "none" });
    const response = await client.responses.create({
      model: "test-model", input: "A person, please.", max_output_tokens: 120, store: false,
      text: { format: { type: "json_schema", name: "person", schema: person, strict: true } },
    });
    expect(response.status).toBe("completed");
    expect(ajv.validate(person, JSON.parse(response.output_text))).toBe(true);
    expect(response.text?.format).toMatchObject({ type: "json_schema", name: "person" });
  });

  it("the Vercel AI SDK's generateObject gets an object valid for the schema", async () => {
    // supportsStructuredOutputs: the provider sends response_format json_schema (else json_object, and
    // only the SDK's own check would hold the reply to the schema).
    const provider = createOpenAICompatible({ name: "gpt-oss-ts", baseURL, apiKey: "none", supportsStructuredOutputs: true });
    for (const seed of [5, 6]) {
      const { object } = await generateObject({ model: provider.chatModel("test-model"), schema: jsonSchema(person), prompt: "A person.", maxOutputTokens: 120, seed });
      expect(ajv.validate(person, object)).toBe(true);
    }
  });
});
