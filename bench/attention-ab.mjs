// Decode attention of one gpt-oss-shaped layer (64 query heads, 8 KV heads of 64) at position ctx - 1 of
// a full-attention layer, two builds interleaved in one process on one thread: BEFORE's backend with a
// JavaScript-array cache (model/kv-cache.ts LayerCache: the visible rows copied into the kernel memory
// per call) and AFTER's with the cache its backend makes (Kernels.createLayerKV: read in place).
//   node bench/attention-ab.mjs BEFORE_ROOT AFTER_ROOT   (each a built checkout: dist/ and build/)
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [before, after] = process.argv.slice(2).map((r) => pathToFileURL(resolve(r)).href);
if (!before || !after) throw new Error("usage: node bench/attention-ab.mjs BEFORE_ROOT AFTER_ROOT");
const A = await import(`${before}/dist/src/backends/wasm/backend.js`), AC = await import(`${before}/dist/src/model/kv-cache.js`);
const B = await import(`${after}/dist/src/backends/wasm/backend.js`);
const NQ = 64, NKV = 8, D = 64, KVW = NKV * D, QW = NQ * D;
const vec = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const ka = await A.WasmKernels.create({ threads: 1 }), kb = await B.WasmKernels.create({ threads: 1 });
const heads = { nq: NQ, nkv: NKV, headDim: D }, sinks = vec(NQ), out = new Float32Array(QW);
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
for (const ctx of [128, 1024, 4096]) {
  const k = vec(ctx * KVW), v = vec(ctx * KVW);
  const ca = new AC.LayerCache(KVW, 0, ctx, ctx);
  const cb = kb.createLayerKV ? kb.createLayerKV({ rowWidth: KVW, headDim: D, window: 0, initialCapacity: ctx, limit: ctx, name: "bench" })
    : new AC.LayerCache(KVW, 0, ctx, ctx);
  ca.store(0, ctx - 1, k, v);
  cb.store(0, ctx - 1, k, v);
  const chunk = { q: vec(QW), k: vec(KVW), v: vec(KVW), pos0: ctx - 1, T: 1 };
  const time = (kern, cache) => {
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) kern.attention(out, chunk, cache, sinks, heads); // stores position ctx - 1 again each time
    return (performance.now() - t0) / 20;
  };
  time(ka, ca), time(kb, cb);
  const ta = [], tb = [];
  for (let r = 0; r < 7; r++) ta.push(time(ka, ca)), tb.push(time(kb, cb));
  console.log(`${ctx} positions: before ${median(ta).toFixed(3)} ms, after ${median(tb).toFixed(3)} ms per call (median of 7 x 20 calls)`);
}
