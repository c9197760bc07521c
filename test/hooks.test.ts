// Interventions through trace hooks: each must do exactly what it says to the forward pass.
import { beforeAll, describe, expect, it } from "vitest";
import type { LayerWeights, ModelWeights, Mxfp4Experts } from "../src/checkpoint/weights.js";
import { Transformer } from "../src/model/forward.js";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import { banExperts, forceExperts, zeroExpertOutput, zeroHeads } from "../src/trace/hooks.js";
import { traceForward } from "../src/trace/trace.js";
import { DEV_CHECKPOINT, Golden, mismatch } from "./golden.js";

let model: GptOssModel;
const golden = new Golden();
const ids = Array.from(golden.i32("seq2.input_ids"));
beforeAll(async () => {
  model = await loadModel(DEV_CHECKPOINT);
});

/** Residuals and router only: attention probabilities and the lens are not what these tests look at. */
const LIGHT = { attention: false, lens: false } as const;
const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe("hooks", () => {
  it("zeroing every expert's output gives the logits of a model whose expert weights are zero", async () => {
    // A second copy of the weights with every MXFP4 code 0 (= +0.0; scales then do not matter) and zero biases.
    const copy = await loadModel(DEV_CHECKPOINT);
    const zero = (m: Mxfp4Experts) => m.blocks.fill(0);
    for (const l of copy.transformer.weights.layers as LayerWeights[]) {
      zero(l.mlp1);
      zero(l.mlp2);
      l.mlp1Bias.fill(0);
      l.mlp2Bias.fill(0);
    }
    const zeroed = new Transformer(copy.config, copy.transformer.weights as ModelWeights, copy.kernels);
    const expected = zeroed.forward(ids, zeroed.newCache(), { logits: "all" });

    const { logits, trace } = traceForward(model, ids, { ...LIGHT, hooks: [zeroExpertOutput()] });
    expect(mismatch(logits, expected, 1e-6, 1e-6)).toBeNull();
    for (const lt of trace.layers) expect(lt.residual).toEqual(lt.attentionResidual);
    // ...and the intervention matters: the untouched model's logits are far away.
    expect(maxAbsDiff(traceForward(model, ids, LIGHT).logits, expected)).toBeGreaterThan(0.1);
  });

  it("zeroHeads silences a head before the output projection", () => {
    const d = model.config.headDim, nq = model.config.numHeads, w = model.transformer.weights;
    const { trace, logits } = traceForward(model, ids, { ...LIGHT, hooks: [zeroHeads([2, 5], 1)] });
    const base = traceForward(model, ids, LIGHT);
    const ctx = trace.layers[1].attentionOutput!;
    for (let t = 0; t < ids.length; t++) {
      for (let h = 0; h < nq; h++) {
        const head = ctx.subarray(t * nq * d + h * d, t * nq * d + (h + 1) * d);
        if (h === 2 || h === 5) expect(head.every((x) => x === 0)).toBe(true);
        else expect(head.some((x) => x !== 0)).toBe(true);
      }
    }
    expect(trace.layers[0].residual).toEqual(base.trace.layers[0].residual); // earlier layers untouched
    expect(maxAbsDiff(logits, base.logits)).toBeGreaterThan(1e-3);

    // Every head silenced: the attention block adds only its output bias.
    const all = traceForward(model, ids, { ...LIGHT, hooks: [zeroHeads(Array.from({ length: nq }, (_, h) => h), 0)] }).trace;
    const H = model.config.hiddenSize, bias = w.layers[0].outBias;
    const want = all.embedding!.map((x, i) => x + bias[i % H]);
    expect(mismatch(all.layers[0].attentionResidual!, want, 1e-6, 1e-6)).toBeNull();
  });

  it("banExperts keeps the router away from the banned experts", () => {
    const { trace } = traceForward(model, ids, { ...LIGHT, hooks: [banExperts([0, 3], [1, 2])] });
    const base = traceForward(model, ids, LIGHT).trace;
    expect(base.layers[1].router!.load[0] + base.layers[1].router!.load[3]).toBeGreaterThan(0);
    for (const lt of trace.layers) {
      const banned = lt.layer === 1 || lt.layer === 2;
      expect(lt.router!.load[0] === 0 && lt.router!.load[3] === 0).toBe(banned);
      const w = lt.router!.weights, k = model.config.expertsPerToken;
      for (let t = 0; t < ids.length; t++) expect(w.subarray(t * k, (t + 1) * k).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 6);
    }
    expect(() => traceForward(model, ids, { ...LIGHT, hooks: [banExperts([0, 1, 2, 3, 4])] })).toThrow(/fewer than the 4/);
  });

  it("forceExperts routes every token to the given experts, weighted by their router logits", () => {
    const forced = [6, 1, 4, 2], E = model.config.numExperts, k = model.config.expertsPerToken;
    const { trace, logits } = traceForward(model, ids, { ...LIGHT, hooks: [forceExperts(forced, 3)] });
    const r = trace.layers[3].router!;
    for (let t = 0; t < ids.length; t++) {
      expect(Array.from(r.experts.subarray(t * k, (t + 1) * k))).toEqual(forced);
      const z = forced.map((e) => r.logits[t * E + e]), m = Math.max(...z);
      const sum = z.reduce((s, x) => s + Math.exp(x - m), 0);
      forced.forEach((e, j) => expect(r.weights[t * k + j]).toBeCloseTo(Math.exp(z[j] - m) / sum, 6));
    }
    expect(Array.from(r.load)).toEqual([0, ids.length, ids.length, 0, ids.length, 0, ids.length, 0]);
    expect(maxAbsDiff(logits, traceForward(model, ids, LIGHT).logits)).toBeGreaterThan(1e-3);

    // Forcing the experts the router chose anyway changes nothing.
    const t0 = traceForward(model, [5], LIGHT).trace.layers[0].router!;
    const same = traceForward(model, [5], { ...LIGHT, hooks: [forceExperts(Array.from(t0.experts), 0)] });
    expect(same.logits).toEqual(traceForward(model, [5], LIGHT).logits);
  });
});
