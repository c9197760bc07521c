// The generation loop and sessions: one loop behind generate, chat, trace and profile; a KV cache that
// belongs to whoever made it; non-finite logits and weights refused, by name and position; the context
// length enforced with stop reason context_full.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chat, type ChatDone, type ChatEvent } from "../src/chat/chat.js";
import { CheckpointError } from "../src/checkpoint/checkpoint.js";
import { SafetensorsFile } from "../src/checkpoint/safetensors.js";
import { synthesize } from "../src/checkpoint/synth.js";
import { generation, runToEnd, type GenerationResult, type StepHook } from "../src/generation/loop.js";
import { Sampler } from "../src/generation/sampling.js";
import { Session } from "../src/generation/session.js";
import { textMessage } from "../src/harmony/types.js";
import { InputError } from "../src/model/forward.js";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import { ContextFullError, GptOssError, NonFiniteLogitsError } from "../src/util/errors.js";
import { DECODE_PROMPT, DEV_CKPT, GOLDEN_DECODE, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the dev checkpoint with `patch` applied to the bytes of one tensor (and to the config). */
function patchedCheckpoint(name: string, tensor: string | null, patch: (bytes: Uint8Array) => void, config: Record<string, unknown> = {}): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const json = JSON.parse(readFileSync(join(DEV_CKPT, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...json, ...config }));
  const file = join(dir, "model.safetensors");
  copyFileSync(join(DEV_CKPT, "model.safetensors"), file);
  if (tensor) {
    const f = SafetensorsFile.open(file);
    const { offset, byteLength } = f.get(tensor);
    f.close();
    const all = readFileSync(file);
    patch(all.subarray(offset, offset + byteLength));
    writeFileSync(file, all);
  }
  return dir;
}

/** bf16 NaN, little-endian, at element `i` of a bf16 tensor. */
const bf16NaN = (i: number) => (b: Uint8Array) => b.set([0xc0, 0x7f], 2 * i);

async function drain<T, R>(gen: AsyncGenerator<T, R>): Promise<{ items: T[]; result: R }> {
  const items: T[] = [];
  for (;;) {
    const r = await gen.next();
    if (r.done) return { items, result: r.value };
    items.push(r.value);
  }
}

let model: GptOssModel;
beforeAll(async () => {
  model = await loadModel(DEV_CKPT);
});

describe("the generation loop", () => {
  it("model.generate returns why it stopped, and its tokens are the reference's greedy decode", async () => {
    const { items, result } = await drain(model.generate(DECODE_PROMPT, { temperature: 0, maxTokens: 16 }));
    expect(items.map((t) => t.token)).toEqual(GOLDEN_DECODE);
    expect(result).toEqual({ stopReason: "max_tokens", tokens: GOLDEN_DECODE, promptTokens: 12, reusedTokens: 0 } satisfies GenerationResult);
    const stopped = await drain(model.generate(DECODE_PROMPT, { temperature: 0, maxTokens: 16, stopTokens: [GOLDEN_DECODE[2]] }));
    expect(stopped.result).toMatchObject({ stopReason: "stop_token", tokens: GOLDEN_DECODE.slice(0, 3) });
  });

  it("runs the prompt in bounded chunks, only the last with logits, and notices an abort between chunks", () => {
    const calls: [number, string][] = [];
    const cache = model.newCache();
    const forward = (t: readonly number[], logits: "last" | "none") => (calls.push([t.length, logits]), model.transformer.forward(t, cache, { logits }));
    const prompt = Array.from({ length: 150 }, (_, i) => (i * 7) % 1000);
    const result = runToEnd(generation(cache, forward, prompt, { temperature: 0, maxTokens: 2 }));
    expect(calls).toEqual([[64, "none"], [64, "none"], [22, "last"], [1, "last"]]);
    expect(result.tokens).toHaveLength(2);
    // the same tokens as one prefill of the whole prompt
    const one = model.newCache();
    const whole = runToEnd(generation(one, (t, l) => model.transformer.forward(t, one, { logits: l }), prompt, { temperature: 0, maxTokens: 2, prefillChunk: 1000 }));
    expect(whole.tokens).toEqual(result.tokens);

    const controller = new AbortController();
    const fresh = model.newCache();
    const steps = generation(fresh, (t, l) => model.transformer.forward(t, fresh, { logits: l }), prompt, { maxTokens: 2, signal: controller.signal });
    expect(steps.next().value).toEqual({ type: "prefill", done: 64, total: 150 });
    controller.abort();
    expect(steps.next()).toMatchObject({ done: true, value: { stopReason: "aborted", tokens: [] } });
    expect(fresh.length).toBe(64);
  });

  it("step hooks can mask the logits before sampling, see each token, and stop", async () => {
    const seen: { token: number; index: number; position: number }[] = [];
    const force: StepHook = {
      beforeSample(logits, step) {
        const keep = 100 + step.index; // only this token is allowed
        for (let i = 0; i < logits.length; i++) if (i !== keep) logits[i] = -Infinity;
      },
      onToken(token, step) {
        seen.push({ token, index: step.index, position: step.position });
        return token === 102 ? "stop" : undefined;
      },
    };
    const { items, result } = await drain(model.generate([1, 2, 3], { temperature: 1, seed: 5, maxTokens: 10, stepHooks: [force] }));
    expect(items.map((t) => t.token)).toEqual([100, 101, 102]);
    expect(seen).toEqual([{ token: 100, index: 0, position: 3 }, { token: 101, index: 1, position: 4 }, { token: 102, index: 2, position: 5 }]);
    expect(result.stopReason).toBe("hook");
    const banAll: StepHook = { beforeSample: (logits) => void logits.fill(-Infinity) };
    await expect(drain(model.generate([1, 2, 3], { stepHooks: [banAll] }))).rejects.toThrow(/every token is ruled out.*before generated token 0/);
  });
});

