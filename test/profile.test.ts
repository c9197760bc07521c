// The per-operation profiler: timing wrapper that changes nothing, and shares that account for the
// measured total.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { run as profileCommand } from "../src/cli/profile.js";
import { Transformer } from "../src/model/forward.js";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import { formatProfile, OpTimer, OPS, profileModel, type Profile } from "../src/perf/profile.js";
import { DEV_CHECKPOINT } from "./golden.js";

let model: GptOssModel;
beforeAll(async () => {
  model = await loadModel(DEV_CHECKPOINT);
});
afterEach(() => vi.restoreAllMocks());

function expectSharesAddUp(p: Profile): void {
  for (const ph of [p.prefill, p.decode]) {
    const total = ph.ops.reduce((s, r) => s + r.share, 0);
    expect(Math.abs(total - 1), `${ph.phase}: shares sum to ${total}`).toBeLessThanOrEqual(0.05);
    const timed = ph.ops.filter((r) => r.op !== "other").reduce((s, r) => s + r.ms, 0);
    expect(timed, `${ph.phase}: timed operations fit inside the measured total`).toBeLessThanOrEqual(ph.totalMs * 1.05);
    expect(ph.ops.at(-1)!.op).toBe("other");
  }
}

describe("profile", () => {
  it("the timing wrapper delegates: same logits as the plain kernels", () => {
    const timer = new OpTimer(model.kernels, model.transformer.weights);
    const timed = new Transformer(model.config, model.transformer.weights, timer.kernels);
    const ids = [3, 492, 827, 960, 545, 250, 126];
    expect(timed.forward(ids, timed.newCache(), { logits: "all" })).toEqual(model.forward(ids));
    expect(timer.kernels.name).toBe(`${model.kernels.name}+timing`);
    expect(timer.tally.get("experts")!.calls).toBeGreaterThan(0);
  });

  it("per-operation shares add up to the measured total, for prefill and decode", () => {
    const p = profileModel(model, { promptTokens: 16, genTokens: 6 });
    const c = model.config;
    expectSharesAddUp(p);
    expect(p.prefill.tokens).toBe(16);
    expect(p.decode.tokens).toBe(6);
    const calls = (ph: "prefill" | "decode", op: string) => p[ph].ops.find((r) => r.op === op)!.calls;
    for (const op of OPS.filter((o) => o !== "lora")) expect(calls("prefill", op), op).toBeGreaterThan(0); // lora: with adapters only
    expect(calls("prefill", "attention")).toBe(c.numLayers); // one call per layer for the whole prompt
    expect(calls("decode", "attention")).toBe(6 * c.numLayers);
    expect(calls("prefill", "sampling")).toBe(1);
    expect(calls("decode", "sampling")).toBe(6);
    expect(calls("decode", "qkv")).toBe(6 * c.numLayers);
    expect(calls("decode", "unembedding")).toBe(6);
    for (const r of p.decode.ops) {
      if (["qkv", "attn_out", "experts", "unembedding"].includes(r.op)) {
        expect(r.gbPerS, r.op).toBeGreaterThan(0);
        expect(r.gflopPerS, r.op).toBeGreaterThan(0);
      }
    }
    const text = formatProfile(p);
    expect(text).toMatch(/prefill: 16 tokens/);
    expect(text).toMatch(/other \(model glue\)/);
  });

  it("`profile --json` prints the profile", async () => {
    const out: string[] = [];
    vi.spyOn(console, "log").mockImplementation((s: string) => void out.push(s));
    expect(await profileCommand(["--model", DEV_CHECKPOINT, "--prompt-tokens", "8", "--gen-tokens", "3", "--threads", "2", "--json"])).toBe(0);
    const p = JSON.parse(out.join("\n")) as Profile;
    expect(p.promptTokens).toBe(8);
    expect(p.decode.tokens).toBe(3);
    expectSharesAddUp(p);
    // the wasm kernels by default, as someone profiling wants; the header says what ran
    expect(p).toMatchObject({ backend: "wasm", precision: "exact", threads: 2 });
    expect(p.simd).toMatch(/^(simd128|relaxed-simd)$/);
    out.length = 0;
    expect(await profileCommand(["--model", DEV_CHECKPOINT, "--prompt-tokens", "4", "--gen-tokens", "1", "--threads", "2", "--precision", "fast"])).toBe(0);
    expect(out.join("\n").split("\n")[0]).toMatch(/^backend wasm \((simd128|relaxed-simd) build\), precision fast, 2 threads; 4 prompt tokens, 1 decode steps$/);
    expect(formatProfile(profileModel(model, { promptTokens: 2, genTokens: 1 })).split("\n")[0]).toMatch(/^backend \w+.*, precision exact, \d+ threads?; 2 prompt tokens/);
  });
});
