// The tracing API against the reference goldens of the dev checkpoint: what it records must be what
// the reference computed, attention probabilities must be a distribution (with the sink) that
// reproduces the attention output, and a traced decode with a KV cache must line up with a prefill.
import { beforeAll, describe, expect, it } from "vitest";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import { applyAttention } from "../src/trace/attention.js";
import { traceForward, traceGenerate, Tracer, type Trace } from "../src/trace/trace.js";
import { DEV_CHECKPOINT, Golden, META, mismatch } from "./golden.js";

let model: GptOssModel;
const golden = new Golden();
beforeAll(async () => {
  model = await loadModel(DEV_CHECKPOINT);
});

const rows = (a: Float32Array, width: number, t: number) => a.subarray(t * width, (t + 1) * width);

/** Every traced quantity the goldens have, for sequence `seq`. */
function expectMatchesGolden(trace: Trace, seq: string): void {
  const c = trace.config;
  expect(trace.tokens).toEqual(Array.from(golden.i32(`${seq}.input_ids`)));
  expect(mismatch(trace.embedding!, golden.f32(`${seq}.embedding`)), "embedding").toBeNull();
  for (const lt of trace.layers) {
    const key = (name: string) => `${seq}.layer${lt.layer}.${name}`;
    expect(mismatch(lt.attentionOutput!, golden.f32(key("attn_ctx"))), key("attn_ctx")).toBeNull();
    expect(mismatch(lt.attentionResidual!, golden.f32(key("attn_resid"))), key("attn_resid")).toBeNull();
    expect(mismatch(lt.residual!, golden.f32(key("block_out"))), key("block_out")).toBeNull();
    expect(mismatch(lt.router!.logits, golden.f32(key("router_logits"))), key("router_logits")).toBeNull();
    expect(Array.from(lt.router!.experts), key("topk_idx")).toEqual(Array.from(golden.i32(key("topk_idx"))));
    expect(mismatch(lt.router!.weights, golden.f32(key("topk_w"))), key("topk_w")).toBeNull();
    const load = new Array(c.numExperts).fill(0);
    for (const e of golden.i32(key("topk_idx"))) load[e]++;
    expect(Array.from(lt.router!.load), key("load")).toEqual(load);
  }
}

/** Sums to 1 with the sink, zero where masked, and times V gives the attention output. Golden rows are
 * absolute positions, so a trace that starts on a filled cache compares with rows startPosition.. */
function expectAttentionConsistent(trace: Trace, seq: string): void {
  const c = trace.config, T = trace.tokens.length, nq = c.numHeads, d = c.headDim;
  const qw = nq * d, kvw = c.numKvHeads * d, p0 = trace.startPosition;
  for (const lt of trace.layers) {
    const a = lt.attention!;
    expect(a.keys).toBe(p0 + T);
    expect(a.window).toBe(lt.type === "sliding_attention" ? c.slidingWindow : null);
    let worst = 0;
    const bad: string[] = [];
    for (let t = 0; t < T; t++) {
      const pos = p0 + t;
      for (let h = 0; h < nq; h++) {
        const row = a.probs.subarray((t * nq + h) * a.keys, (t * nq + h + 1) * a.keys);
        let sum = a.sink[t * nq + h];
        row.forEach((p, k) => {
          const visible = k <= pos && (a.window === null || k > pos - a.window);
          if ((!visible && p !== 0) || !(p >= 0)) bad.push(`layer ${lt.layer} row ${t} head ${h} key ${k}: ${p}`);
          sum += p;
        });
        worst = Math.max(worst, Math.abs(sum - 1));
      }
    }
    expect(bad.slice(0, 3), "masked keys have probability 0, others >= 0").toEqual([]);
    expect(worst, `layer ${lt.layer}: probabilities + sink mass - 1`).toBeLessThan(1e-5);
    // V of position p is columns qw + kvw .. of the golden qkv (bias included; values are not rotated).
    const lqkv = golden.f32(`${seq}.layer${lt.layer}.qkv`);
    const v = (p: number) => rows(lqkv, qw + 2 * kvw, p).subarray(qw + kvw);
    const ctx = applyAttention(a.probs, a.keys, v, T, c);
    const want = golden.f32(`${seq}.layer${lt.layer}.attn_ctx`).subarray(p0 * qw);
    expect(mismatch(ctx, want), `layer ${lt.layer}: probs x V vs attn_ctx`).toBeNull();
  }
}

