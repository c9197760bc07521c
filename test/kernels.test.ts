// Every WebAssembly kernel against the TypeScript reference, on odd shapes (dimensions that are not
// multiples of 4, 8, 16 or 32 where the format allows, single rows, single tokens, column counts past
// the prefill kernel's cache block), for both precisions and every SIMD build this runtime runs.
//
// `fast` is checked exactly too: the reference run on the activations that `fast` quantizes
// (round(x * 127 / max|x|) per 32-block, dequantized) must give what the integer kernels give.
import { describe, expect, it } from "vitest";
import type { Bf16Matrix, Mxfp4Experts } from "../src/checkpoint/weights.js";
import type { Kernels } from "../src/backends/kernels.js";
import { int8Matmul, referenceKernels as ref } from "../src/backends/reference.js";
import { planCheckpoint } from "../src/checkpoint/synth.js";
import { LayerCache } from "../src/model/kv-cache.js";
import { WasmKernels } from "../src/backends/wasm/backend.js";
import type { WasmLayerKV } from "../src/backends/wasm/kv.js";
import { chooseSimd, type SimdLevel } from "../src/backends/wasm/heap.js";
import { bf16ToF32, f32ToBf16 } from "../src/checkpoint/numerics.js";
import type { LowRank } from "../src/lora/weights.js";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(12345);
const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const f32s = (n: number, scale = 1) => Float32Array.from({ length: n }, () => normal() * scale);

/** A bf16 matrix, placed by `k`'s allocator (as the loader does) or on the JS heap. */
function bf16Matrix(rows: number, cols: number, k?: Kernels): Bf16Matrix {
  const bytes = (k?.allocator ?? ref.allocator).allocate(rows * cols * 2, "test");
  const data = new Uint16Array(bytes.buffer, bytes.byteOffset, rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = f32ToBf16(normal() / Math.sqrt(cols));
  return { rows, cols, data };
}

/** Random experts in the checkpoint's form: in plain memory, or placed in k's memory, or placed and
 * then rearranged into the kernel layout as `prepare` does after a load. The reference reads the same
 * random matrix (`want`), in the checkpoint's form. */
type Placement = "plain" | "placed" | "prepared";
function experts(E: number, rows: number, cols: number, scaleLo: number, scaleHi: number, k?: WasmKernels,
  how: Placement = k ? "placed" : "plain"): { w: Mxfp4Experts; want: Mxfp4Experts } {
  const a = how === "plain" || !k ? ref.allocator : k.allocator;
  const blocks = a.allocate((E * rows * cols) / 2, "blocks");
  const scales = a.allocate((E * rows * cols) / 32, "scales");
  for (let i = 0; i < blocks.length; i++) blocks[i] = Math.floor(rand() * 256);
  for (let i = 0; i < scales.length; i++) scales[i] = scaleLo + Math.floor(rand() * (scaleHi - scaleLo + 1));
  const w = { experts: E, rows, cols, blocks, scales };
  const want = { ...w, blocks: blocks.slice(), scales: scales.slice() };
  if (how === "prepared") k!.prepareExperts(w);
  return { w, want };
}

/** A copy of a layer's cache (the attention call stores into the one it is given). */
function copyOf(c: LayerCache): LayerCache {
  const copy = new LayerCache(c.rowWidth, c.window, c.capacity, 1 << 20);
  copy.k = c.k.slice();
  copy.v = c.v.slice();
  return copy;
}

/** The keys and values a query at position end - 1 sees, in position order. */
function rows(c: LayerCache | WasmLayerKV, window: number, end: number): number[] {
  const first = window ? Math.max(0, end - window) : 0, n = (end - first) * c.rowWidth;
  const k = new Float32Array(n), v = new Float32Array(n);
  c.read(first, end, k, v);
  return [...k, ...v];
}

/** The first index where a and b differ (-1: none; lengths must match). Faster than toEqual on long arrays. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** What `fast` does to activations: per 32-block round(x * qmax / max|x|) (ties to even), dequantized. */
function quantized(x: Float32Array, qmax: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += 32) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[o + i]));
    const inv = amax > 0 ? Math.fround(qmax / amax) : 0, d = amax / qmax;
    for (let i = 0; i < 32; i++) {
      const v = Math.fround(x[o + i] * inv);
      let q = Math.round(v);
      if (q - v === 0.5 && q % 2 !== 0) q -= 1; // ties to even, as f32x4.nearest
      out[o + i] = q * d;
    }
  }
  return out;
}

