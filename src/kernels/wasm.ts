// The WebAssembly implementation of `Kernels`: each call places its activations in the kernel memory,
// runs one AssemblyScript kernel (kernels/*.ts) and copies the result out. Weights are not copied: the
// backend's allocator puts them in the same memory at load, and a kernel reads a weight at its view's
// byteOffset. (Arrays that are not in the memory, e.g. weights loaded with another allocator, still
// work: they are staged per call, which is slow for matrices but keeps every caller correct.)
//
// Precisions (README "Precision"): "exact" keeps activations in f32 (the MXFP4 decode kernels split
// them exactly into two int16). "fast" quantizes the activations of the MXFP4 expert matmuls per
// 32-block (int8 in the relaxed build, int16 in the baseline build) so one integer dot product does the
// work; the bf16 matmuls stay f32 in both (their weights are not integers, and decode is bandwidth-bound).
import type { Bf16Matrix, Mxfp4Experts, WeightAllocator } from "../checkpoint/weights.js";
import type { Kernels } from "./kernels.js";
import { Scratch, WasmHeap, type SimdLevel } from "./wasm-heap.js";

export type Precision = "exact" | "fast";
export const PRECISIONS: readonly Precision[] = ["exact", "fast"];

export interface WasmOptions {
  precision?: Precision;
  /**
   * fast only: bits of the quantized activations. The relaxed-SIMD build always uses 8 (its dot
   * product multiplies int8); the baseline build widens to int16 for its dot product anyway, so it
   * defaults to 16, which costs nothing and is ~256x more precise. 8 there reproduces the int8 numerics.
   */
  fastBits?: 8 | 16;
  /** which build to run; by default the best one this runtime validates */
  simd?: SimdLevel;
}

/** Pointers (byte offsets in the kernel memory) of one expert call. */
interface ExpertCall {
  /** the kernel's output */
  out: number;
  /** the f32 input rows, [n, cols] */
  raw: number;
  /** the input in the kernel's form (prepare) */
  input: number;
  /** quantized values on their way to `input` (fast prefill) */
  tmp: number;
  /** per-block activation scales, and the relaxed build's offsets (quant.ts) */
  xs: number;
  qs: number;
  /** the kernel's own scratch */
  kernel: number;
  /** a region for the caller (the routing weights) */
  extra: number;
  /** this expert's blocks, scales and bias */
  blocks: number;
  scales: number;
  bias: number;
}

/** Output bytes above which a matmul is split into token chunks (bounds the scratch block). */
const MAX_OUT_BYTES = 16 << 20;
/** Scratch of the prefill kernel (gemm.ts): a 4 x 256 f32 panel. */
const PANEL_BYTES = 4096;

export class WasmKernels implements Kernels {
  readonly name = "wasm";
  readonly allocator: WeightAllocator;
  private readonly scratch: Scratch;

  /** Largest quantized activation magnitude in `fast`: 127 (int8) or 32767 (int16). */
  private readonly qmax: number;

  private constructor(readonly heap: WasmHeap, readonly precision: Precision, fastBits?: 8 | 16) {
    this.qmax = heap.simd === "relaxed-simd" || fastBits === 8 ? 127 : 32767;
    this.scratch = new Scratch(heap);
    this.allocator = {
      allocate: (n) => {
        const p = heap.alloc(n); // may grow the memory: take .buffer after it
        return new Uint8Array(heap.memory.buffer, p, n);
      },
    };
  }

  static async create(options: WasmOptions = {}): Promise<WasmKernels> {
    return new WasmKernels(await WasmHeap.create(options.simd), options.precision ?? "exact", options.fastBits);
  }

  /** The same kernels and memory (so the same weights) at another precision. */
  withPrecision(precision: Precision, fastBits?: 8 | 16): WasmKernels {
    return new WasmKernels(this.heap, precision, fastBits);
  }

  /** Bits of the quantized activations in `fast`. */
  get fastBits(): 8 | 16 {
    return this.qmax === 127 ? 8 : 16;
  }

  /** "simd128" or "relaxed-simd": the build this instance runs. */
  get simd(): SimdLevel {
    return this.heap.simd;
  }

  // ---- placing arrays ----

  /** Scratch bytes `a` needs: none when it already lives in the kernel memory. */
  private need(a: ArrayBufferView | null, bytes = a?.byteLength ?? 0): number {
    return a && !this.heap.owns(a) ? bytes : 0;
  }

