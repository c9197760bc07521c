// Structured replies end to end through `chat`: whatever the "model" writes, the reply is Harmony with a
// final answer that is JSON valid for the schema, ended by <|return|> within max tokens. The model is
// random here: random logits sampled by the engine's sampler at several temperatures and seeds, and
// adversarial pickers (the longest token, never the stop token) that try to run past the budget; then
// the tiny random-weight checkpoint with the real vocabulary. Replies are checked with ajv.
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { chat, type ChatDone, type ChatOptions, type TokenSource } from "../src/chat/chat.js";
import { loadModel } from "../src/model/model.js";
import { argmax } from "../src/generation/sampling.js";
import { textMessage, type Message } from "../src/harmony/types.js";
import { getTokenizer, TOKENS, VOCAB_SIZE } from "../src/tokenizer/tokenizer.js";
import { Xoshiro128 } from "../src/util/prng.js";
import { replyConstraint, ResponseFormatError } from "../src/structured/response-format.js";
import { synthesize } from "../src/checkpoint/synth.js";
import { tempDir } from "./helpers.js";
import { loopSource, randomModel } from "./structured-helpers.js";

const ajv = new Ajv2020({ strict: false });
addFormats.default(ajv);
const tok = getTokenizer();

/** One schema per feature the issue lists, and a few more. */
const SCHEMAS: Record<string, object> = {
  "required and optional properties": {
    type: "object",
    properties: { name: { type: "string", maxLength: 12 }, age: { type: "integer" }, nick: { type: "string", maxLength: 6 } },
    required: ["name", "age"], additionalProperties: false,
  },
  "enums and consts": {
    type: "object",
    properties: { kind: { enum: ["book", "booklet", "film", 3, null, true] }, version: { const: "v2" }, unit: { type: "string", enum: ["cm", "in"] } },
    required: ["kind", "version", "unit"], additionalProperties: false,
  },
  "strings with maxLength and pattern": {
    type: "object",
    properties: {
      code: { type: "string", pattern: "^[A-Z]{2}-[0-9]{3,5}$" },
      note: { type: "string", maxLength: 5 },
      word: { type: "string", pattern: "^[a-z]+$", maxLength: 8 },
      day: { type: "string", format: "date" },
    },
    required: ["code", "note", "word", "day"], additionalProperties: false,
  },
  "integers and numbers": {
    type: "object",
    properties: {
      count: { type: "integer" }, ratio: { type: "number" }, pct: { type: "number", minimum: 0, maximum: 100 },
      year: { type: "integer", minimum: 1900, exclusiveMaximum: 2100 },
    },
    required: ["count", "ratio", "pct", "year"], additionalProperties: false,
  },
  "booleans and null": { type: "object", properties: { ok: { type: "boolean" }, none: { type: "null" } }, required: ["ok", "none"], additionalProperties: false },
  "arrays with maxItems": {
    type: "object",
    properties: { tags: { type: "array", items: { type: "string", maxLength: 6 }, maxItems: 3 }, pair: { type: "array", prefixItems: [{ type: "integer" }, { type: "boolean" }], items: false, minItems: 2 } },
    required: ["tags", "pair"], additionalProperties: false,
  },
  "nested objects": {
    type: "object",
    properties: {
      author: {
        type: "object",
        properties: { name: { type: "string", maxLength: 10 }, address: { type: "object", properties: { city: { type: "string", maxLength: 8 } }, required: ["city"], additionalProperties: false } },
        required: ["name", "address"], additionalProperties: false,
      },
    },
    required: ["author"], additionalProperties: false,
  },
  anyOf: {
    type: "array",
    items: { anyOf: [{ type: "string", maxLength: 4 }, { type: "integer", minimum: -5, maximum: 5 }, { type: "object", properties: { k: { type: "boolean" } }, required: ["k"], additionalProperties: false }] },
    maxItems: 3,
  },
  "any JSON object": { type: "object" },
};

const STOPS = new Set<number>([TOKENS.return, TOKENS.call, TOKENS.end]);
const LENGTH = Uint8Array.from({ length: VOCAB_SIZE }, (_, t) => (t < 199998 ? tok.tokenBytes(t).length : 0));