/** max |a - e| <= tol * (1 + max |e|) */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let maxE = 0, maxD = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    maxE = Math.max(maxE, Math.abs(expected[i]));
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxD)) {
      maxD = d;
      at = i;
    }
  }
  if (!(maxD <= tol * (1 + maxE))) {
    throw new Error(`max difference ${maxD} at ${at} (${actual[at]} vs ${expected[at]}), allowed ${tol * (1 + maxE)}`);
  }
}

const levels: SimdLevel[] = ["simd128"];
try {
  if (chooseSimd().level === "relaxed-simd") levels.push("relaxed-simd");
} catch {}

const TOL = 2e-5;

describe.each(levels)("wasm kernels (%s)", (simd) => {
  const make = (precision: "exact" | "fast", fastBits?: 8 | 16) => WasmKernels.create({ simd, precision, fastBits });

  it("embed", async () => {
    const k = await make("exact");
    for (const cols of [1, 5, 8, 67]) {
      for (const placed of [true, false]) {
        const table = bf16Matrix(11, cols, placed ? k : undefined);
        const tokens = [3, 0, 10, 3];
        const a = new Float32Array(tokens.length * cols), e = new Float32Array(tokens.length * cols);
        k.embed(a, table, tokens);
        ref.embed(e, table, tokens);
        expect(Array.from(a)).toEqual(Array.from(e));
      }
    }
  });

  it("rmsnorm, in place and not", async () => {
    const k = await make("exact");
    for (const [T, n] of [[1, 1], [3, 5], [2, 64], [3, 67], [1, 2880]]) {
      const x = f32s(T * n, 3), scale = f32s(n);
      const e = new Float32Array(T * n), a = new Float32Array(T * n);
      ref.rmsnorm(e, x, scale, 1e-5, T, n);
      k.rmsnorm(a, x, scale, 1e-5, T, n);
      expectClose(a, e, TOL);
      const y = x.slice();
      k.rmsnorm(y, y, scale, 1e-5, T, n);
      expectClose(y, e, TOL);
    }
  });

  it("matmul: decode and prefill, odd shapes, with and without bias", async () => {
    const k = await make("exact");
    const shapes = [[1, 1, 1], [1, 7, 1], [5, 3, 2], [7, 9, 3], [13, 17, 5], [4, 8, 2], [9, 69, 4], [6, 1037, 3], [33, 520, 7], [5, 24, 1]];
    for (const [rows, cols, T] of shapes) {
      for (const placed of [true, false]) {
        const w = bf16Matrix(rows, cols, placed ? k : undefined);
        const x = f32s(T * cols), bias = rows % 2 ? f32s(rows) : null;
        const e = new Float32Array(T * rows), a = new Float32Array(T * rows);
        ref.matmul(e, x, w, bias, T);
        k.matmul(a, x, w, bias, T);
        expectClose(a, e, TOL);
        // every token alone (the decode kernel) gives the prefill kernel's rows
        for (let t = 0; t < T; t++) {
          const one = new Float32Array(rows);
          k.matmul(one, x.subarray(t * cols, (t + 1) * cols), w, bias, 1);
          expectClose(one, e.subarray(t * rows, (t + 1) * rows), TOL);
        }
      }
    }
  });

  it("rope", async () => {
    const k = await make("exact");
    for (const [T, heads, d] of [[1, 1, 2], [3, 3, 6], [2, 5, 16], [3, 2, 20], [1, 4, 64]]) {
      const x = f32s(T * heads * d), cos = f32s((T * d) / 2), sin = f32s((T * d) / 2);
      const e = x.slice(), a = x.slice();
      ref.rope(e, cos, sin, T, heads, d);
      k.rope(a, cos, sin, T, heads, d);
      expectClose(a, e, TOL);
    }
  });

  it("attention: decode and prefill chunks, GQA, sinks, windows that wrap the ring, a growing cache, any thread count", async () => {
    const k1 = await make("exact"), k3 = await WasmKernels.create({ simd, threads: 3, parallelMinBytes: 0 });
    const cases = [
      // nq, nkv, d, window (0: full), pos0, T
      [1, 1, 1, 0, 0, 1],
      [4, 2, 5, 0, 6, 1],
      [6, 3, 8, 5, 7, 1],       // the window wraps the ring: positions 3..7 in rows 3, 4, 0, 1, 2
      [8, 2, 16, 8, 17, 1],
      [6, 1, 19, 0, 33, 1],     // the full layer's cache grows past its first 8 rows
      [64, 8, 64, 8, 99, 1],
      [4, 2, 5, 0, 0, 9],
      [6, 3, 8, 0, 13, 7],
      [4, 2, 12, 5, 0, 11],     // T > window: early queries need rows the chunk overwrites in the ring
      [8, 2, 16, 6, 9, 5],      // cached prefix in a wrapped ring
      [6, 1, 19, 4, 3, 2],
      [64, 8, 64, 128, 200, 33],
    ];
    for (const [nq, nkv, d, window, pos0, T] of cases) {
      const kvw = nkv * d, heads = { nq, nkv, headDim: d };
      const chunk = { q: f32s(T * nq * d), k: f32s(T * kvw), v: f32s(T * kvw), pos0, T }, sinks = f32s(nq);
      const past = new LayerCache(kvw, window, 8, 1 << 20);
      past.store(0, pos0, f32s(pos0 * kvw), f32s(pos0 * kvw));
      const e = new Float32Array(T * nq * d), after = copyOf(past);
      ref.attention(e, chunk, after, sinks, heads);
      for (const k of [k1, k3]) {
        const a = new Float32Array(T * nq * d), cache = copyOf(past);
        k.attention(a, chunk, cache, sinks, heads);
        expectClose(a, e, TOL);
        expect(rows(cache, window, pos0 + T)).toEqual(rows(after, window, pos0 + T)); // the chunk joined the cache
      }
      // the same as decoding the chunk one position at a time
      const stepped = copyOf(past), step = new Float32Array(T * nq * d);
      for (let t = 0; t < T; t++) {
        const one = { q: chunk.q.subarray(t * nq * d), k: chunk.k.subarray(t * kvw), v: chunk.v.subarray(t * kvw), pos0: pos0 + t, T: 1 };
        ref.attention(step.subarray(t * nq * d), one, stepped, sinks, heads);
      }
      expectClose(e, step, 1e-6);
    }
    k3.dispose();
  });

  it("attention on a cache in the kernel memory: read in place through ring wraps, growth and chunks across the ring's end", async () => {
    const k1 = await make("exact"), k3 = await WasmKernels.create({ simd, threads: 3, parallelMinBytes: 0 });
    const cases: [number, number, number, number, number, number, number[]][] = [
      // nq, nkv, d, window (0: full), initial rows, limit, the chunks run one after another
      [1, 1, 1, 0, 1, 40, [1, 1, 1, 5, 1, 7, 1]],            // a full layer growing 1 -> 2 -> 4 -> 8 -> 16
      [4, 2, 5, 5, 2, 5, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]], // decode: the ring grows 2 -> 4 -> 5, then wraps
      [6, 3, 8, 5, 8, 5, [3, 4, 2, 1, 6, 1, 1]],             // chunks that cross the ring's end; one longer than the ring
      [8, 2, 16, 8, 3, 8, [2, 7, 5, 9, 1, 3]],
      [6, 1, 19, 0, 4, 64, [13, 1, 17, 1, 1, 20]],           // odd head width, growth inside a chunk
      [64, 8, 64, 128, 16, 128, [100, 1, 60, 1, 1, 200, 1]], // gpt-oss heads: a prefill chunk past the window
      [8, 2, 16, 200, 4, 30, [9, 1, 25, 1, 1]],              // a window longer than the context: the ring stops at the limit
    ];
    for (const [nq, nkv, d, window, initialCapacity, limit, chunks] of cases) {
      const kvw = nkv * d, heads = { nq, nkv, headDim: d }, sinks = f32s(nq);
      const shape = { rowWidth: kvw, headDim: d, window, initialCapacity, limit, name: "layer 0" };
      const want = new LayerCache(kvw, window, initialCapacity, limit), js = new LayerCache(kvw, window, initialCapacity, limit);
      const own = [k1.createLayerKV(shape), k3.createLayerKV(shape)];
      let pos0 = 0;
      for (const T of chunks) {
        const chunk = { q: f32s(T * nq * d), k: f32s(T * kvw), v: f32s(T * kvw), pos0, T };
        const e = new Float32Array(T * nq * d), staged = new Float32Array(T * nq * d);
        ref.attention(e, chunk, want, sinks, heads);
        k1.attention(staged, chunk, js, sinks, heads); // the same kernel on rows copied from JavaScript arrays
        pos0 += T;
        for (const [i, k] of [k1, k3].entries()) {
          const a = new Float32Array(T * nq * d);
          k.attention(a, { ...chunk, pos0: pos0 - T }, own[i], sinks, heads);
          expectClose(a, e, TOL);
          expect(firstDifference(a, staged)).toBe(-1); // where the rows live does not change a bit
          expect(firstDifference(rows(own[i], window, pos0), rows(want, window, pos0))).toBe(-1);
          expect(own[i].capacity).toBe(want.capacity);
        }
      }
    }
    // released: the memory goes back to the free list, and the layer starts again from nothing
    const layer = k1.createLayerKV({ rowWidth: 4, headDim: 2, window: 0, initialCapacity: 8, limit: 64, name: "layer 9" });
    layer.store(0, 20, f32s(80), f32s(80));
    layer.release();
    expect(layer.bytes).toBe(0);
    expect(() => layer.read(0, 1, new Float32Array(4), new Float32Array(4))).toThrow(/layer 9: read after release/);
    const again = f32s(8);
    layer.store(0, 2, again, again);
    expect(layer.capacity).toBe(8);
    expect(rows(layer, 0, 2)).toEqual([...again, ...again]);
    k3.dispose();
  });

  it("topk: order, ties to the lower index, softmax over the k", async () => {
    const k = await make("exact");
    for (const [T, E, K] of [[1, 1, 1], [3, 5, 2], [2, 32, 4], [4, 7, 7]]) {
      const logits = f32s(T * E);
      if (E >= 5) logits[1] = logits[3] = logits[4] = 5; // a three-way tie at the top
      const ei = new Int32Array(T * K), ew = new Float32Array(T * K), ai = new Int32Array(T * K), aw = new Float32Array(T * K);
      ref.topk(ei, ew, logits, T, E, K);
      k.topk(ai, aw, logits, T, E, K);
      expect(Array.from(ai)).toEqual(Array.from(ei));
      expectClose(aw, ew, TOL);
    }
  });

  it("int8 form of a bf16 matrix (fast, 8-bit): decode and prefill, made beside bf16 or in place from row pieces", async () => {
    for (const threads of [1, 2]) {
      const k = await WasmKernels.create({ simd, precision: "fast", fastBits: 8, threads, parallelMinBytes: 0 });
      for (const [rows, cols] of [[1, 32], [7, 64], [13, 96], [66, 2880], [67, 160]]) {
        const w = bf16Matrix(rows, cols, k), bias = f32s(rows);
        k.int8Copy(w); // beside: as `prepare` does for weights loaded by another allocator
        // in place: the loader's path, rows handed over in uneven pieces, out of order
        const form = k.allocator.streamed!(rows, cols, "test")!;
        const bytes = new Uint8Array(w.data.buffer, w.data.byteOffset, rows * cols * 2), cuts = [0, Math.floor(rows / 3), rows - 1, rows];
        for (const i of [2, 0, 1]) if (cuts[i + 1] > cuts[i]) form.write(cuts[i], bytes.slice(cuts[i] * cols * 2, cuts[i + 1] * cols * 2));
        expect(form.matrix.data.length).toBe(0);
        expect(k.matmulBytes(form.matrix, 1)).toBe(form.bytes);
        for (const T of [1, 2, 5]) {
          const x = f32s(T * cols), want = new Float32Array(T * rows), beside = new Float32Array(T * rows), inPlace = new Float32Array(T * rows);
          int8Matmul(want, x, w, bias, T);
          k.matmul(beside, x, w, bias, T);
          k.matmul(inPlace, x, form.matrix, bias, T);
          expectClose(beside, want, TOL);
          expect(Array.from(inPlace)).toEqual(Array.from(beside));
        }
      }
      // Once a matrix is held only in int8, nothing that reads bf16 may run on these weights.
      expect(() => k.withPrecision("exact")).toThrow(/only in int8.*load the model in that precision/);
      const only = k.allocator.streamed!(4, 32, "test")!.matrix;
      expect(() => ref.matmul(new Float32Array(4), new Float32Array(32), only, null, 1)).toThrow(/only in another backend's form/);
      k.dispose();
    }
  });

  it("int8 form: a matrix whose width is not a multiple of 32 stays bf16; 16-bit fast does not read int8", async () => {
    const k = await WasmKernels.create({ simd, precision: "fast", fastBits: 8 });
    expect(k.allocator.streamed!(5, 33, "test")).toBeUndefined();
    // the memory check's figure at gpt-oss-20b: what the int8 forms save against bf16 (negative)
    const c20b = planCheckpoint("20b").modelConfig, saved = (rows: number, cols: number) => 2 * rows * cols - (rows * cols * 34) / 32;
    expect(k.preparedBytes(c20b)).toBe(-(saved(201088, 2880) + 24 * (saved(5120, 2880) + saved(2880, 4096))));
    expect(k.preparedBytes(c20b)).toBe(-1_140_134_400);
    if (simd === "simd128") {
      const k16 = await WasmKernels.create({ simd, precision: "fast", fastBits: 16 });
      expect(k16.allocator.streamed).toBeUndefined();
      expect(k16.preparedBytes({ vocabSize: 64, hiddenSize: 64 } as never)).toBe(0);
    }
  });

  it("lowRank (LoRA): odd ranks, widths and row counts, pairs in the kernel memory or staged", async () => {
    for (const threads of [1, 2]) {
      const k = await WasmKernels.create({ simd, precision: "exact", threads, parallelMinBytes: 0 });
      // rank, cols, rows, n
      const cases: [number, number, number, number][] = [[1, 1, 1, 1], [3, 13, 7, 5], [4, 64, 67, 2], [16, 2880, 513, 3], [5, 9, 4096, 1]];
      for (const [rank, cols, rows, n] of cases) {
        for (const placed of [true, false]) {
          const alloc = placed ? k.allocator : ref.allocator;
          const floats = (m: number, scale: number) => {
            const b = alloc.allocate(4 * m, "lora test");
            const f = new Float32Array(b.buffer, b.byteOffset, m);
            f.set(f32s(m, scale));
            return f;
          };
          const w: LowRank = { rank, cols, rows, a: floats(rank * cols, 1 / Math.sqrt(cols)), b: floats(rank * rows, 0.5) };
          const x = f32s(n * cols, 2);
          const exp = new Float32Array(n * rows), got = new Float32Array(n * rows);
          ref.lowRank(exp, x, w, n);
          k.lowRank(got, x, w, n);
          expectClose(got, exp, TOL);
        }
      }
      k.dispose();
    }
  });

  // fast with 16-bit activations (the baseline build's default) and with 8-bit ones (the relaxed
  // build's only kind, and the baseline's with fastBits: 8)
  const variants = simd === "relaxed-simd" ? (["exact", "fast8"] as const) : (["exact", "fast16", "fast8"] as const);
  describe.each(variants)("experts, %s", (variant) => {
    const precision = variant === "exact" ? "exact" : "fast";
    const bits = variant === "fast8" ? 8 : 16;
    const make = () => WasmKernels.create({ simd, precision, fastBits: bits });
    // fast is compared with the reference run on the activations it quantizes
    const input = (x: Float32Array) => (precision === "fast" ? quantized(x, bits === 8 ? 127 : 32767) : x);

    it("expertUp: SwiGLU fused, routed rows, decode and prefill", async () => {
      const k = await make();
      // E, I, H, routed rows
      const cases: [number, number, number, number[]][] = [
        [1, 1, 32, [0]],
        [3, 3, 96, [2]],
        [3, 5, 160, [1, 0, 4]],
        [2, 7, 224, [3, 1]],
        [2, 4, 2880, [0, 2, 1]],
      ];
      for (const [E, I, H, routed] of cases) {
        for (const how of ["plain", "placed", "prepared"] as const) {
          const { w, want } = experts(E, 2 * I, H, 120, 126, k, how);
          const bias = f32s(E * 2 * I, 0.5);
          const T = Math.max(...routed) + 1, x = f32s(T * H), rows = Int32Array.from(routed), n = rows.length;
          for (let e = 0; e < E; e++) {
            const exp = new Float32Array(n * I), act = new Float32Array(n * I);
            ref.expertUp(exp, input(x), want, bias, e, rows, n, 7, 1.702);
            k.expertUp(act, x, w, bias, e, rows, n, 7, 1.702);
            expectClose(act, exp, TOL);
            // with a LoRA update of the routed rows added before the SwiGLU
            const add = f32s(n * 2 * I, 0.7);
            ref.expertUp(exp, input(x), want, bias, e, rows, n, 7, 1.702, add);
            k.expertUp(act, x, w, bias, e, rows, n, 7, 1.702, add);
            expectClose(act, exp, TOL);
          }
        }
      }
    });

    it("expertDown: weighted into the output rows, decode and prefill", async () => {
      const k = await make();
      // E, H (rows), I (cols), routed rows
      const cases: [number, number, number, number[]][] = [
        [1, 1, 32, [0]],
        [3, 7, 96, [1]],
        [2, 5, 224, [2, 0, 3]],
        [3, 9, 2880, [1, 0]],
      ];
      for (const [E, H, I, routed] of cases) {
        for (const how of ["plain", "placed", "prepared"] as const) {
          const { w, want } = experts(E, H, I, 116, 122, k, how);
          const bias = f32s(E * H, 0.1);
          const n = routed.length, T = Math.max(...routed) + 1;
          const act = f32s(n * I, 2), rows = Int32Array.from(routed), weight = Float32Array.from(routed, () => rand());
          for (let e = 0; e < E; e++) {
            const start = f32s(T * H);
            const exp = start.slice(), out = start.slice();
            ref.expertDown(exp, input(act), want, bias, e, rows, weight, n);
            k.expertDown(out, act, w, bias, e, rows, weight, n);
            expectClose(out, exp, TOL);
          }
        }
      }
    });
  });
});