  /** The pointer of `a` (or 0 for null): its own place in the memory, else a copy at `at`. */
  private place(a: ArrayBufferView | null, at: number, bytes = a?.byteLength ?? 0): number {
    if (!a) return 0;
    if (this.heap.owns(a)) return a.byteOffset;
    this.heap.u8.set(new Uint8Array(a.buffer, a.byteOffset, bytes), at);
    return at;
  }

  private put(src: Float32Array, n: number, at: number): void {
    this.heap.f32.set(src.length === n ? src : src.subarray(0, n), at >>> 2);
  }

  private get(dst: Float32Array, at: number, n: number, dstOffset = 0): void {
    dst.set(this.heap.f32.subarray(at >>> 2, (at >>> 2) + n), dstOffset);
  }

  // ---- Kernels ----

  embed(out: Float32Array, table: Bf16Matrix, tokens: ArrayLike<number>): void {
    const T = tokens.length, H = table.cols;
    const [po, pt, pw] = this.scratch.take(T * H * 4, T * 4, this.need(table.data));
    const w = this.place(table.data, pw);
    for (let t = 0; t < T; t++) this.heap.i32[(pt >>> 2) + t] = tokens[t];
    this.heap.k.bf16Embed(po, w, pt, T, H);
    this.get(out, po, T * H);
  }

  rmsnorm(out: Float32Array, x: Float32Array, scale: Float32Array, eps: number, T: number, n: number): void {
    const [px, ps] = this.scratch.take(T * n * 4, this.need(scale, n * 4));
    this.put(x, T * n, px);
    const s = this.place(scale, ps, n * 4);
    this.heap.k.rmsnorm(px, px, s, eps, T, n);
    this.get(out, px, T * n);
  }

  matmul(out: Float32Array, x: Float32Array, w: Bf16Matrix, bias: Float32Array | null, T: number): void {
    const { rows, cols } = w;
    const chunk = Math.max(1, Math.min(T, Math.floor(MAX_OUT_BYTES / (rows * 4))));
    const Tc = Math.min(T, chunk);
    const [px, pd, po, pw, pb] = this.scratch.take(Tc * cols * 4, T > 1 ? PANEL_BYTES : cols * 4, Tc * rows * 4,
      this.need(w.data), this.need(bias, rows * 4));
    const wp = this.place(w.data, pw), bp = this.place(bias, pb, rows * 4);
    const k = this.heap.k;
    for (let t0 = 0; t0 < T; t0 += Tc) {
      const n = Math.min(Tc, T - t0);
      this.put(x.subarray(t0 * cols), n * cols, px);
      if (n === 1) {
        k.deinterleave(pd, px, 1, cols, 8); // the decode kernel's column order
        k.bf16Matvec(po, pd, wp, bp, rows, cols);
      } else {
        k.bf16Matmul(po, px, wp, bp, rows, cols, n, pd);
      }
      this.get(out, po, n * rows, t0 * rows);
    }
  }

  rope(x: Float32Array, cos: Float32Array, sin: Float32Array, T: number, heads: number, d: number): void {
    const n = T * heads * d, h = (T * d) / 2;
    const [px, pc, ps] = this.scratch.take(n * 4, h * 4, h * 4);
    this.put(x, n, px);
    this.put(cos, h, pc);
    this.put(sin, h, ps);
    this.heap.k.rope(px, pc, ps, T, heads, d);
    this.get(x, px, n);
  }

  attention(out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, capacity: number,
    first: number, last: number, sinks: Float32Array, nq: number, nkv: number, d: number): void {
    const n = last - first + 1, row = nkv * d;
    const [pq, pk, pv, ps, po, psc] = this.scratch.take(nq * d * 4, n * row * 4, n * row * 4,
      this.need(sinks, nq * 4), nq * d * 4, n * 4);
    this.put(q, nq * d, pq);
    // The visible positions, in order, out of the ring (at most two runs).
    const f32 = this.heap.f32;
    for (let p = first, at = 0; p <= last;) {
      const r = p % capacity;
      const len = Math.min(last - p + 1, capacity - r);
      f32.set(k.subarray(r * row, (r + len) * row), (pk >>> 2) + at * row);
      f32.set(v.subarray(r * row, (r + len) * row), (pv >>> 2) + at * row);
      p += len;
      at += len;
    }
    const s = this.place(sinks, ps, nq * 4);
    this.heap.k.attention(po, pq, pk, pv, n, s, nq, nkv, d, psc);
    this.get(out, po, nq * d);
  }

