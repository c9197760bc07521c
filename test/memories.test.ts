// Weights across several WebAssembly memories: a model spread over small memories (a test cap) runs
// exactly as it does in one memory, every layer stays whole in one memory, and what cannot be placed is
// refused with a clear error.
import { afterAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import { createKernels } from "../src/backends/index.js";
import { WasmKernels } from "../src/backends/wasm/backend.js";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import { DEV_CKPT, DECODE_PROMPT, logitsTrail, sameBits } from "./helpers.js";

const SEQ = [410, 664, 47, 164, 663, 868, 985, 687, 404, 508, 758, 52, 3, 99, 1000, 5, 17];

/** Logits of every position of SEQ, then 12 greedy decode steps' logits. */
const run = (model: GptOssModel) => logitsTrail(model, SEQ, DECODE_PROMPT, 12);

const models: GptOssModel[] = [];
async function load(options: Parameters<typeof createKernels>[1]): Promise<GptOssModel> {
  const model = await loadModel(DEV_CKPT, { kernels: await createKernels("wasm", options) });
  models.push(model);
  return model;
}
afterAll(() => models.forEach((m) => m.dispose()));

describe("weights across several WebAssembly memories", () => {
  it("the dev checkpoint split over small memories gives the same logits as one memory, bit for bit", async () => {
    const one = await load({ threads: 1 });
    const split = await load({ threads: 1, weightBytesPerMemory: 200_000 });
    const memories = (split.kernels as WasmKernels).memories;
    expect((one.kernels as WasmKernels).memories.heaps.length).toBe(1);
    expect(memories.heaps.length).toBeGreaterThanOrEqual(4);
    for (const h of memories.heaps.slice(1)) expect(h.used).toBeLessThanOrEqual(200_000);
    expect(sameBits(run(split), run(one))).toBe(true);
  });

  it("keeps each layer (matrices, expert blocks, scales, biases) in one memory", async () => {
    const model = await load({ threads: 1, weightBytesPerMemory: 200_000 });
    const m = (model.kernels as WasmKernels).memories;
    const seen = new Set<number>();
    for (const l of model.transformer.weights.layers) {
      const views = [l.attnNorm, l.qkv.data, l.qkvBias, l.out.data, l.outBias, l.sinks, l.mlpNorm, l.gate.data, l.gateBias,
        l.mlp1.blocks, l.mlp1.scales, l.mlp1Bias, l.mlp2.blocks, l.mlp2.scales, l.mlp2Bias];
      const heaps = new Set(views.map((v) => m.heapOf(v)?.index));
      expect(heaps.size).toBe(1);
      expect([...heaps][0]).toBeTypeOf("number");
      seen.add([...heaps][0]!);
    }
    expect(seen.size).toBeGreaterThan(1); // the layers really are spread
  });

  it("tensors announced together but too large for one memory are placed one by one, and still run", async () => {
    const k = await createKernels("wasm", { threads: 1, weightBytesPerMemory: 1 << 20 }) as WasmKernels;
    const alloc = k.memories;
    alloc.group(3 << 20); // more than a memory holds: no group is kept
    const a = alloc.allocate(700_000, "a"), b = alloc.allocate(700_000, "b");
    expect(alloc.heapOf(a)!.index).not.toBe(alloc.heapOf(b)!.index);
    // A matrix in one memory with its bias in another: the call stages the bias.
    const w = { rows: 4, cols: 8, data: new Uint16Array(a.buffer, a.byteOffset, 32).fill(0x3f80) }; // ones
    const bias = new Float32Array(b.buffer, b.byteOffset, 4).fill(0.5);
    const out = new Float32Array(4);
    k.matmul(out, new Float32Array(8).fill(1), w, bias, 1);
    expect(Array.from(out)).toEqual([8.5, 8.5, 8.5, 8.5]);
  });

  it("refuses a tensor larger than a memory, and a bad cap, with clear errors", async () => {
    const k = await createKernels("wasm", { threads: 1, weightBytesPerMemory: 1 << 20 }) as WasmKernels;
    expect(() => k.allocator.allocate(2 << 20, "big.weight")).toThrow(/big\.weight: 2097152 bytes is more than one WebAssembly memory holds/);
    await expect(createKernels("wasm", { weightBytesPerMemory: 5 * 2 ** 30 })).rejects.toThrow(/weight bytes per memory must be between/);
  });

  it("a checkpoint loads straight into the memories through the allocator's groups", () => {
    const ck = Checkpoint.open(DEV_CKPT);
    const groups: number[] = [];
    ck.load({ allocator: { allocate: (n) => new Uint8Array(n), group: (n) => void groups.push(n) } });
    ck.close();
    expect(groups.length).toBe(ck.config.numLayers + 2); // embedding, each layer, norm + unembedding
  });
});
