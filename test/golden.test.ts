// Parity with the official PyTorch reference (float32 run) on the dev checkpoint: every intermediate
// within 1e-4 + 1e-4|g|, expert choices identical, and the greedy decode identical with the KV cache.
import { describe, expect, it } from "vitest";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import { referenceKernels } from "../src/backends/reference.js";
import { Transformer } from "../src/model/forward.js";
import { Rope } from "../src/model/rope.js";
import { argmax } from "../src/generation/sampling.js";
import { DECODE_PROMPT, DEV_CKPT, GOLDEN_DECODE, goldenF32, goldenFloat, goldenIds, readTensor, toleranceRatio } from "./helpers.js";

const ckpt = Checkpoint.open(DEV_CKPT);
const model = new Transformer(ckpt.config, ckpt.load(), referenceKernels);
ckpt.close();

describe("golden parity (reference kernels, f32)", () => {
  for (const seq of ["seq0", "seq1", "seq2", "seq3"]) {
    it(`${seq}: every intermediate within tolerance, top-k identical`, () => {
      const ids = goldenIds(seq);
      const seen = new Map<string, number>();
      const logits = model.forward(ids, model.newCache(), {
        logits: "all",
        observe(name, layer, data, width) {
          const key = layer >= 0 ? `${seq}.layer${layer}.${name}` : `${seq}.${name}`;
          if (!goldenF32().tensors.has(key)) return;
          const ref = readTensor(goldenF32(), key);
          expect(ref.length).toBe(ids.length * width);
          if (name === "topk_idx") {
            expect(Array.from(data.subarray(0, ref.length)), key).toEqual(Array.from(ref));
            seen.set(key, 0);
          } else {
            const r = toleranceRatio(data, ref);
            expect(r, key).toBeLessThanOrEqual(1);
            seen.set(key, r);
          }
        },
      });
      expect(toleranceRatio(logits, goldenFloat(`${seq}.logits`))).toBeLessThanOrEqual(1);
      // 1 embedding + 11 per layer + final norm + logits, all compared
      expect(seen.size).toBe(1 + 11 * ckpt.config.numLayers + 2);
    });
  }

  it("YaRN inverse frequencies and cos/sin tables", () => {
    const rope = new Rope(ckpt.config.headDim, ckpt.config.rope);
    expect(toleranceRatio(rope.invFreq, goldenFloat("rope.inv_freq"))).toBeLessThanOrEqual(0.01);
    expect(rope.concentration).toBeCloseTo(goldenFloat("rope.concentration")[0], 6);
    const n = goldenFloat("rope.cos").length / (ckpt.config.headDim / 2);
    const cos = new Float32Array(goldenFloat("rope.cos").length), sin = new Float32Array(cos.length);
    rope.table(0, n, cos, sin);
    expect(toleranceRatio(cos, goldenFloat("rope.cos"))).toBeLessThanOrEqual(0.1);
    expect(toleranceRatio(sin, goldenFloat("rope.sin"))).toBeLessThanOrEqual(0.1);
  });

  it("greedy decode with the KV cache reproduces the reference's 16 tokens and per-step logits", () => {
    const cache = model.newCache();
    const stepLogits = goldenFloat("seq3.logits");
    const V = ckpt.config.vocabSize;
    let logits = model.forward(DECODE_PROMPT, cache);
    const out: number[] = [];
    for (let i = 0; i < GOLDEN_DECODE.length; i++) {
      // decode step i's logits are seq3.logits row 11 + i
      const row = stepLogits.subarray((DECODE_PROMPT.length - 1 + i) * V, (DECODE_PROMPT.length + i) * V);
      expect(toleranceRatio(logits, row), `step ${i}`).toBeLessThanOrEqual(1);
      out.push(argmax(logits));
      logits = model.forward([out[i]], cache);
    }
    expect(out).toEqual(GOLDEN_DECODE);
  });
});
