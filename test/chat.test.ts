// The chat event logic, driven by a scripted token source: the "generated" tokens are Harmony written by
// hand and tokenised, so every case is deterministic and takes milliseconds.
import { describe, expect, it } from "vitest";
import { appendReply, chat, chatMessages, pendingToolCalls, ReplyReader, toolResultMessage, toToolDescriptions, type ChatDone, type ChatEvent, type TokenSource } from "../src/chat/chat.js";
import type { GenerateOptions } from "../src/model/model.js";
import { loadModel } from "../src/model/model.js";
import { PrefixCachedGenerator } from "../src/generation/session.js";
import { render } from "../src/harmony/render.js";
import { textMessage, type Message } from "../src/harmony/types.js";
import { getTokenizer, TOKENS } from "../src/tokenizer/tokenizer.js";
import { DEV_CKPT } from "./helpers.js";
import { ChatPrinter } from "../src/cli/chat-printer.js";

const tok = getTokenizer();
const ids = (harmony: string) => tok.encode(harmony, { allowSpecial: true });

/** Yields `script` as if generated, honouring maxTokens, stop tokens and the signal; records prompts. */
class Scripted implements TokenSource {
  prompts: number[][] = [];
  consumed = 0;
  constructor(private readonly scripts: number[][], private readonly obeyStops = true) {}
  async *generate(prompt: readonly number[], options: GenerateOptions) {
    this.prompts.push([...prompt]);
    const script = this.scripts[this.prompts.length - 1] ?? [];
    for (let index = 0; index < script.length && index < (options.maxTokens ?? Infinity); index++) {
      if (options.signal?.aborted) return;
      this.consumed++;
      yield { token: script[index], index };
      if (this.obeyStops && options.stopTokens?.includes(script[index])) return;
      await Promise.resolve();
    }
  }
}

async function collect(stream: AsyncIterable<ChatEvent>): Promise<{ events: ChatEvent[]; done: ChatDone; text: (type: string) => string }> {
  const events: ChatEvent[] = [];
  for await (const e of stream) events.push(e);
  const done = events[events.length - 1] as ChatDone;
  expect(done.type).toBe("done");
  const text = (type: string) => events.filter((e) => e.type === type).map((e) => (e as { text: string }).text).join("");
  return { events, done, text };
}

const weatherTool = {
  name: "get_weather",
  description: "Gets the weather.",
  parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
};
const REASONED = "<|channel|>analysis<|message|>User says hi. Reply politely.<|end|><|start|>assistant<|channel|>final<|message|>Hello! How can I help?<|return|>";
const CALL = "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"location\": \"Paris\"}<|call|>";

