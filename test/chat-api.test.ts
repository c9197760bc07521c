// The text-level library API: OpenAI-shaped messages, stop strings, chat sessions with history and tool
// handlers (driven by scripted token sources: Harmony written by hand and tokenised), text prompts,
// completions and log-probabilities (on random-weight models), and one error hierarchy.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as api from "../src/index.js";
import { ChatSession, type ChatSessionEvent } from "../src/chat/chat-session.js";
import { appendReply, chat, type ChatDone, type ChatEvent, type TokenSource } from "../src/chat/chat.js";
import { synthesize } from "../src/checkpoint/synth.js";
import { TextPromptError } from "../src/generation/complete.js";
import type { GenerateOptions, GenerationResult } from "../src/generation/loop.js";
import { render } from "../src/harmony/render.js";
import { textMessage, type Message } from "../src/harmony/types.js";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import { getTokenizer, TOKENS } from "../src/tokenizer/tokenizer.js";
import { GptOssError } from "../src/util/errors.js";
import { DECODE_PROMPT, DEV_CKPT, GOLDEN_DECODE, tempDir } from "./helpers.js";

const tok = getTokenizer();
const ids = (harmony: string) => tok.encode(harmony, { allowSpecial: true });

/** Yields one script per call, honouring maxTokens, stop tokens and the signal; records the prompts. */
class Scripted implements TokenSource {
  prompts: string[] = [];
  constructor(private readonly scripts: number[][], private readonly result?: Partial<GenerationResult>) {}
  async *generate(prompt: readonly number[], options: GenerateOptions) {
    this.prompts.push(tok.decode([...prompt]));
    const script = this.scripts[this.prompts.length - 1] ?? [];
    for (let index = 0; index < script.length && index < (options.maxTokens ?? Infinity); index++) {
      if (options.signal?.aborted) return;
      yield { token: script[index], index };
      if (options.stopTokens?.includes(script[index])) return;
      await Promise.resolve();
    }
    return this.result;
  }
}

async function collect<E extends { type: string }>(stream: AsyncIterable<E>) {
  const events: E[] = [];
  for await (const e of stream) events.push(e);
  const text = (type: string) => events.filter((e) => e.type === type).map((e) => (e as unknown as { text: string }).text).join("");
  const dones = events.filter((e) => e.type === "done") as unknown as ChatDone[];
  return { events, text, done: dones[dones.length - 1], dones };
}

const REASONED = "<|channel|>analysis<|message|>User says hi.<|end|><|start|>assistant<|channel|>final<|message|>Hello! How can I help?<|return|>";
const CALL = "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}<|call|>";
const SUNNY = "<|channel|>final<|message|>It is sunny in Paris.<|return|>";
const weather = { name: "get_weather", description: "Gets the weather.", parameters: { type: "object", properties: { city: { type: "string" } } } };

describe("chat takes OpenAI-shaped messages", () => {
  it("renders {role, content: text}, tool calls and results as the equivalent Harmony conversation", async () => {
    const openai = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Weather?" },
      { role: "assistant" as const, content: null, tool_calls: [{ id: "c1", type: "function" as const, function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }] },
      { role: "tool" as const, tool_call_id: "c1", content: "{\"sunny\":true}" },
    ];
    const harmony: Message[] = [
      textMessage("user", "Weather?"),
      textMessage("assistant", "{\"city\":\"Paris\"}", { channel: "commentary", recipient: "functions.get_weather", content_type: "<|constrain|>json" }),
      textMessage("tool", "{\"sunny\":true}", { name: "functions.get_weather", recipient: "assistant", channel: "commentary" }),
    ];
    const a = new Scripted([ids(SUNNY)]), b = new Scripted([ids(SUNNY)]);
    await collect(chat(a, openai, { date: null, tools: [weather] }));
    await collect(chat(b, harmony, { date: null, tools: [weather], instructions: "Be brief." }));
    expect(a.prompts[0]).toBe(b.prompts[0]);
    expect(a.prompts[0]).toContain("# Instructions\n\nBe brief.");
  });

  it("takes a list mixing both shapes: OpenAI user turns and the Harmony replies appendReply adds", async () => {
    const source = new Scripted([ids(REASONED), ids(SUNNY)]);
    let history: api.ChatMessage[] = [{ role: "user", content: "Hi" }];
    const first = await collect(chat(source, history, { date: null }));
    history = appendReply(history, first.done).messages;
    history.push({ role: "user", content: "Weather?" });
    await collect(chat(source, history, { date: null }));
    expect(source.prompts[1]).toContain("<|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>final<|message|>Hello! How can I help?<|end|><|start|>user<|message|>Weather?<|end|><|start|>assistant");
    await expect(collect(chat(source, [{ role: "wizard", content: "x" } as never]))).rejects.toThrow(/messages\[0\]\.role must be one of system, developer, user, assistant, tool/);
  });
});

