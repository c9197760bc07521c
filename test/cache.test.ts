// The KV cache: decoding one token at a time equals recomputing the whole sequence, past the sliding
// window (sliding layers keep a ring of `sliding_window` rows), and prefill in chunks equals one prefill.
import { describe, expect, it } from "vitest";
import { loadModel } from "../src/model/model.js";
import { DEV_CKPT, maxAbsDiff } from "./helpers.js";

const model = await loadModel(DEV_CKPT);
const V = model.config.vocabSize;
const seq = Array.from({ length: 40 }, (_, i) => (i * 389 + 17) % V);

describe("KV cache", () => {
  const full = model.forward(seq); // [40, V], recomputed from scratch

  it("cache == recompute for 40 tokens (window is 8)", () => {
    expect(seq.length).toBeGreaterThan(4 * model.config.slidingWindow);
    const cache = model.newCache();
    for (let t = 0; t < seq.length; t++) {
      const step = model.transformer.forward([seq[t]], cache);
      expect(maxAbsDiff(step, full.subarray(t * V, (t + 1) * V)), `position ${t}`).toBeLessThan(1e-4);
    }
    expect(cache.length).toBe(40);
    // sliding layers never hold more than the window
    const sliding = cache.layers.filter((l) => l.sliding);
    expect(sliding.length).toBeGreaterThan(0);
    for (const l of sliding) expect(l.capacity).toBe(model.config.slidingWindow);
  });

  it("prefill in uneven chunks == one prefill", () => {
    const cache = model.newCache();
    let at = 0;
    for (const n of [5, 1, 13, 2, 19]) {
      const logits = model.transformer.forward(seq.slice(at, at + n), cache, { logits: "all" });
      expect(maxAbsDiff(logits, full.subarray(at * V, (at + n) * V))).toBeLessThan(1e-4);
      at += n;
    }
  });

  it("full layers grow past their initial capacity", () => {
    const cache = model.newCache();
    const start = cache.layers.find((l) => !l.sliding)!.capacity;
    const long = Array.from({ length: start + 3 }, (_, i) => (i * 7) % V);
    model.transformer.forward(long, cache, { logits: "none" });
    expect(cache.layers.find((l) => !l.sliding)!.capacity).toBeGreaterThanOrEqual(start + 3);
  });
});
