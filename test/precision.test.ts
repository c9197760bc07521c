// `fast` against `exact` (both wasm) on the dev checkpoint: the largest logit difference and how often
// the top-1 token agrees, over the dev sequences and a 64-token greedy decode (the fast model is fed the
// exact model's tokens, so both see the same inputs at every step); with 8-bit activations `fast` also
// reads attention qkv/out and the unembedding from their int8 form. Then the same on a synthetic model
// of gpt-oss-20b's shapes (one layer), loaded as users load it: `fast` converting those matrices in
// place. The tolerances here are the ones README "Precision" and docs/kernels.md document.
//
// The dev model is a stress test: its router's 4th and 5th experts are often nearly tied (margins
// down to 8e-4), so the small error of 8-bit activations (and of the 7-bit int8 form of the attention
// matrices, which feed the router) flips an expert now and then, and a flip moves the logits of that
// position by up to ~1.5. 16-bit activations (the baseline build's default) stay within a few 1e-4 of
// exact.
import { readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import { synthesize } from "../src/checkpoint/synth.js";
import { loadModel } from "../src/model/model.js";
import { sameBits, tempDir } from "./helpers.js";
import type { ModelWeights } from "../src/checkpoint/weights.js";
import type { Kernels } from "../src/backends/kernels.js";
import { WasmKernels } from "../src/backends/wasm/backend.js";
import { chooseSimd } from "../src/backends/wasm/heap.js";
import { Transformer } from "../src/model/forward.js";

const DEV = new URL("./fixtures/dev/", import.meta.url).pathname;
const meta = JSON.parse(readFileSync(DEV + "meta.json", "utf8")) as { sequences: Record<string, number[]>; decode_prompt: number[] };

/** Documented tolerances of `fast` against `exact`, by activation bits. */
export const FAST_TOLERANCE = {
  16: { maxLogitDiff: 2e-3, top1Agreement: 1 },
  8: { maxLogitDiff: 2, top1Agreement: 0.8 },
} as const;

/** The same on the 20b-shaped synthetic model (random weights: logits within about +-5). */
export const FAST_TOLERANCE_20B = { maxLogitDiff: 2, top1Agreement: 0.8 } as const;

const argmax = (v: Float32Array, o: number, n: number) => {
  let b = 0;
  for (let j = 1; j < n; j++) if (v[o + j] > v[o + b]) b = j;
  return b;
};

interface Stats {
  maxDiff: number;
  agree: number;
  count: number;
}

function compare(a: Float32Array, b: Float32Array, V: number, s: Stats): void {
  for (let i = 0; i < a.length; i++) s.maxDiff = Math.max(s.maxDiff, Math.abs(a[i] - b[i]));
  for (let o = 0; o < a.length; o += V) {
    s.count++;
    if (argmax(a, o, V) === argmax(b, o, V)) s.agree++;
  }
}

const relaxed = (() => {
  try {
    return chooseSimd().level === "relaxed-simd";
  } catch {
    return false;
  }
})();
const variants: { simd: "simd128" | "relaxed-simd"; bits: 8 | 16 }[] = [
  { simd: "simd128", bits: 16 },
  { simd: "simd128", bits: 8 },
  ...(relaxed ? [{ simd: "relaxed-simd" as const, bits: 8 as const }] : []),
];

describe.each(variants)("fast vs exact ($simd, $bits-bit activations)", ({ simd, bits }) => {
  let exact: Transformer, fast: Transformer;
  let weights: ModelWeights;
  beforeAll(async () => {
    const k = await WasmKernels.create({ simd, precision: "exact" });
    const ckpt = Checkpoint.open(DEV + "checkpoint");
    weights = ckpt.load({ allocator: k.allocator });
    ckpt.close();
    const build = (kernels: Kernels) => new Transformer(ckpt.config, weights, kernels);
    exact = build(k);
    const fk = k.withPrecision("fast", bits);
    fk.prepare(weights); // 8-bit: int8 forms of qkv, out and the unembedding, beside their bf16
    fast = build(fk);
  });

  it.runIf(bits === 8)("loaded in `fast` (int8 forms in place of bf16): the same logits as the view, and no exact view", async () => {
    const fk = await WasmKernels.create({ simd, precision: "fast", fastBits: 8 });
    const ckpt = Checkpoint.open(DEV + "checkpoint");
    const own = ckpt.load({ allocator: fk.allocator }); // (loadModel's loadAsync: the 20b test below)
    ckpt.close();
    fk.prepare(own);
    for (const m of [...own.layers.flatMap((l) => [l.qkv, l.out]), own.unembedding]) expect(m.data.length).toBe(0);
    expect(own.embedding.data.length).toBe(own.embedding.rows * own.embedding.cols); // gathered, stays bf16
    const inPlace = new Transformer(fast.config, own, fk);
    for (const tokens of Object.values(meta.sequences)) {
      const a = fast.forward(tokens, fast.newCache(), { logits: "all" });
      const b = inPlace.forward(tokens, inPlace.newCache(), { logits: "all" });
      expect(sameBits([a], [b])).toBe(true);
    }
    expect(() => fk.withPrecision("exact")).toThrow(/only in int8/);
    expect(() => new Transformer(fast.config, own, fk.withPrecision("fast", 8)).forward([1, 2], inPlace.newCache())).not.toThrow();
    expect(weights.unembedding.data.length).toBeGreaterThan(0);
  });

  it("within the documented tolerance on the dev sequences and a 64-token greedy decode", () => {
    const V = exact.config.vocabSize;
    const s: Stats = { maxDiff: 0, agree: 0, count: 0 };
    for (const tokens of Object.values(meta.sequences)) {
      const a = exact.forward(tokens, exact.newCache(), { logits: "all" });
      const b = fast.forward(tokens, fast.newCache(), { logits: "all" });
      compare(a, b, V, s);
    }
    const ce = exact.newCache(), cf = fast.newCache();
    let a = exact.forward(meta.decode_prompt, ce), b = fast.forward(meta.decode_prompt, cf);
    for (let i = 0; i < 64; i++) {
      compare(a, b, V, s);
      const next = argmax(a, 0, V); // the exact model's greedy choice drives both
      a = exact.forward([next], ce);
      b = fast.forward([next], cf);
    }
    const tol = FAST_TOLERANCE[bits];
    const agreement = s.agree / s.count;
    console.log(`fast ${simd} ${bits}-bit: max |logit diff| ${s.maxDiff.toFixed(5)}, top-1 agreement ${(100 * agreement).toFixed(1)}% of ${s.count}`);
    expect(s.maxDiff).toBeLessThanOrEqual(tol.maxLogitDiff);
    expect(agreement).toBeGreaterThanOrEqual(tol.top1Agreement);
  });
});

// gpt-oss-20b's shapes (hidden 2880, 64 query heads, 32 experts, the 201,088-token vocabulary), one
// layer, random weights: the widths the int8 forms see in the real model. Loaded as users load it, one
// precision at a time (about 2.9 GB each).
describe.each(variants.filter((v) => v.bits === 8))("fast vs exact on a 20b-shaped synthetic model ($simd)", ({ simd }) => {
  const dir = tempDir("gpt-oss-ts-precision-");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("within the documented tolerance on a prompt and a 32-token greedy decode", async () => {
    await synthesize({ preset: "20b", layers: 1, outDir: dir, seed: 5 });
    let seed = 9;
    const prompt = Array.from({ length: 32 }, () => (seed = (seed * 1103515245 + 12345) % 2147483648) % 200000);
    /** logits of every prompt position, then of each decode step after the prompt (fed `next`) */
    const run = async (precision: "exact" | "fast", next: number[]) => {
      const kernels = await WasmKernels.create({ simd, precision, fastBits: 8 });
      const model = await loadModel(dir, { kernels, contextLength: 64 });
      const out = [model.forward(prompt)];
      const cache = model.newCache();
      let logits = model.transformer.forward(prompt, cache);
      for (let i = 0; i < 32; i++) {
        out.push(logits);
        if (next.length === i) next.push(argmax(logits, 0, logits.length));
        logits = model.transformer.forward([next[i]], cache);
      }
      model.dispose();
      return out;
    };
    const greedy: number[] = [];
    const a = await run("exact", greedy), b = await run("fast", greedy);
    const V = a[1].length, s: Stats = { maxDiff: 0, agree: 0, count: 0 };
    a.forEach((x, i) => compare(x, b[i], V, s));
    const agreement = s.agree / s.count;
    console.log(`fast ${simd} 8-bit, 20b-shaped synthetic: max |logit diff| ${s.maxDiff.toFixed(5)}, top-1 agreement ${(100 * agreement).toFixed(1)}% of ${s.count}`);
    expect(s.maxDiff).toBeLessThanOrEqual(FAST_TOLERANCE_20B.maxLogitDiff);
    expect(agreement).toBeGreaterThanOrEqual(FAST_TOLERANCE_20B.top1Agreement);
  }, 300_000);
});