/** An adversary: of the allowed tokens, the longest one (or one at random), never a stop token while it can avoid it. */
function adversary(seed: number, pick: "longest" | "random"): TokenSource {
  const rng = new Xoshiro128(seed);
  const going = new Int32Array(VOCAB_SIZE);
  return loopSource((logits) => logits.fill(0), (logits) => {
    let n = 0, stop = -1, best = -1;
    for (let t = 0; t < logits.length; t++) {
      if (logits[t] !== 0) continue;
      if (STOPS.has(t)) {
        stop = t;
        continue;
      }
      if (pick === "longest" && LENGTH[t] > best) (best = LENGTH[t]), (n = 0);
      if (pick === "random" || LENGTH[t] === best) going[n++] = t;
    }
    expect(n > 0 || stop >= 0).toBe(true);
    return n > 0 ? going[Math.floor(rng.float() * n)] : stop;
  });
}

/** Tokens of the shortest reply a schema allows (headers, JSON, stop token). */
function shortest(schema: object): number {
  try {
    replyConstraint({ responseFormat: { type: "json_schema", schema } }, 0);
  } catch (e) {
    if (e instanceof ResponseFormatError && /takes (\d+)/.test(e.message)) return Number(/takes (\d+)/.exec(e.message)![1]);
    throw e;
  }
  throw new Error("a budget of 0 tokens was accepted");
}

async function reply(source: TokenSource, options: ChatOptions, messages: Message[] = [textMessage("user", "Answer in JSON.")]): Promise<ChatDone> {
  let done: ChatDone | undefined;
  for await (const e of chat(source, messages, { date: null, ...options })) if (e.type === "done") done = e;
  return done!;
}

/** The reply is a finished Harmony reply whose final answer is valid for `schema`. */
function expectValid(done: ChatDone, schema: object, maxTokens: number, what: string): unknown {
  expect(done.stopReason, what).toBe("return");
  expect(done.generatedTokens, what).toBeLessThanOrEqual(maxTokens);
  expect(done.warnings, what).toBe(0);
  const last = done.messages[done.messages.length - 1];
  expect(last.channel, what).toBe("final");
  expect(done.messages.slice(0, -1).every((m) => m.channel === "analysis"), what).toBe(true);
  const text = last.content.map((c) => (c.type === "text" ? c.text : "")).join("");
  const value = JSON.parse(text);
  const validate = ajv.compile(schema);
  expect(validate(value), `${what}: ${text} ${JSON.stringify(validate.errors)}`).toBe(true);
  return value;
}

describe("constrained replies", () => {
  it("are valid for every schema feature, at any temperature and seed (random logits)", async () => {
    let n = 0;
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      for (const [seed, temperature, slack] of [[1, 0, 30], [2, 1, 2], [3, 2, 60]] as const) {
        const maxTokens = shortest(schema) + slack;
        const done = await reply(randomModel(seed * 7 + n), { responseFormat: { type: "json_schema", schema }, maxTokens, temperature, seed });
        expectValid(done, schema, maxTokens, `${name}, seed ${seed}, temperature ${temperature}`);
        n++;
      }
    }
  });

  it("finish within the budget against an adversary that never closes anything", async () => {
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      // A budget below the shortest reply is refused up front, never cut off.
      await expect(reply(adversary(1, "random"), { responseFormat: { type: "json_schema", schema }, maxTokens: shortest(schema) - 1 })).rejects.toThrow(ResponseFormatError);
      for (const [seed, pick, slack] of [[1, "longest", 0], [2, "random", 5], [3, "longest", 40]] as const) {
        const maxTokens = shortest(schema) + slack;
        const done = await reply(adversary(seed, pick), { responseFormat: { type: "json_schema", schema }, maxTokens });
        expectValid(done, schema, maxTokens, `${name}, ${pick}, ${maxTokens} tokens`);
      }
    }
  });

  it("json_object gives a JSON object; a budget too small for the shortest reply is refused", async () => {
    for (const seed of [5, 6]) {
      const done = await reply(randomModel(seed), { responseFormat: { type: "json_object" }, maxTokens: 50, seed, temperature: 1 });
      const value = expectValid(done, { type: "object" }, 50, `json_object ${seed}`);
      expect(typeof value).toBe("object");
    }
    const tight = await reply(adversary(1, "longest"), { responseFormat: { type: "json_object" }, maxTokens: 6 });
    expectValid(tight, { type: "object" }, 6, "6 tokens");
    expect(tok.decode(tight.tokens)).toMatch(/^<\|channel\|>final<\|message\|>\{\s*\}<\|return\|>$/);
    await expect(reply(randomModel(1), { responseFormat: { type: "json_object" }, maxTokens: 5 })).rejects.toThrow(/at most 5 tokens, but the shortest reply .* takes 6/);
    await expect(reply(randomModel(1), { responseFormat: { type: "json_schema", schema: { type: "string", format: "ipv6" } } })).rejects.toThrow(/format "ipv6" is not supported/);
  });

  it("shows the schema to the model in the developer message", async () => {
    let prompt = "";
    const source: TokenSource = {
      async *generate(p, options) {
        prompt = tok.decode([...p]);
        yield* adversary(1, "random").generate(p, options);
      },
    };
    await reply(source, { responseFormat: { type: "json_schema", name: "point", description: "A point.", schema: { type: "object", properties: { x: { type: "integer" } } } }, instructions: "Be brief." });
    expect(prompt).toContain('<|start|>developer<|message|># Instructions\n\nBe brief.\n\n# Response Formats\n\n## point\n\n// A point.\n{"type":"object","properties":{"x":{"type":"integer"}}}<|end|>');
  });
});