describe("stop strings in chat", () => {
  it("end the reply before the stop string, in the stream and in the message kept", async () => {
    const source = new Scripted([ids(REASONED)]);
    const { text, done, events } = await collect(chat(source, [textMessage("user", "Hi")], { stop: ["help", "says"] }));
    expect(text("reasoning")).toBe("User says hi."); // not applied to the reasoning
    expect(text("answer")).toBe("Hello! How can I ");
    expect(done.stopReason).toBe("stop_string");
    expect(done.incomplete).toEqual(textMessage("assistant", "Hello! How can I ", { channel: "final" }));
    expect(events.filter((e) => e.type === "message").map((e) => (e as { complete: boolean }).complete)).toEqual([true, false]);
    expect(done.tokens[done.tokens.length - 1]).not.toBe(TOKENS.return);
    // the cut answer is what history keeps
    expect(appendReply([], done).messages.at(-1)).toEqual(textMessage("assistant", "Hello! How can I ", { channel: "final" }));
    // no stop string found: the text is all there
    const plain = await collect(chat(new Scripted([ids(REASONED)]), [textMessage("user", "Hi")], { stop: ["zzz"] }));
    expect(plain.text("answer")).toBe("Hello! How can I help?");
    expect(plain.done.stopReason).toBe("return");
  });

  it("log-probabilities held back with the text travel with it, once each", async () => {
    const script = ids("<|channel|>final<|message|>Hello! How can I help?<|return|>");
    const source: TokenSource = {
      async *generate(_prompt, options) {
        for (let index = 0; index < script.length; index++) {
          yield { token: script[index], index, logprobs: { logprob: -index, top: [] } };
          if (options.stopTokens?.includes(script[index])) return;
        }
      },
    };
    const withStop = await collect(chat(source, [textMessage("user", "?")], { topLogprobs: 0, stop: ["How c"] }));
    const plain = await collect(chat(source, [textMessage("user", "?")], { topLogprobs: 0 }));
    const logprobsOf = (events: ChatEvent[]) => events.flatMap((e) => ("logprobs" in e && e.logprobs ? e.logprobs : []));
    expect(withStop.text("answer")).toBe("Hello! ");
    const passed = logprobsOf(withStop.events);
    // each token's numbers (logprob -index) once, in order, as without the stop string
    expect(passed.map((l) => l.logprob)).toEqual(logprobsOf(plain.events).slice(0, passed.length).map((l) => l.logprob));
    expect(passed.every((l, i) => i === 0 || l.logprob < passed[i - 1].logprob)).toBe(true);
    expect(tok.decode(passed.map((l) => l.token)).startsWith("Hello! ")).toBe(true);
  });

  it("a step hook's stop is the reply's stop reason", async () => {
    const { done } = await collect(chat(new Scripted([ids("<|channel|>final<|message|>Hi")], { stopReason: "hook" }), [textMessage("user", "?")]));
    expect(done.stopReason).toBe("hook");
  });
});