describe("sessions", () => {
  it("two sessions on one model share nothing; each reuses its own cache", async () => {
    const a = model.createSession(), b = new Session(model);
    const greedy = { temperature: 0, maxTokens: 4 };
    const pa = Array.from({ length: 20 }, (_, i) => (i * 37 + 11) % 1000);
    const pb = Array.from({ length: 20 }, (_, i) => (i * 53 + 7) % 1000);
    const outA = (await drain(a.generate(pa, greedy))).items.map((t) => t.token);
    const outB = (await drain(b.generate(pb, greedy))).items.map((t) => t.token);
    expect(a.tokens).toEqual([...pa, ...outA.slice(0, -1)]);
    expect(b.tokens).toEqual([...pb, ...outB.slice(0, -1)]);
    // a's next turn extends its own history: reused, and the same tokens as a fresh generation
    const next = [...pa, ...outA, 9, 8, 7];
    const { items, result } = await drain(a.generate(next, greedy));
    expect(result.reusedTokens).toBe(pa.length + outA.length - 1);
    expect(items.map((t) => t.token)).toEqual((await drain(model.generate(next, greedy))).items.map((t) => t.token));
    // b was not touched by a's turns
    expect(b.tokens).toEqual([...pb, ...outB.slice(0, -1)]);
    expect((await drain(b.generate([...pb, ...outB], greedy))).result.reusedTokens).toBe(pb.length + outB.length - 1);
  });

  it("chat(model, ...) keeps no state between calls; a session given to chat keeps its cache", async () => {
    const dir = join(tmp, "tiny");
    await synthesize({ preset: "tiny", outDir: dir, seed: 3 });
    const tiny = await loadModel(dir);
    const done = async (events: AsyncIterable<ChatEvent>) => {
      let d: ChatDone | undefined;
      for await (const e of events) if (e.type === "done") d = e;
      return d!;
    };
    const convo = [textMessage("user", "Hello there")];
    const options = { temperature: 0, maxTokens: 3, date: null };
    const first = await done(chat(tiny, convo, options));
    const second = await done(tiny.chat(convo, options));
    expect([first.reusedPromptTokens, second.reusedPromptTokens]).toEqual([0, 0]);
    expect(second.tokens).toEqual(first.tokens);
    const session = tiny.createSession();
    expect((await done(chat(session, convo, options))).reusedPromptTokens).toBe(0);
    const again = await done(chat(session, convo, options));
    expect(again.reusedPromptTokens).toBe(again.promptTokens - 1);
    expect(again.tokens).toEqual(first.tokens);
    tiny.dispose();
  });
});