describe("strict tool calls", () => {
  const tools = [
    { name: "get_weather", description: "Weather in a city.", strict: true, parameters: { type: "object", properties: { city: { type: "string", maxLength: 12 }, unit: { enum: ["c", "f"] } }, required: ["city", "unit"], additionalProperties: false } },
    { name: "ping", description: "Free arguments.", parameters: { type: "object" } },
  ];

  it("have arguments valid for the tool's schema, or the answer is a final message", async () => {
    let calls = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const done = await reply(randomModel(seed), { tools, maxTokens: 60, seed, temperature: 1 });
      const last = done.messages[done.messages.length - 1];
      if (done.stopReason === "call" && last.recipient === "functions.get_weather") {
        calls++;
        const args = JSON.parse(last.content.map((c) => (c.type === "text" ? c.text : "")).join(""));
        expect(ajv.validate(tools[0].parameters, args), JSON.stringify(args)).toBe(true);
        expect(last.content_type).toBe("<|constrain|>json");
      } else {
        expect(["return", "call", "max_tokens"]).toContain(done.stopReason);
        expect(["final", "commentary", "analysis"]).toContain(last.channel);
      }
    }
    expect(calls).toBeGreaterThan(0);
  });
});

describe("reasoning budget", () => {
  /** Writes `script` where the constraint allows it; elsewhere the first token the constraint allows. */
  const scripted = (script: number[]): TokenSource => loopSource((logits, step) => {
    logits.fill(0);
    if (step < script.length) logits[script[step]] = 10;
  }, argmax);
  const ramble = tok.encode("<|channel|>analysis<|message|>" + " and so on".repeat(30), { allowSpecial: true });

  it("closes the analysis after N tokens and moves to the final channel (free answer)", async () => {
    const script = [...ramble];
    const done = await reply(scripted(script), { maxReasoningTokens: 7, maxTokens: 60 });
    const [analysis, final] = done.messages;
    expect(analysis.channel).toBe("analysis");
    expect(tok.encode(analysis.content[0].type === "text" ? analysis.content[0].text : "")).toHaveLength(7);
    expect(final.channel).toBe("final");
    expect(tok.decode(done.tokens.slice(10, 16))).toBe("<|end|><|start|>assistant<|channel|>final<|message|>");
  });

  it("keeps reasoning apart from the JSON answer and closes it for the budget", async () => {
    const schema = { type: "object", properties: { n: { type: "integer", minimum: 0, maximum: 9 } }, required: ["n"], additionalProperties: false };
    const events: string[] = [];
    let done: ChatDone | undefined;
    for await (const e of chat(scripted(ramble), [textMessage("user", "n?")], { responseFormat: { type: "json_schema", schema }, maxReasoningTokens: 5, maxTokens: 200 })) {
      if (e.type === "reasoning" || e.type === "answer") events.push(e.type);
      if (e.type === "done") done = e;
    }
    expectValid(done!, schema, 200, "budget 5");
    expect(done!.messages.map((m) => m.channel)).toEqual(["analysis", "final"]);
    expect(events.indexOf("answer")).toBeGreaterThan(events.lastIndexOf("reasoning"));
    // Without a reasoning budget, the total budget closes the reasoning in time for the JSON (`{"n":0}` = 7 bytes).
    const tight = await reply(scripted(ramble), { responseFormat: { type: "json_schema", schema }, maxTokens: 30 });
    expectValid(tight, schema, 30, "total budget");
    expect(tight.generatedTokens).toBe(30);
    // maxReasoningTokens 0: no analysis message at all.
    const none = await reply(scripted(ramble), { responseFormat: { type: "json_schema", schema }, maxReasoningTokens: 0, maxTokens: 40 });
    expect(none.messages.map((m) => m.channel)).toEqual(["final"]);
  });
});