describe("ChatSession", () => {
  it("owns its history: send(text) streams the reply and the next prompt extends the last", async () => {
    const source = new Scripted([ids(REASONED), ids(SUNNY)]);
    const s = new ChatSession(source, { reasoningEffort: "low" });
    const first = await collect(s.send("Hi"));
    expect(first.text("answer")).toBe("Hello! How can I help?");
    expect(first.text("reasoning")).toBe("User says hi.");
    expect(s.history.map((m) => [m.role, m.channel])).toEqual([["user", undefined], ["assistant", "analysis"], ["assistant", "final"]]);
    const second = await s.ask("Weather?");
    expect(second.answer).toBe("It is sunny in Paris.");
    expect(second.done.stopReason).toBe("return");
    expect(source.prompts[1].startsWith(source.prompts[0].slice(0, source.prompts[0].lastIndexOf("<|start|>user")))).toBe(true);
    expect(source.prompts[1]).toContain("Reasoning: low");
    // another session shares nothing
    const other = new ChatSession(new Scripted([ids(SUNNY)]));
    await other.ask("Hello");
    expect(other.history).toHaveLength(2);
    expect(s.history).toHaveLength(5);
    s.reset();
    expect(s.history).toEqual([]);
  });

  it("runs tool handlers and feeds their results back, then answers", async () => {
    const source = new Scripted([ids(CALL), ids(SUNNY)]);
    const calls: unknown[] = [];
    const s = new ChatSession(source, { tools: [{ ...weather, handler: (args) => (calls.push(args), { sunny: true }) }] });
    const { events, dones, text } = await collect<ChatSessionEvent>(s.send("Weather in Paris?"));
    expect(calls).toEqual([{ city: "Paris" }]);
    expect(dones.map((d) => d.stopReason)).toEqual(["call", "return"]);
    expect(events.find((e) => e.type === "tool-result")).toEqual({ type: "tool-result", recipient: "functions.get_weather", output: "{\"sunny\":true}" });
    expect(text("answer")).toBe("It is sunny in Paris.");
    expect(source.prompts[1]).toContain("<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{\"sunny\":true}<|end|><|start|>assistant");
    expect(source.prompts[1]).not.toContain("\"handler\"");
    expect(s.history.map((m) => m.role)).toEqual(["user", "assistant", "assistant", "tool", "assistant"]);
  });

  it("bounds the rounds, reports a handler's error to the model, and leaves calls without a handler to the caller", async () => {
    const looping = new Scripted([ids(CALL), ids(CALL), ids(CALL)]);
    const s = new ChatSession(looping, { maxToolRounds: 1, tools: [{ ...weather, handler: () => { throw new Error("no network"); } }] });
    const r = await collect<ChatSessionEvent>(s.send("Weather?"));
    expect(r.events.filter((e) => e.type === "tool-result")).toEqual([{ type: "tool-result", recipient: "functions.get_weather", output: "{\"error\":\"no network\"}", error: "no network" }]);
    expect(r.dones.map((d) => d.stopReason)).toEqual(["call", "call"]); // one round answered, the next call left
    expect(api.pendingToolCalls(r.done)).toHaveLength(1);

    const manual = new ChatSession(new Scripted([ids(CALL), ids(SUNNY)]), { tools: [weather] });
    const first = await manual.ask("Weather?");
    expect(first.done.stopReason).toBe("call");
    const [call] = api.pendingToolCalls(first.done);
    const second = await manual.ask(api.toolResultMessage(call, "{\"sunny\": true}"));
    expect(second.answer).toBe("It is sunny in Paris.");
  });

  it("a failed turn leaves the history as it was", async () => {
    const failing: TokenSource = { contextLength: 10, async *generate() {} };
    const s = new ChatSession(failing, { history: [{ role: "user", content: "earlier" }] });
    await expect(s.ask("a question that does not fit")).rejects.toThrow(api.ContextFullError);
    expect(s.history).toEqual([textMessage("user", "earlier")]);
  });
});