/**
 * Where (row r, 32-block b) of expert e sits in the kernel layout (kernels/mxfp4.ts), in 16-byte blocks
 * and in scale bytes: each full group of four rows holds [nb][4] units ([block][row]); the last
 * rows % 4 rows stay row-major.
 */
function kernelUnit(rows: number, cols: number, e: number, r: number, b: number): number {
  const nb = cols / 32, m = e * rows * nb;
  if (r >= rows - (rows % 4)) return m + r * nb + b;
  const g = r - (r % 4);
  return m + g * nb + 4 * b + (r % 4);
}

describe("MXFP4 kernel layout (rows interleaved by four)", () => {
  it.each([1, 3])("prepareExperts rearranges in place, once, on %i thread(s): every (expert, row, block) where the layout says, the rows past the last group of four row-major", async (threads) => {
    const k = await WasmKernels.create({ threads, parallelMinBytes: 0 });
    for (const [E, rows, cols] of [[2, 9, 96], [3, 4, 32], [1, 3, 64], [2, 12, 160], [5, 8, 64]]) {
      const nb = cols / 32;
      const { w, want } = experts(E, rows, cols, 100, 130, k, "prepared");
      k.prepareExperts(w); // a second time changes nothing
      for (let e = 0; e < E; e++) {
        for (let r = 0; r < rows; r++) {
          for (let b = 0; b < nb; b++) {
            const u = kernelUnit(rows, cols, e, r, b), p = (e * rows + r) * nb + b;
            expect(w.scales[u]).toBe(want.scales[p]);
            expect(Array.from(w.blocks.subarray(16 * u, 16 * u + 16))).toEqual(Array.from(want.blocks.subarray(16 * p, 16 * p + 16)));
          }
        }
      }
    }
    // experts outside the kernel memories are left in the checkpoint's form
    const { w, want } = experts(2, 8, 64, 100, 130);
    k.prepareExperts(w);
    expect(w.blocks).toEqual(want.blocks);
    k.dispose();
  });
});
