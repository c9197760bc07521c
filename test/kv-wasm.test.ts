// The KV cache in the kernel memory (src/backends/wasm/kv.ts): what it costs in memory. Regions a cache
// lets go of are reused, a growing cache's leftovers add up to room for the next ones, and a cache that
// cannot grow says which layer and how much. (Its numerics: test/kernels.test.ts.)
import { describe, expect, it } from "vitest";
import { WasmKernels } from "../src/backends/wasm/backend.js";
import { KVRegions, WasmLayerKV } from "../src/backends/wasm/kv.js";
import { KVCacheFullError } from "../src/util/errors.js";
import { KVCache, LayerCache } from "../src/model/kv-cache.js";
import { referenceKernels as ref } from "../src/backends/reference.js";
import { loadModel } from "../src/model/model.js";
import { DEV_CKPT } from "./helpers.js";

const rows = (n: number, w: number) => new Float32Array(n * w).fill(1);

describe("KV cache in the kernel memory", () => {
  it("a released cache's memory serves the next cache; growth leftovers are reused", async () => {
    const k = await WasmKernels.create();
    const w = 512, layers = 24, grow = () => {
      const ls = Array.from({ length: layers }, (_, l) => k.createLayerKV({ rowWidth: w, headDim: 64, window: 0, initialCapacity: 16, limit: 4096, name: `layer ${l}` }));
      for (let pos = 0; pos < 1024; pos += 64) for (const l of ls) l.store(pos, 64, rows(64, w), rows(64, w));
      return ls;
    };
    const before = k.memories.bytes;
    const first = grow();
    const held = first.reduce((s, l) => s + l.bytes, 0), used = k.memories.bytes - before;
    expect(held).toBe(layers * 2 * 1024 * w * 4);
    expect(used).toBeLessThan(1.6 * held); // doubling 16 -> 1024 leaves 1008 rows behind per layer; most are reused
    for (const l of first) l.release();
    grow();
    expect(k.memories.bytes - before).toBe(used); // the second cache fits in what the first gave back
  });

  it("a model's cache lives in the kernel memory and gives it back on release", async () => {
    const model = await loadModel(DEV_CKPT);
    const k = model.transformer.kernels as WasmKernels;
    const cache = model.newCache();
    model.transformer.forward(Array.from({ length: 300 }, (_, i) => i % 50), cache, { logits: "none" });
    const used = k.memories.bytes;
    expect(cache.bytes).toBeGreaterThan(0);
    cache.release();
    expect(cache.bytes).toBe(0);
    const again = model.newCache();
    model.transformer.forward(Array.from({ length: 300 }, (_, i) => i % 50), again, { logits: "none" });
    expect(k.memories.bytes).toBe(used);
    model.dispose();
  });

  it("caches larger than a memory spread over new memories, which the worker threads take up", async () => {
    const k = await WasmKernels.create({ weightBytesPerMemory: 1 << 20, threads: 2, parallelMinBytes: 0 });
    const nq = 16, nkv = 8, d = 64, w = nkv * d, n = 128, heads = { nq, nkv, headDim: d };
    const rand = (m: number) => Float32Array.from({ length: m }, (_, i) => Math.sin(i * 12.9898 + m) * 0.5);
    const memories = k.memories.heaps.length;
    const layers = Array.from({ length: 4 }, (_, l) => k.createLayerKV({ rowWidth: w, headDim: d, window: 0, initialCapacity: n, limit: n, name: `layer ${l}` }));
    expect(new Set(layers.map((l) => l.heap)).size).toBeGreaterThan(1); // 512 KiB each, 1 MiB a memory
    expect(k.memories.heaps.length).toBeGreaterThan(memories);
    for (const [l, layer] of layers.entries()) {
      const past = rand(l + (n - 1) * w), want = new LayerCache(w, 0, n, n);
      layer.store(0, n - 1, past, past);
      want.store(0, n - 1, past, past);
      const chunk = { q: rand(nq * d), k: rand(w), v: rand(w), pos0: n - 1, T: 1 }, sinks = rand(nq);
      const a = new Float32Array(nq * d), e = new Float32Array(nq * d);
      k.attention(a, chunk, layer, sinks, heads);
      ref.attention(e, chunk, want, sinks, heads);
      for (let i = 0; i < e.length; i++) expect(Math.abs(a[i] - e[i])).toBeLessThan(1e-5);
    }
    k.dispose();
  });

  it("a cache that cannot grow refuses, naming the layer and the size", async () => {
    const k = await WasmKernels.create({ weightBytesPerMemory: 1 << 20 });
    const config = { numKvHeads: 8, headDim: 64, layerTypes: ["full_attention"], slidingWindow: 128, maxPositionEmbeddings: 4096 };
    const cache = new KVCache(config as never, 64, 4096, k);
    const layer = cache.layers[0];
    layer.store(0, 64, rows(64, 512), rows(64, 512));
    expect(() => layer.store(64, 200, rows(200, 512), rows(200, 512))).toThrow(KVCacheFullError);
    expect(() => layer.store(64, 200, rows(200, 512), rows(200, 512))).toThrow(/KV cache of layer 0 at 512 positions: .*more than one WebAssembly memory holds/);
    // the machine's memory: a grow it could not back is refused before the memory grows
    const tight = new WasmLayerKV(new KVRegions(k.memories, () => 300_000), { rowWidth: 512, headDim: 64, window: 0, initialCapacity: 64, limit: 4096, name: "layer 5" });
    expect(() => tight.store(0, 100, rows(100, 512), rows(100, 512))).toThrow(/KV cache of layer 5 at 128 positions: the KV cache needs 524288 more bytes but the machine has 300000 available/);
    expect(tight.capacity).toBe(64); // unchanged: it still holds what it held
  });
});
