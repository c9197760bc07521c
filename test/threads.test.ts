// Worker threads: a call split across threads gives the same bits as one thread (every output row is
// computed by one thread with the same code), on the dev checkpoint and on a synthetic model, in both
// precisions, across several memories; disposing stops them and the model keeps working.
import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKernels } from "../src/backends/index.js";
import { WasmKernels } from "../src/backends/wasm/backend.js";
import { loadModel, type GptOssModel, type LoadOptions } from "../src/model/model.js";
import { synthesize } from "../src/checkpoint/synth.js";
import { DEV_CKPT, DECODE_PROMPT, logitsTrail, sameBits, tempDir } from "./helpers.js";

const run = logitsTrail;

const models: GptOssModel[] = [];
async function load(dir: string, options: Parameters<typeof createKernels>[1], extra: LoadOptions = {}): Promise<GptOssModel> {
  // parallelMinBytes 0: split every call, however small (these models are tiny)
  const model = await loadModel(dir, { ...extra, kernels: await createKernels("wasm", { parallelMinBytes: 0, ...options }) });
  models.push(model);
  return model;
}
afterAll(() => models.forEach((m) => m.dispose()));

const SEQ = [410, 664, 47, 164, 663, 868, 985, 687, 404, 508, 758, 52, 3, 99, 1000, 5, 17, 300, 301, 302];

describe("kernel worker threads", () => {
  it("dev checkpoint: 1, 2 and 3 threads give identical logits (prefill and decode), exact and fast", async () => {
    for (const precision of ["exact", "fast"] as const) {
      const one = run(await load(DEV_CKPT, { threads: 1, precision }), SEQ, DECODE_PROMPT, 10);
      const two = await load(DEV_CKPT, { threads: 2, precision });
      expect((two.kernels as WasmKernels).threads).toBe(2);
      expect(sameBits(run(two, SEQ, DECODE_PROMPT, 10), one)).toBe(true);
      expect(sameBits(run(await load(DEV_CKPT, { threads: 3, precision }), SEQ, DECODE_PROMPT, 10), one)).toBe(true);
    }
  });

  it("threads and several memories together: identical to one thread in one memory", async () => {
    const one = run(await load(DEV_CKPT, { threads: 1 }), SEQ, DECODE_PROMPT, 6);
    const model = await load(DEV_CKPT, { threads: 2, weightBytesPerMemory: 200_000 });
    expect((model.kernels as WasmKernels).memories.heaps.length).toBeGreaterThanOrEqual(4);
    expect(sameBits(run(model, SEQ, DECODE_PROMPT, 6), one)).toBe(true);
  });

  it("dispose() stops the workers; the model still runs, on one thread, with the same results", async () => {
    const model = await load(DEV_CKPT, { threads: 2 });
    const before = run(model, SEQ, DECODE_PROMPT, 3);
    model.dispose();
    expect((model.kernels as WasmKernels).threads).toBe(1);
    expect(sameBits(run(model, SEQ, DECODE_PROMPT, 3), before)).toBe(true);
    model.dispose(); // twice is fine
  });

  it("the streaming read probe sums the same on any number of threads", async () => {
    const k1 = await createKernels("wasm", { threads: 1 }) as WasmKernels;
    const k2 = await createKernels("wasm", { threads: 2 }) as WasmKernels;
    for (const k of [k1, k2]) {
      const b = k.allocator.allocate(4 * 10_000, "probe");
      new Float32Array(b.buffer, b.byteOffset, 10_000).fill(0.5);
      expect(k.streamSum(b)).toBe(5000);
    }
    k2.dispose();
  });

  it("bad thread counts are refused clearly", async () => {
    await expect(createKernels("wasm", { threads: 0 })).rejects.toThrow(/threads must be a whole number >= 1, got 0/);
    await expect(createKernels("wasm", { threads: 1.5 })).rejects.toThrow(/threads must be a whole number/);
    await expect(loadModel(DEV_CKPT, { threads: -1 })).rejects.toThrow(/threads must be a whole number/);
  });

  describe("synthetic model (tiny preset: the real vocabulary, 2880-wide unembedding rows)", () => {
    let dir: string;
    beforeAll(async () => {
      dir = tempDir("gpt-oss-threads-");
      await synthesize({ preset: "tiny", outDir: dir });
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("1 vs 2 threads: identical logits, prefill and decode", async () => {
      const seq = [200006, 17, 9000, 123456, 5, 200008, 77, 88];
      const one = run(await load(dir, { threads: 1 }), seq, seq.slice(0, 5), 4);
      const two = run(await load(dir, { threads: 2, parallelMinBytes: 256 << 10 }), seq, seq.slice(0, 5), 4); // the default split rule
      expect(sameBits(two, one)).toBe(true);
      const all = run(await load(dir, { threads: 2 }), seq, seq.slice(0, 5), 4);
      expect(sameBits(all, one)).toBe(true);
    });
  });
});