describe("non-finite values", () => {
  it("a NaN in the unembedding stops generation with an error naming the position and step", async () => {
    // row 5 of lm_head: the logit of token 5 is NaN at every position
    const dir = patchedCheckpoint("nan-unembedding", "lm_head.weight", bf16NaN(5 * 64 + 3));
    const bad = await loadModel(dir);
    for (const temperature of [0, 1]) {
      const err = await drain(bad.generate([1, 2, 3], { temperature, seed: 1, maxTokens: 4 })).catch((e) => e);
      expect(err).toBeInstanceOf(NonFiniteLogitsError);
      expect(err).toBeInstanceOf(GptOssError);
      expect(err.message).toBe("the model's logits at position 2 hold NaN at token id 5 (before generated token 0): the weights or the computation produced NaN or Infinity, so nothing can be sampled");
      expect([err.position, err.step]).toEqual([2, 0]);
    }
  });

  it("the sampler never turns a NaN into a greedy pick", () => {
    const logits = new Float32Array([0.5, NaN, 2, 1]);
    expect(() => new Sampler({ temperature: 1, seed: 1 }).sample(logits)).toThrow(NonFiniteLogitsError);
    expect(() => new Sampler({ temperature: 0 }).sample(logits)).toThrow(/NaN at token id 1/);
    expect(() => new Sampler({ topK: 2 }).sample(new Float32Array([Infinity, 0]))).toThrow(/Infinity at token id 0/);
    expect(new Sampler({ temperature: 0 }).sample(new Float32Array([-Infinity, 3, -Infinity]))).toBe(1);
  });

  it("load refuses NaN in a widened vector and the E8M0 scale byte 0xFF, naming the tensor", async () => {
    const vector = patchedCheckpoint("nan-sinks", "model.layers.2.self_attn.sinks", bf16NaN(6));
    const e1 = await loadModel(vector).catch((e) => e);
    expect(e1).toBeInstanceOf(CheckpointError);
    expect(e1.message).toMatch(/model\.safetensors: tensor "model\.layers\.2\.self_attn\.sinks" holds NaN at element 6; weights must be finite$/);
    const scales = patchedCheckpoint("nan-scale", "model.layers.1.mlp.experts.down_proj_scales", (b) => void (b[3 * 64 * 3 + 5 * 3 + 2] = 0xff));
    for (const backend of ["ts", "wasm"] as const) {
      const e2 = await loadModel(scales, { backend }).catch((e) => e);
      expect(e2).toBeInstanceOf(CheckpointError);
      expect(e2.message).toMatch(/tensor "model\.layers\.1\.mlp\.experts\.down_proj_scales" has the scale byte 0xFF \(NaN in E8M0\) at expert 3, row 5, block 2/);
    }
  });
});

describe("context length", () => {
  it("loadModel's contextLength is enforced: generate stops at it with context_full, longer input is refused", async () => {
    const small = await loadModel(DEV_CKPT, { contextLength: 20 });
    expect(small.contextLength).toBe(20);
    const { items, result } = await drain(small.generate(DECODE_PROMPT, { temperature: 0, maxTokens: 100 }));
    expect(items.map((t) => t.token)).toEqual(GOLDEN_DECODE.slice(0, 8));
    expect(result.stopReason).toBe("context_full");
    expect(() => small.forward(Array.from({ length: 21 }, () => 1))).toThrow(InputError);
    expect(() => small.forward(Array.from({ length: 21 }, () => 1))).toThrow(/context of 21 tokens exceeds the context length of 20/);
    await expect(drain(small.generate(Array.from({ length: 20 }, () => 1)))).rejects.toThrow(ContextFullError);
    expect(small.createSession().contextLength).toBe(20);
    // the full layers' caches never grow past it
    const cache = small.newCache();
    small.transformer.forward(Array.from({ length: 20 }, () => 1), cache, { logits: "none" });
    expect(Math.max(...cache.layers.map((l) => l.capacity))).toBeLessThanOrEqual(20);
    await expect(loadModel(DEV_CKPT, { contextLength: 200_000 })).rejects.toThrow(/contextLength must be an integer from 1 to the model's limit of 131072/);
  });
});