describe("traceForward", () => {
  for (const seq of ["seq0", "seq1", "seq2"]) {
    it(`${seq}: records what the reference computed`, () => {
      const { trace, logits } = traceForward(model, golden.i32(`${seq}.input_ids`));
      expectMatchesGolden(trace, seq);
      expect(mismatch(logits, golden.f32(`${seq}.logits`)), "logits").toBeNull();
    });

    it(`${seq}: attention probabilities and sink mass sum to 1 and reproduce attn_ctx`, () => {
      const { trace } = traceForward(model, golden.i32(`${seq}.input_ids`));
      expectAttentionConsistent(trace, seq);
    });
  }

  it("the logit lens of the last layer is the model's own prediction", () => {
    const { trace, logits } = traceForward(model, golden.i32("seq1.input_ids"));
    const V = model.config.vocabSize, last = trace.layers[trace.layers.length - 1].lens!;
    expect(last.top).toBe(5);
    for (let t = 0; t < trace.tokens.length; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);
      expect(Array.from(last.ids.subarray(t * 5, t * 5 + 5))).toEqual(order.slice(0, 5));
      const max = row[order[0]];
      const z = row.reduce((s, x) => s + Math.exp(x - max), 0);
      expect(last.probs[t * 5]).toBeCloseTo(1 / z, 6);
      for (let j = 1; j < 5; j++) expect(last.probs[t * 5 + j]).toBeLessThanOrEqual(last.probs[t * 5 + j - 1]);
    }
    expect(trace.embeddingLens!.ids.length).toBe(trace.tokens.length * 5);
  });

  it("keeps only what was asked for", () => {
    const { trace } = traceForward(model, [1, 2, 3], { residuals: false, attention: [1], attentionOutput: false, lens: false });
    expect(trace.embedding).toBeUndefined();
    expect(trace.embeddingLens).toBeUndefined();
    for (const lt of trace.layers) {
      expect(lt.residual).toBeUndefined();
      expect(lt.attentionOutput).toBeUndefined();
      expect(lt.lens).toBeUndefined();
      expect(lt.router!.experts.length).toBe(3 * model.config.expertsPerToken);
      expect(lt.attention !== undefined).toBe(lt.layer === 1);
    }
  });
});

describe("traced decode with a KV cache", () => {
  it("a greedy generation traces the reference's decode sequence, positions offset by the cache", () => {
    const runs = META.runs.f32;
    const { trace, generated } = traceGenerate(model, META.decode_prompt, {}, { maxTokens: 16, temperature: 0 });
    expect(generated).toEqual(runs.decode_tokens);
    // seq3 is the prompt plus the first 15 generated tokens: exactly the rows run through the model.
    expectMatchesGolden(trace, "seq3");
    expectAttentionConsistent(trace, "seq3");
  });

  it("decode steps see the same attention as one prefill of the whole sequence", () => {
    const ids = Array.from(golden.i32("seq3.input_ids"));
    const full = traceForward(model, ids).trace;
    const tracer = new Tracer(model, { lens: false });
    const cache = model.newCache();
    tracer.forward(ids.slice(0, 20), cache);
    for (const id of ids.slice(20)) tracer.forward([id], cache);
    const stepped = tracer.result();
    expect(stepped.tokens).toEqual(ids);
    for (let l = 0; l < full.layers.length; l++) {
      expect(stepped.layers[l].attention!.keys).toBe(ids.length);
      expect(mismatch(stepped.layers[l].attention!.probs, full.layers[l].attention!.probs, 1e-6, 1e-4)).toBeNull();
      expect(mismatch(stepped.layers[l].attention!.sink, full.layers[l].attention!.sink, 1e-6, 1e-4)).toBeNull();
      expect(mismatch(stepped.layers[l].residual!, full.layers[l].residual!)).toBeNull();
    }
  });

  it("a trace can start on a cache that already holds tokens", () => {
    const ids = Array.from(golden.i32("seq2.input_ids"));
    const cache = model.newCache();
    model.transformer.forward(ids.slice(0, 10), cache); // untraced
    const tracer = new Tracer(model, { lens: false });
    tracer.forward(ids.slice(10), cache, "all");
    const trace = tracer.result();
    expect(trace.startPosition).toBe(10);
    expect(trace.tokens).toEqual(ids.slice(10));
    const T = ids.length - 10, nq = model.config.numHeads;
    for (const lt of trace.layers) {
      const g = golden.f32(`seq2.layer${lt.layer}.attn_ctx`).subarray(10 * nq * model.config.headDim);
      expect(mismatch(lt.attentionOutput!, g), `layer ${lt.layer}`).toBeNull();
      expect(lt.attention!.keys).toBe(ids.length);
      expect(lt.attention!.probs.length).toBe(T * nq * ids.length);
    }
    expectAttentionConsistent(trace, "seq2");
  });

  it("refuses a cache it is not following", () => {
    const tracer = new Tracer(model);
    tracer.forward([1, 2], model.newCache());
    expect(() => tracer.forward([3], model.newCache())).toThrow(/position 0 but this trace continues at 2/);
  });
});
