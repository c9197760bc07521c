// Log-probabilities of generated tokens: the computation, the generators' hook, and how chat hands them to
// the text events; plus the count of reasoning tokens in a chat's done event.
import { describe, expect, it } from "vitest";
import { chat, type ChatDone, type ChatEvent, type TokenSource } from "../src/chat/chat.js";
import { tokenLogprobs, type TokenLogprob } from "../src/generation/logprobs.js";
import { PrefixCachedGenerator } from "../src/generation/session.js";
import { textMessage } from "../src/harmony/types.js";
import { loadModel, type GenerateOptions } from "../src/model/model.js";
import { getTokenizer, TEXT_TOKEN_COUNT } from "../src/tokenizer/tokenizer.js";
import { DEV_CKPT } from "./helpers.js";

const tok = getTokenizer();
const ids = (harmony: string) => tok.encode(harmony, { allowSpecial: true });

describe("tokenLogprobs", () => {
  it("is the log-softmax of the logits, with the most likely tokens first (ties to the lower id)", () => {
    const logits = Float32Array.from([1, 3, 2, 3, -1]);
    const z = Array.from(logits).reduce((s, x) => s + Math.exp(x), 0);
    const r = tokenLogprobs(logits, 2, 3);
    expect(r.logprob).toBeCloseTo(2 - Math.log(z), 6);
    expect(r.top.map((t) => t.token)).toEqual([1, 3, 2]);
    expect(r.top[0].logprob).toBeCloseTo(3 - Math.log(z), 6);
    expect(tokenLogprobs(logits, 0, 0).top).toEqual([]);
    expect(tokenLogprobs(logits, 0, 10).top.map((t) => t.token)).toEqual([1, 3, 2, 0, 4]);
    // large logits do not overflow
    expect(tokenLogprobs(Float32Array.from([1000, 1000]), 0, 1).logprob).toBeCloseTo(-Math.log(2), 6);
  });

  it("comes with each generated token when asked, the same from both generators", async () => {
    const model = await loadModel(DEV_CKPT);
    const prompt = [1, 2, 3, 4];
    const plain = [];
    for await (const t of model.generate(prompt, { maxTokens: 4, temperature: 0, topLogprobs: 3 })) plain.push(t);
    const cached = [];
    for await (const t of new PrefixCachedGenerator(model).generate(prompt, { maxTokens: 4, temperature: 0, topLogprobs: 3 })) cached.push(t);
    expect(cached).toEqual(plain);
    for (const t of plain) {
      expect(t.logprobs!.top).toHaveLength(3);
      expect(t.logprobs!.top[0]).toEqual({ token: t.token, logprob: t.logprobs!.logprob }); // greedy: the most likely
      expect(t.logprobs!.top.reduce((s, x) => s + Math.exp(x.logprob), 0)).toBeLessThanOrEqual(1 + 1e-9);
    }
    for await (const t of model.generate(prompt, { maxTokens: 2 })) expect(t.logprobs).toBeUndefined();
  });
});

/** Yields `script`, each token with a made-up log-probability (-id / 1e6) when asked for them. */
class Scripted implements TokenSource {
  options: GenerateOptions[] = [];
  constructor(private readonly script: number[]) {}
  async *generate(_prompt: readonly number[], options: GenerateOptions) {
    this.options.push(options);
    for (let index = 0; index < this.script.length; index++) {
      const token = this.script[index];
      const logprobs = options.topLogprobs !== undefined ? { logprob: -token / 1e6, top: [] } : undefined;
      yield { token, index, ...(logprobs ? { logprobs } : {}) };
      if (options.stopTokens?.includes(token)) return;
    }
  }
}

async function run(harmony: string, topLogprobs?: number): Promise<{ events: ChatEvent[]; done: ChatDone }> {
  const events: ChatEvent[] = [];
  for await (const e of chat(new Scripted(ids(harmony)), [textMessage("user", "Hi")], { date: null, ...(topLogprobs !== undefined ? { topLogprobs } : {}) })) events.push(e);
  return { events, done: events[events.length - 1] as ChatDone };
}

describe("chat with log-probabilities", () => {
  const REASONED = "<|channel|>analysis<|message|>User says hi.<|end|><|start|>assistant<|channel|>final<|message|>Héllo 👋 there<|return|>";

  it("gives the text events the logprobs of exactly the tokens that wrote their text", async () => {
    const { events } = await run(REASONED, 2);
    const of = (type: string) => events.filter((e) => e.type === type) as { text: string; logprobs?: TokenLogprob[] }[];
    for (const type of ["reasoning", "answer"]) {
      const list = of(type);
      const tokens = list.flatMap((e) => e.logprobs ?? []).map((l) => l.token);
      expect(tok.decode(tokens)).toBe(list.map((e) => e.text).join(""));
      expect(tokens.every((t) => t < TEXT_TOKEN_COUNT)).toBe(true);
      expect(list.flatMap((e) => e.logprobs ?? []).every((l) => l.logprob === -l.token / 1e6)).toBe(true);
    }
    // text outside Harmony messages (what random weights write): its header-looking tokens are shown, with their logprobs
    const raw = (await run("just some words", 0)).events.filter((e) => e.type === "raw") as { text: string; logprobs?: TokenLogprob[] }[];
    expect(raw.map((e) => e.text).join("")).toBe("just some words");
    expect(tok.decode(raw.flatMap((e) => e.logprobs ?? []).map((l) => l.token))).toBe("just some words");
    // without the option, none
    expect((await run(REASONED)).events.some((e) => "logprobs" in e)).toBe(false);
  });

  it("counts the tokens of analysis messages as reasoning tokens", async () => {
    const { done } = await run(REASONED);
    expect(done.reasoningTokens).toBe(ids("<|channel|>analysis<|message|>User says hi.<|end|>").length);
    expect((await run("<|channel|>final<|message|>Hi<|return|>")).done.reasoningTokens).toBe(0);
    // a tool call after reasoning: only the analysis message counts
    const call = "<|channel|>analysis<|message|>Need it.<|end|><|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}<|call|>";
    expect((await run(call)).done.reasoningTokens).toBe(ids("<|channel|>analysis<|message|>Need it.<|end|>").length);
  });
});