describe("text prompts, completions and log-probabilities", () => {
  const tmp = tempDir();
  let tiny: GptOssModel, dev: GptOssModel;
  beforeAll(async () => {
    await synthesize({ preset: "tiny", outDir: join(tmp, "tiny"), seed: 11 });
    tiny = await loadModel(join(tmp, "tiny"));
    dev = await loadModel(DEV_CKPT);
  });
  afterAll(() => {
    tiny.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("generate and complete take a string; the text is the decoded tokens", async () => {
    const fromText: number[] = [];
    for await (const t of tiny.generate("The capital of France is", { temperature: 0, maxTokens: 5 })) fromText.push(t.token);
    const fromIds: number[] = [];
    for await (const t of tiny.generate(tok.encode("The capital of France is"), { temperature: 0, maxTokens: 5 })) fromIds.push(t.token);
    expect(fromText).toEqual(fromIds);
    const pieces: string[] = [];
    const c = await tiny.complete("The capital of France is", { temperature: 0, maxTokens: 5, stopTokens: [], onText: (t) => pieces.push(t) });
    expect(c.tokens).toEqual(fromText);
    expect(c.text).toBe(tok.decode(fromText));
    expect(pieces.join("")).toBe(c.text);
    expect(c).toMatchObject({ stopReason: "max_tokens", promptTokens: tok.encode("The capital of France is").length });
    // a stop string ends the text before it
    const cut = c.text.slice(3, 6);
    const stopped = await tiny.complete("The capital of France is", { temperature: 0, maxTokens: 5, stopTokens: [], stop: [cut] });
    expect(stopped.stopReason).toBe("stop_string");
    expect(stopped.text).toBe(c.text.slice(0, c.text.indexOf(cut)));
    // a model without the o200k_harmony vocabulary refuses text, clearly
    await expect(dev.complete("hello")).rejects.toThrow(TextPromptError);
    await expect(dev.complete("hello")).rejects.toThrow(/needs the o200k_harmony vocabulary of 201088 tokens, but this model has 1024: pass token ids/);
    await expect(async () => { for await (const _ of dev.generate("hello")); }).rejects.toThrow(TextPromptError);
  });

  it("topLogprobs from the one loop: the token's own and the top k, before the step hooks", async () => {
    const out: api.GeneratedToken[] = [];
    const ban: api.StepHook = { beforeSample: (logits) => void (logits[GOLDEN_DECODE[0]] = -Infinity) };
    for await (const t of dev.generate(DECODE_PROMPT, { temperature: 0, maxTokens: 1, topLogprobs: 3, stepHooks: [ban] })) out.push(t);
    expect(out[0].token).not.toBe(GOLDEN_DECODE[0]); // the hook ruled the model's top token out...
    expect(out[0].logprobs!.top[0].token).toBe(GOLDEN_DECODE[0]); // ...but the numbers are the model's
    expect(out[0].logprobs!.top).toHaveLength(3);
    expect(out[0].logprobs!.top.find((t) => t.token === out[0].token)?.logprob ?? out[0].logprobs!.logprob).toBe(out[0].logprobs!.logprob);
    const c = await tiny.complete("Hi", { maxTokens: 2, seed: 1, topLogprobs: 0, stopTokens: [] });
    expect(c.logprobs!.map((l) => [l.token, l.top.length])).toEqual(c.tokens.map((t) => [t, 0]));
    expect(c.logprobs![0].text).toBe(tok.decode([c.tokens[0]]));
    expect(c.logprobs![0].logprob).toBeLessThan(0);
    await expect(async () => { for await (const _ of dev.generate([1], { topLogprobs: 21 })); }).rejects.toThrow(/topLogprobs must be an integer from 0 to 20/);
  });

  it("model.createChat: a conversation on a real model reuses its cache turn to turn", async () => {
    const c = tiny.createChat({ temperature: 0, maxTokens: 3 });
    const first = await c.ask("Hello");
    const second = await c.ask("And then?");
    expect(first.done.reusedPromptTokens).toBe(0);
    expect(second.done.reusedPromptTokens).toBeGreaterThan(first.done.promptTokens / 2);
  });
});

describe("errors", () => {
  it("every error class is exported and is a GptOssError", () => {
    const src = join(__dirname, "..", "src");
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const classes = files(src).flatMap((f) => [...readFileSync(f, "utf8").matchAll(/export class (\w+Error) extends (\w+)/g)].map((m) => ({ name: m[1], base: m[2], file: f })));
    expect(classes.length).toBeGreaterThanOrEqual(12);
    for (const c of classes) {
      if (c.file.includes(join("src", "cli")) || c.name === "GptOssError") continue; // the command line's own (UsageError); the base
      const exported = (api as Record<string, unknown>)[c.name] as (new (...a: never[]) => Error) | undefined;
      expect(exported, `${c.name} is exported from src/index.ts`).toBeDefined();
      expect(exported!.prototype instanceof GptOssError, `${c.name} extends GptOssError`).toBe(true);
    }
    const e = new api.ContextFullError("x");
    expect([e.name, e instanceof Error, e instanceof GptOssError]).toEqual(["ContextFullError", true, true]);
    expect(new api.ConfigError("config.json", "bad").message).toBe("config.json: bad");
  });
});