  topk(index: Int32Array, weight: Float32Array, logits: Float32Array, T: number, E: number, k: number): void {
    const [pl, pi, pw] = this.scratch.take(T * E * 4, T * k * 4, T * k * 4);
    this.put(logits, T * E, pl);
    this.heap.k.topk(pi, pw, pl, T, E, k);
    index.set(this.heap.i32.subarray(pi >>> 2, (pi >>> 2) + T * k));
    this.get(weight, pw, T * k);
  }

  expertUp(act: Float32Array, x: Float32Array, w: Mxfp4Experts, bias: Float32Array, expert: number,
    rows: Int32Array, n: number, swigluLimit: number, swigluAlpha: number): void {
    const H = w.cols, I = w.rows / 2;
    const s = this.stageExpert(w, bias, expert, n, I * 4, n * w.rows * 4 + PANEL_BYTES, 0);
    for (let i = 0; i < n; i++) this.put(x.subarray(rows[i] * H), H, s.raw + i * H * 4); // gather the routed rows
    this.prepare(s, n, H);
    this.heap.k.mxfp4Up(s.out, s.input, s.xs, s.qs, s.blocks, s.scales, s.bias, I, H, n,
      swigluLimit, swigluAlpha, this.precision === "fast" ? 1 : 0, s.kernel);
    this.get(act, s.out, n * I);
  }

  expertDown(out: Float32Array, act: Float32Array, w: Mxfp4Experts, bias: Float32Array, expert: number,
    rows: Int32Array, weight: Float32Array, n: number): void {
    const H = w.rows, I = w.cols;
    const s = this.stageExpert(w, bias, expert, n, H * 4, PANEL_BYTES, n * 4);
    this.put(act, n * I, s.raw);
    this.put(weight, n, s.extra);
    this.prepare(s, n, I);
    this.heap.k.mxfp4Down(s.out, s.input, s.xs, s.qs, s.blocks, s.scales, s.bias, H, I, n, s.extra,
      this.precision === "fast" ? 1 : 0, s.kernel);
    // out[rows[i], :] += y[i, :]  (the kernel already applied the routing weight)
    const y = this.heap.f32, y0 = s.out >>> 2;
    for (let i = 0; i < n; i++) {
      const o = rows[i] * H, yi = y0 + i * H;
      for (let r = 0; r < H; r++) out[o + r] += y[yi + r];
    }
  }

  /** Scratch and weight pointers for one expert call with n tokens (see ExpertCall). */
  private stageExpert(w: Mxfp4Experts, bias: Float32Array, e: number, n: number, outBytesPerToken: number,
    kernelBytes: number, extraBytes: number): ExpertCall {
    const cols = w.cols, nb = cols / 32;
    // This expert's slices: views into the same buffers, so weights in the memory stay in place.
    const blocks = w.blocks.subarray(e * w.rows * nb * 16, (e + 1) * w.rows * nb * 16);
    const scales = w.scales.subarray(e * w.rows * nb, (e + 1) * w.rows * nb);
    const b = bias.subarray(e * w.rows, (e + 1) * w.rows);
    const [out, raw, input, tmp, xs, qs, kernel, extra, pbl, psc, pb] = this.scratch.take(n * outBytesPerToken, n * cols * 4,
      n * cols * 4, n * cols * 2, n * nb * 4, n * nb * 4, kernelBytes, extraBytes,
      this.need(blocks), this.need(scales), this.need(b));
    return { out, raw, input, tmp, xs, qs, kernel, extra,
      blocks: this.place(blocks, pbl), scales: this.place(scales, psc), bias: this.place(b, pb) };
  }

  /**
   * The expert kernels' input form of n rows of `cols` f32 at src (see kernels/mxfp4.ts). Decode
   * (n = 1): exact = an exact two-i16 split, fast = quantized. Prefill (n > 1): f32 deinterleaved by
   * 32; in fast, the quantized values (so prefill and decode see the same activations).
   */
  private prepare(s: ExpertCall, n: number, cols: number): void {
    const k = this.heap.k;
    if (this.precision === "fast") {
      k.quantize(n > 1 ? s.tmp : s.input, s.xs, s.qs, s.raw, n, cols, this.qmax);
      if (n > 1) k.dequantize(s.input, s.tmp, s.xs, n, cols);
    } else if (n > 1) {
      k.deinterleave(s.input, s.raw, n, cols, 32);
    } else {
      k.split(s.input, s.xs, s.raw, n, cols);
    }
  }
}