describe("the tiny random-weight checkpoint", () => {
  const dir = tempDir("gpt-oss-ts-structured-");
  const ckpt = join(dir, "tiny");
  beforeAll(() => synthesize({ preset: "tiny", outDir: ckpt }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (args: string[], input?: string) => spawnSync(process.execPath, ["dist/src/cli/main.js", ...args], { encoding: "utf8", input });

  it("writes valid JSON for a schema at several temperatures and seeds", async () => {
    const model = await loadModel(ckpt, { threads: 1 });
    try {
      const schema = SCHEMAS["strings with maxLength and pattern"];
      for (const [seed, temperature] of [[1, 0], [2, 1], [3, 1.5]] as const) {
        const done = await reply(model, { responseFormat: { type: "json_schema", schema }, maxTokens: 64, seed, temperature });
        expectValid(done, schema, 64, `tiny model, seed ${seed}, temperature ${temperature}`);
      }
    } finally {
      model.dispose();
    }
  });

  it("run --json-schema prints the JSON answer on stdout; chat --json-object answers each line with an object", () => {
    const schema = SCHEMAS["nested objects"];
    const file = join(dir, "author.json");
    writeFileSync(file, JSON.stringify(schema));
    const r = cli(["run", "--model", ckpt, "--json-schema", file, "--max-reasoning-tokens", "4", "--max-tokens", "80", "--seed", "2", "Who wrote it?"]);
    expect(r.status, r.stderr).toBe(0);
    expect(ajv.validate(schema, JSON.parse(r.stdout))).toBe(true);
    expect(r.stderr).toMatch(/stop: return/);
    const c = cli(["chat", "--model", ckpt, "--json-object", "--max-tokens", "40", "--seed", "1", "--hide-reasoning"], "one\ntwo\n");
    expect(c.status, c.stderr).toBe(0);
    // "> line" then "[answer] JSON" (over several lines) per turn.
    const answers = c.stdout.split(/^> .*$/m).slice(1).map((turn) => JSON.parse(/\[answer\] ([\s\S]*)/.exec(turn)![1]));
    expect(answers).toHaveLength(2);
    for (const a of answers) expect(ajv.validate({ type: "object" }, a)).toBe(true);
    expect(c.stderr.match(/stop: return/g)).toHaveLength(2);
  });

  it("refuses a schema it cannot honour, naming the file and the keyword, before loading", () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ type: "object", properties: { id: { type: "string", format: "ipv4" } } }));
    const r = cli(["run", "--model", ckpt, "--json-schema", file, "x"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}: response format schema at #/properties/id/format: format "ipv4" is not supported`);
    expect(cli(["run", "--model", ckpt, "--json-schema", file, "--json-object", "x"]).status).toBe(2);
    expect(cli(["run", "--model", ckpt, "--json-object", "--max-tokens", "3", "x"]).stderr).toMatch(/at most 3 tokens, but the shortest reply .* takes 6/);
  });
});