describe("chat events", () => {
  it("separates reasoning from the answer and stops at <|return|>", async () => {
    const source = new Scripted([[...ids(REASONED), ...ids("<|start|>assistant<|channel|>final<|message|>never")]]);
    const { events, done, text } = await collect(chat(source, [textMessage("user", "Hi")], { reasoningEffort: "high", date: "2025-06-28" }));
    expect(text("reasoning")).toBe("User says hi. Reply politely.");
    expect(text("answer")).toBe("Hello! How can I help?");
    expect(text("raw")).toBe("");
    expect(done.stopReason).toBe("return");
    expect(done.tokens[done.tokens.length - 1]).toBe(TOKENS.return);
    expect(done.generatedTokens).toBe(ids(REASONED).length);
    expect(done.messages.map((m) => m.channel)).toEqual(["analysis", "final"]);
    expect(done.incomplete).toBeUndefined();
    expect(done.warnings).toBe(0);
    expect(events.filter((e) => e.type === "message")).toHaveLength(2);
    // the reasoning streams before the answer, each in several deltas
    const first = (t: string) => events.findIndex((e) => e.type === t);
    expect(first("reasoning")).toBeLessThan(first("answer"));
    expect(events.filter((e) => e.type === "answer").length).toBeGreaterThan(1);
    // prompt: system message with the effort and date, ending ready for the assistant
    const prompt = tok.decode(source.prompts[0]);
    expect(prompt).toContain("Current date: 2025-06-28\n\nReasoning: high\n\n# Valid channels: analysis, commentary, final.");
    expect(prompt.endsWith("<|start|>user<|message|>Hi<|end|><|start|>assistant")).toBe(true);
    expect(done.promptTokens).toBe(source.prompts[0].length);
    expect(done.prefillMs).toBeGreaterThanOrEqual(0);
  });

  it("stops at <|return|> even when the source would go on", async () => {
    const source = new Scripted([[...ids(REASONED), ...ids("more text")]], false);
    const { done } = await collect(chat(source, [textMessage("user", "Hi")]));
    expect(done.stopReason).toBe("return");
    expect(source.consumed).toBe(ids(REASONED).length);
  });

  it("reports a tool call with its recipient and parsed JSON arguments, and stops at <|call|>", async () => {
    const source = new Scripted([[...ids(CALL), ...ids("<|start|>assistant")]]);
    const { events, done, text } = await collect(chat(source, [textMessage("user", "Weather in Paris?")], { tools: [weatherTool], date: null }));
    const call = events.find((e) => e.type === "tool-call");
    expect(call).toMatchObject({
      type: "tool-call", recipient: "functions.get_weather", channel: "commentary", contentType: "<|constrain|>json",
      argumentsText: "{\"location\": \"Paris\"}", arguments: { location: "Paris" }, complete: true,
    });
    expect(call).not.toHaveProperty("argumentsError");
    expect(text("tool-call-delta")).toBe("{\"location\": \"Paris\"}");
    expect(text("answer")).toBe("");
    expect(done.stopReason).toBe("call");
    expect(source.consumed).toBe(ids(CALL).length);
    expect(pendingToolCalls(done)).toEqual([expect.objectContaining({ recipient: "functions.get_weather", arguments: { location: "Paris" } })]);
    // tools go in a developer message, and the system message says where calls go
    const prompt = tok.decode(source.prompts[0]);
    expect(prompt).not.toContain("Current date:");
    expect(prompt).toContain("Calls to these tools must go to the commentary channel: 'functions'.<|end|><|start|>developer<|message|># Tools\n\n## functions\n\nnamespace functions {\n\n// Gets the weather.\ntype get_weather = (_: {\nlocation: string,\n}) => any;");
  });

  it("reports arguments that are not JSON instead of throwing", async () => {
    const bad = "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"location\": Paris}<|call|>";
    const { events, done } = await collect(chat(new Scripted([ids(bad)]), [textMessage("user", "?")], { tools: [weatherTool] }));
    const call = events.find((e) => e.type === "tool-call") as Extract<ChatEvent, { type: "tool-call" }>;
    expect(call.arguments).toBeUndefined();
    expect(call.argumentsError).toMatch(/^not valid JSON: /);
    expect(call.argumentsText).toBe("{\"location\": Paris}");
    expect(done.stopReason).toBe("call");
    const empty = "<|channel|>commentary to=functions.get_weather<|message|><|call|>";
    const r = await collect(chat(new Scripted([ids(empty)]), [textMessage("user", "?")]));
    expect(r.events.find((e) => e.type === "tool-call")).toMatchObject({ argumentsError: "no arguments were written" });
  });

  it("shows a preamble on the commentary channel apart from the answer", async () => {
    const reply = "<|channel|>commentary<|message|>Let me check.<|end|><|start|>assistant<|channel|>final<|message|>Done.<|return|>";
    const { text } = await collect(chat(new Scripted([ids(reply)]), [textMessage("user", "?")]));
    expect(text("commentary")).toBe("Let me check.");
    expect(text("answer")).toBe("Done.");
  });

  it("stops cleanly on abort with stop reason aborted", async () => {
    const controller = new AbortController();
    const source = new Scripted([ids(REASONED)]);
    const events: ChatEvent[] = [];
    for await (const e of chat(source, [textMessage("user", "Hi")], { signal: controller.signal })) {
      events.push(e);
      if (e.type === "answer") controller.abort();
    }
    const done = events[events.length - 1] as ChatDone;
    expect(done.stopReason).toBe("aborted");
    expect(events.filter((e) => e.type === "answer")).toHaveLength(1);
    expect(source.consumed).toBeLessThan(ids(REASONED).length);
    expect(done.incomplete?.channel).toBe("final");
    // an abort before the start generates nothing
    const r = await collect(chat(new Scripted([ids(REASONED)]), [textMessage("user", "Hi")], { signal: AbortSignal.abort() }));
    expect(r.done).toMatchObject({ stopReason: "aborted", generatedTokens: 0, messages: [] });
  });

  it("stops at maxTokens with the cut-off message marked incomplete", async () => {
    const { done, events } = await collect(chat(new Scripted([ids(REASONED)]), [textMessage("user", "Hi")], { maxTokens: 5 }));
    expect(done.stopReason).toBe("max_tokens");
    expect(done.generatedTokens).toBe(5);
    expect(done.incomplete).toMatchObject({ role: "assistant", channel: "analysis" });
    expect(events.find((e) => e.type === "message")).toMatchObject({ complete: false });
    // half a thought is not kept in history
    expect(appendReply([textMessage("user", "Hi")], done).messages).toHaveLength(1);
  });

  it("clamps the reply to the context and says so", async () => {
    const source = Object.assign(new Scripted([ids(REASONED)]), { contextLength: 0 });
    await expect(collect(chat(source, [textMessage("user", "Hi")]))).rejects.toThrow(/fills the model's context of 0 tokens/);
    const prompt = chatMessages([textMessage("user", "Hi")], { date: null });
    const len = tok.encode(render(prompt), { allowSpecial: true }).length;
    const small = Object.assign(new Scripted([ids(REASONED)]), { contextLength: len + 3 });
    const { done } = await collect(chat(small, [textMessage("user", "Hi")], { date: null }));
    expect(done).toMatchObject({ stopReason: "context_full", generatedTokens: 3 });
  });

  it("shows output without a Harmony header as raw text, never losing it", async () => {
    const gibberish = tok.encode(" the quick brown fox jumps over the lazy dog ".repeat(5));
    const { text, done } = await collect(chat(new Scripted([gibberish]), [textMessage("user", "Hi")]));
    expect(text("raw")).toBe(tok.decode(gibberish));
    expect(text("answer")).toBe("");
    expect(done.stopReason).toBe("end");
    expect(done.messages).toEqual([]);
    // short stray text after a message, too
    const stray = [...ids("<|channel|>final<|message|>Hi<|end|>"), ...tok.encode("oops")];
    const r = await collect(chat(new Scripted([stray]), [textMessage("user", "Hi")]));
    expect(r.text("answer")).toBe("Hi");
    expect(r.text("raw")).toBe("oops");
    expect(r.done.warnings).toBeGreaterThan(0);
    // a header cut short by <|start|>
    const cut = [...tok.encode("hmm"), ...ids("<|start|>assistant<|channel|>final<|message|>Yes<|return|>")];
    const c = await collect(chat(new Scripted([cut]), [textMessage("user", "Hi")]));
    expect(c.text("raw")).toBe("hmm");
    expect(c.text("answer")).toBe("Yes");
  });

  it("never throws on random token streams", async () => {
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const specials = [TOKENS.start, TOKENS.end, TOKENS.message, TOKENS.channel, TOKENS.constrain, TOKENS.call, TOKENS.return];
    for (let run = 0; run < 50; run++) {
      const script = Array.from({ length: 60 }, () => (rand(3) === 0 ? specials[rand(specials.length)] : rand(201088)));
      const reader = new ReplyReader();
      for (const t of script) reader.push(t);
      reader.end();
    }
  });
});

describe("multi-turn history", () => {
  it("stores the final as <|end|>, drops the earlier reasoning, and continues a turn after a tool result", async () => {
    const source = new Scripted([
      ids(REASONED),
      ids(CALL),
      ids("<|channel|>final<|message|>It is sunny in Paris.<|return|>"),
    ]);
    const options = { tools: [weatherTool], reasoningEffort: "low" as const, date: "2025-06-28" };
    let history: Message[] = [textMessage("user", "Hi")];
    let { done } = await collect(chat(source, history, options));
    history = appendReply(history, done).messages;
    expect(history.map((m) => m.channel)).toEqual([undefined, "analysis", "final"]);

    history.push(textMessage("user", "Weather in Paris?"));
    ({ done } = await collect(chat(source, history, options)));
    const second = tok.decode(source.prompts[1]);
    expect(second).toContain("<|start|>user<|message|>Hi<|end|><|start|>assistant<|channel|>final<|message|>Hello! How can I help?<|end|><|start|>user<|message|>Weather in Paris?<|end|><|start|>assistant");
    expect(second).not.toContain("Reply politely"); // the first turn's reasoning is dropped
    expect(second).toContain("Reasoning: low");
    expect(second).not.toContain("<|return|>");

    history = appendReply(history, done).messages;
    const [call] = pendingToolCalls(done);
    history.push(toolResultMessage(call, "{\"sunny\": true}"));
    ({ done } = await collect(chat(source, history, options)));
    const third = tok.decode(source.prompts[2]);
    // during a tool turn the reasoning stays; the call keeps <|call|>; the result comes from the tool
    expect(third).toContain("<|start|>assistant<|channel|>analysis<|message|>Need the weather.<|end|>" +
      "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{\"location\": \"Paris\"}<|call|>" +
      "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{\"sunny\": true}<|end|><|start|>assistant");
    expect(done.stopReason).toBe("return");
    history = appendReply(history, done).messages;
    expect(history[history.length - 1]).toEqual(textMessage("assistant", "It is sunny in Paris.", { channel: "final" }));
  });

  it("keeps an existing system or developer message and completes it from the options", () => {
    const base: Message[] = [
      { role: "system", content: [{ type: "system_content", model_identity: "Bot.", reasoning_effort: "low" }] },
      { role: "developer", content: [{ type: "developer_content", instructions: "Be brief." }] },
      textMessage("user", "Hi"),
    ];
    const out = chatMessages(base, { reasoningEffort: "high", tools: [weatherTool] });
    expect(out[0].content[0]).toEqual({ type: "system_content", model_identity: "Bot.", reasoning_effort: "high" });
    expect(out[1].content[0]).toMatchObject({ type: "developer_content", instructions: "Be brief.", tools: { functions: { name: "functions" } } });
    expect(base[0].content[0]).toMatchObject({ reasoning_effort: "low" }); // not modified
    const plain = chatMessages([textMessage("user", "Hi")], { instructions: "Talk like a pirate.", date: null });
    expect(render(plain)).toContain("<|start|>developer<|message|># Instructions\n\nTalk like a pirate.<|end|>");
  });

  it("reads tool definitions in our shape and in OpenAI's", () => {
    const openai = [{ type: "function", function: weatherTool }];
    expect(toToolDescriptions(openai)).toEqual([weatherTool]);
    expect(toToolDescriptions({ tools: [{ name: "now" }] })).toEqual([{ name: "now", description: "" }]);
    expect(() => toToolDescriptions([{ name: "bad name" }], "t.json")).toThrow(/t.json\[0\].name/);
    expect(() => toToolDescriptions({ x: 1 })).toThrow(/expected a list/);
  });
});

describe("KV cache kept between turns", () => {
  it("gives the same tokens as a fresh generation while reusing the shared prefix", async () => {
    const model = await loadModel(DEV_CKPT);
    const source = new PrefixCachedGenerator(model);
    const greedy = { temperature: 0, maxTokens: 6 };
    const fresh = async (p: number[]) => {
      const out: number[] = [];
      for await (const { token } of model.generate(p, greedy)) out.push(token);
      return out;
    };
    const run = async (p: number[]) => {
      const out: number[] = [];
      for await (const { token } of source.generate(p, greedy)) out.push(token);
      return out;
    };
    const a = Array.from({ length: 30 }, (_, i) => (i * 37 + 11) % 1000);
    const outA = await run(a);
    expect(outA).toEqual(await fresh(a));
    expect(source.reusedTokens).toBe(0);
    // extends everything that was run: prompt and generated tokens (all but the last)
    const b = [...a, ...outA, 5, 6, 7];
    expect(await run(b)).toEqual(await fresh(b));
    expect(source.reusedTokens).toBe(a.length + outA.length - 1);
    // departs inside the reply (past the sliding window of 8): back to the end of the last prompt
    const outB = await run(b);
    const d = [...b, outB[0], 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    expect(await run(d)).toEqual(await fresh(d));
    expect(source.reusedTokens).toBe(b.length);
    // departs before that: everything runs again
    const e = [...a.slice(0, 10), 1, 2, 3];
    expect(await run(e)).toEqual(await fresh(e));
    expect(source.reusedTokens).toBe(0);
    // the same prompt again: only its last token runs
    expect(await run(e)).toEqual(await fresh(e));
    expect(source.reusedTokens).toBe(e.length - 1);
    // a prompt that departs one token before the end of the last prompt, after a reply
    const f = [...e.slice(0, -1), 77, 78];
    expect(await run(f)).toEqual(await fresh(f));
    expect(source.reusedTokens).toBe(e.length - 1);
  });

  it("refuses a model whose vocabulary is not o200k_harmony's, clearly", async () => {
    const model = await loadModel(DEV_CKPT);
    await expect(collect(model.chat([textMessage("user", "Hi")]))).rejects.toThrow(/vocabulary has 1024 tokens, but chat needs the o200k_harmony tokenizer's 201088/);
  });
});

describe("chat printer", () => {
  const events = async (script: string) => (await collect(chat(new Scripted([ids(script)]), [textMessage("user", "?")]))).events;
  const sink = (isTTY = false) => {
    const s = { text: "", isTTY, write: (t: string) => void (s.text += t) };
    return s;
  };

  it("marks blocks in plain text and keeps the answer on stdout for run", async () => {
    const out = sink(), err = sink();
    const chatPrinter = new ChatPrinter({ out, color: false, markAnswer: true });
    for (const e of await events(REASONED)) chatPrinter.handle(e);
    expect(out.text).toBe("[reasoning] User says hi. Reply politely.\n[answer] Hello! How can I help?\n");

    const runOut = sink();
    const runPrinter = new ChatPrinter({ out: runOut, reasoningOut: err, color: false });
    for (const e of await events(CALL)) runPrinter.handle(e);
    expect(runOut.text).toBe("[tool call] functions.get_weather {\"location\": \"Paris\"}\n");
    expect(err.text).toBe("[reasoning] Need the weather.\n");
  });

  it("dims the reasoning on a terminal, hides it on request, and flags bad tool arguments", async () => {
    const tty = sink(true);
    const p = new ChatPrinter({ out: tty, color: true });
    for (const e of await events(REASONED)) p.handle(e);
    expect(tty.text).toBe("\x1b[2mUser says hi. Reply politely.\x1b[22m\nHello! How can I help?\n");

    const hidden = sink();
    const h = new ChatPrinter({ out: hidden, color: false, hideReasoning: true });
    for (const e of await events(REASONED)) h.handle(e);
    expect(hidden.text).toBe("Hello! How can I help?\n");

    const bad = sink();
    const b = new ChatPrinter({ out: bad, color: false });
    for (const e of await events("<|channel|>commentary to=functions.f<|message|>{oops<|call|>")) b.handle(e);
    expect(bad.text).toMatch(/^\[tool call\] functions\.f \{oops\n\(the arguments of functions\.f are not valid JSON: .*\)\n$/);
  });
});
