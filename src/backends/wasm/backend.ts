// The WebAssembly implementation of `Kernels`: each call places its activations in the kernel memory
// that holds its weights, runs one AssemblyScript kernel (kernels/*.ts) there and copies the result
// out. Weights are not copied: the backend's allocator (memories.ts) puts them in its memories at load,
// `prepare` rearranges the experts there into the kernels' layout, and a kernel reads a weight at its
// view's byteOffset. (Arrays that are not in that memory, e.g. weights loaded with another allocator,
// still work: they are staged per call, which is slow for matrices but keeps every caller correct.)
// Calls that read many weight bytes (the matmuls, the experts) run on every thread of the pool
// (threads.ts), each thread a band of output rows (jobs.ts).
//
// Precisions (README "Precision"): "exact" keeps activations in f32 (the MXFP4 decode kernels split
// them exactly into two int16). "fast" quantizes the activations of the MXFP4 expert matmuls per
// 32-block (int8 in the relaxed build, int16 in the baseline build) so one integer dot product does the
// work. With 8-bit activations `fast` also keeps the dense matrices every token step streams (attention
// qkv and out, the unembedding) in an int8 form (kernels/q8.ts) and reads that in decode and prefill:
// made at load from the bf16 rows as they arrive, in place of bf16 (`streamed`), or beside bf16 for
// weights loaded otherwise (`prepare`). The embedding (gathered, a row per token) and the router stay bf16.
import type { ModelConfig } from "../../checkpoint/config.js";
import { expertBytes, hasBf16, type Bf16Matrix, type ModelWeights, type Mxfp4Experts, type StreamedMatrix,
  type WeightAllocator } from "../../checkpoint/weights.js";
import { GptOssError } from "../../util/errors.js";
import type { LowRank } from "../kernels.js";
import { attentionScratch, PANEL_BYTES, runSlice, type Job, type JobArgs } from "./jobs.js";
import { firstVisible, type AttentionChunk, type AttentionHeads, type Kernels, type LayerKV, type LayerKVShape, type Precision } from "../kernels.js";
import { KVRegions, WasmLayerKV } from "./kv.js";
import { DEFAULT_WEIGHT_BYTES_PER_MEMORY, WasmMemories } from "./memories.js";
import { defaultThreads, ThreadPool } from "./threads.js";
import { chooseSimd, compileKernels, type SimdLevel, type WasmHeap } from "./heap.js";

export type { Precision };
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
  /** threads running each large kernel call, this one included (default 1; "auto": the number of cores) */
  threads?: number | "auto";
  /**
   * Most weight bytes placed in one WebAssembly memory (default 4 GiB less a 256 MiB scratch reserve).
   * Tests set it low to spread a small model over several memories.
   */
  weightBytesPerMemory?: number;
  /**
   * Calls that read fewer weight bytes than this run on the calling thread alone (waking the others
   * costs more than it saves). Default 256 KiB; tests set 0 to split every call.
   */
  parallelMinBytes?: number;
  /** How long an idle worker spins for the next call before it sleeps, in ms (default 2: a sleeping
   * worker is slow to wake). */
  spinMs?: number;
}

/** What every WasmKernels made from one `create` shares: the memories (so the weights) and the threads. */
interface Shared {
  memories: WasmMemories;
  threads: ThreadPool | null;
  parallelMinBytes: number;
  /** int8 forms of bf16 matrices (kernels/q8.ts), by the matrix's data: what `fast` reads */
  q8: WeakMap<Uint16Array, Q8Form>;
  /** whether some matrix is held only in its int8 form (loaded in `fast`): views that read bf16 are refused */
  int8Only: boolean;
  /** expert blocks (with their scales) rearranged in place into the kernel layout (`prepareExperts`) */
  kernelLayout: WeakSet<Uint8Array>;
  /** the memory of the KV caches made by `createLayerKV` */
  kv: KVRegions;
}

/** The int8 form of a bf16 matrix in the kernel layout of kernels/q8.ts. */
interface Q8Form {
  heap: WasmHeap;
  codes: number;
  scales: number;
  rows: number;
  cols: number;
  /** bytes a matmul reads (codes and scales) */
  bytes: number;
}

/** Rows of a bf16 matrix packed per call when making an int8 form beside it (staged into the form's memory). */
const PACK_ROWS = 4096;

// Stops the worker threads of a backend nobody holds any more (a model dropped without dispose()).
const finalizer = new FinalizationRegistry<ThreadPool>((pool) => pool.dispose());

/** Pointers (byte offsets in the kernel memory) of one expert call. */
interface ExpertCall {
  /** the heap the call runs in (its blocks') */
  heap: WasmHeap;
  /** the kernel's output */
  out: number;
  /** the f32 input rows, [n, cols] */
  raw: number;
  /** the input in the kernel's form (prepareInput) */
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
/** Tokens per expert kernel call in prefill (bounds the scratch; each thread keeps n * 2I floats). */
const EXPERT_CHUNK = 128;

export class WasmKernels implements Kernels {
  readonly name = "wasm";
  readonly allocator: WeightAllocator;

  /** Largest quantized activation magnitude in `fast`: 127 (int8) or 32767 (int16). */
  private readonly qmax: number;

  private constructor(private readonly shared: Shared, readonly precision: Precision, fastBits?: 8 | 16) {
    this.qmax = shared.memories.simd === "relaxed-simd" || fastBits === 8 ? 127 : 32767;
    const m = shared.memories;
    this.allocator = !this.readsInt8 ? m : {
      allocate: (bytes, what) => m.allocate(bytes, what),
      group: (bytes) => m.group(bytes),
      streamed: (rows, cols) => this.streamed(rows, cols),
    };
  }

  static async create(options: WasmOptions = {}): Promise<WasmKernels> {
    const { level, bytes } = chooseSimd(options.simd);
    const module = await compileKernels(level, bytes);
    const memories = new WasmMemories(module, level, options.weightBytesPerMemory ?? DEFAULT_WEIGHT_BYTES_PER_MEMORY);
    const n = options.threads === "auto" ? defaultThreads() : options.threads ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`threads must be a whole number >= 1, got ${String(options.threads)}`);
    const threads = n > 1 ? await ThreadPool.start(n, module, memories, options.spinMs ?? 2) : null;
    const shared: Shared = { memories, threads, parallelMinBytes: options.parallelMinBytes ?? 256 << 10, q8: new WeakMap(),
      int8Only: false, kernelLayout: new WeakSet(), kv: new KVRegions(memories) };
    if (threads) finalizer.register(shared, threads, shared);
    return new WasmKernels(shared, options.precision ?? "exact", options.fastBits);
  }

  /** The same kernels, memories (so the same weights) and threads at another precision. Refused for a
   * precision that reads bf16 once a model loaded in `fast` holds matrices only in int8. */
  withPrecision(precision: Precision, fastBits?: 8 | 16): WasmKernels {
    const view = new WasmKernels(this.shared, precision, fastBits);
    if (this.shared.int8Only && !view.readsInt8) {
      throw new GptOssError(`cannot view these kernels as ${precision}${precision === "fast" ? ` with ${view.fastBits}-bit activations` : ""}: `
        + "the model they loaded (in `fast`, 8-bit) holds its attention and unembedding matrices only in int8, and that precision reads bf16; load the model in that precision instead");
    }
    return view;
  }

  /** Bits of the quantized activations in `fast`. */
  get fastBits(): 8 | 16 {
    return this.qmax === 127 ? 8 : 16;
  }

  /** "simd128" or "relaxed-simd": the build this instance runs. */
  get simd(): SimdLevel {
    return this.shared.memories.simd;
  }

  /** Threads that run each large call (1 when there is no pool). */
  get threads(): number {
    return this.shared.threads?.size ?? 1;
  }

  /** The WebAssembly memories holding the weights. */
  get memories(): WasmMemories {
    return this.shared.memories;
  }

  /** The first memory (where calls without weights run). */
  get heap(): WasmHeap {
    return this.shared.memories.primary;
  }

  /** Stops the worker threads; later calls run on the calling thread alone. */
  dispose(): void {
    const t = this.shared.threads;
    if (!t) return;
    this.shared.threads = null;
    finalizer.unregister(this.shared);
    t.dispose();
  }

  /**
   * Sums the f32 values of `view` (which must lie in one of the kernel memories) with the streaming
   * read probe, on every thread: timing it gives the read bandwidth the kernels can hope for.
   */
  streamSum(view: ArrayBufferView): number {
    const h = this.shared.memories.heapOf(view);
    if (!h) throw new Error("streamSum: the view is not in a kernel memory");
    const floats = Math.floor(view.byteLength / 4), t = this.shared.threads;
    if (!t) return h.k.streamSum(view.byteOffset, floats);
    t.run(h, "stream", { ptr: view.byteOffset, floats });
    let sum = 0;
    for (let i = 0; i < t.size; i++) sum += t.result(i);
    return sum;
  }

  // ---- placing arrays ----

  /** The heap holding `w` (the call runs there), or the primary one for weights from elsewhere. */
  private heapFor(w: ArrayBufferView | null): WasmHeap {
    return (w && this.shared.memories.heapOf(w)) || this.shared.memories.primary;
  }

  /** Runs a job on every thread when it reads at least `bytes` (of weights; of KV cache for attention), else on this one. */
  private exec<J extends Job>(h: WasmHeap, job: J, bytes: number, args: JobArgs<J>): void {
    const t = this.shared.threads;
    if (t && bytes >= this.shared.parallelMinBytes) return t.run(h, job, args);
    runSlice(h.k, job, args, 0, 1, ONE_RESULT);
  }

  /** Threads a call on `bytes` of weights runs on (for sizing per-thread scratch). */
  private threadsFor(bytes: number): number {
    const t = this.shared.threads;
    return t && bytes >= this.shared.parallelMinBytes ? t.size : 1;
  }

  // ---- Kernels ----

  embed(out: Float32Array, table: Bf16Matrix, tokens: ArrayLike<number>): void {
    const T = tokens.length, H = table.cols;
    const h = this.heapFor(table.data);
    const [po, pt, pw] = h.scratch.take(T * H * 4, T * 4, need(h, table.data));
    const w = place(h, table.data, pw);
    for (let t = 0; t < T; t++) h.i32[(pt >>> 2) + t] = tokens[t];
    h.k.bf16Embed(po, w, pt, T, H);
    get(h, out, po, T * H);
  }

  rmsnorm(out: Float32Array, x: Float32Array, scale: Float32Array, eps: number, T: number, n: number): void {
    const h = this.heapFor(scale);
    const [px, ps] = h.scratch.take(T * n * 4, need(h, scale, n * 4));
    put(h, x, T * n, px);
    const s = place(h, scale, ps, n * 4);
    h.k.rmsnorm(px, px, s, eps, T, n);
    get(h, out, px, T * n);
  }

  /**
   * The experts into the kernel layout (`prepareExperts`). In `fast` with 8-bit activations (the
   * relaxed build's; `fastBits: 8`): an int8 form (kernels/q8.ts) of each streamed matrix that does not
   * have one yet (weights loaded by another allocator), made beside its bf16. Its 7-bit codes would undo
   * what 16-bit activations keep, so that precision goes without.
   */
  prepare(weights: ModelWeights): void {
    for (const l of weights.layers) {
      this.prepareExperts(l.mlp1);
      this.prepareExperts(l.mlp2);
    }
    if (!this.readsInt8) return;
    for (const l of weights.layers) {
      this.int8Copy(l.qkv);
      this.int8Copy(l.out);
    }
    this.int8Copy(weights.unembedding);
  }

  /**
   * Rearranges the experts' blocks and scales in place, once, into the kernel layout (kernels/mxfp4.ts:
   * rows block-interleaved in groups of four). The weights then hold that layout, not the checkpoint's:
   * only these kernels may read them. Experts outside the kernel memories are left as they are (each
   * call stages and rearranges the expert it reads).
   */
  prepareExperts(w: Mxfp4Experts): void {
    const done = this.shared.kernelLayout, mem = this.shared.memories;
    const hb = mem.heapOf(w.blocks), hs = mem.heapOf(w.scales);
    if (done.has(w.blocks) || !hb || !hs) return;
    const nb = w.cols / 32;
    for (const [h, bytes, unit] of [[hb, w.blocks, 16], [hs, w.scales, 1]] as const) {
      const tmpBytes = 4 * nb * unit; // one group of four rows, per thread
      const [tmp] = h.scratch.take(tmpBytes * this.threadsFor(bytes.byteLength));
      this.exec(h, "interleave", bytes.byteLength, { p: bytes.byteOffset, experts: w.experts, rows: w.rows, nb, unit, tmp, tmpBytes });
    }
    done.add(w.blocks);
  }

  /** In `fast` with 8-bit activations: what the int8 forms of the streamed matrices save against their
   * bf16 (a negative number: the loader converts them in place, `streamed`). */
  preparedBytes(c: ModelConfig): number {
    if (!this.readsInt8) return 0;
    const H = c.hiddenSize, qw = c.numHeads * c.headDim, qkv = qw + 2 * c.numKvHeads * c.headDim;
    const saved = (rows: number, cols: number) => (cols % 32 === 0 ? q8Bytes(rows, cols) - 2 * rows * cols : 0);
    return saved(c.vocabSize, H) + c.numLayers * (saved(qkv, H) + saved(H, qw));
  }

  /** Whether matmuls read the int8 forms (`fast` with 8-bit activations; see `prepare`). */
  get readsInt8(): boolean {
    return this.precision === "fast" && this.fastBits === 8;
  }

  /** The allocator's `streamed` in `fast` (8-bit): an empty int8 form that the loader fills, in place of bf16. */
  private streamed(rows: number, cols: number): StreamedMatrix | undefined {
    const q = this.newForm(rows, cols);
    if (!q) return undefined;
    const matrix: Bf16Matrix = { rows, cols, data: new Uint16Array(0) };
    this.shared.q8.set(matrix.data, q);
    this.shared.int8Only = true;
    return { matrix, bytes: q.bytes, write: (row0, bf16) => this.pack(q, row0, bf16) };
  }

  /** A zero-filled int8 form of a [rows, cols] matrix (codes, then scales, in one allocation: one memory);
   * none when cols % 32 != 0. */
  private newForm(rows: number, cols: number): Q8Form | undefined {
    if (cols % 32 !== 0) return undefined;
    const codeBytes = Math.ceil(rows / 4) * (cols / 32) * 128, bytes = q8Bytes(rows, cols);
    const p = this.shared.memories.allocate(bytes, "int8 form");
    const heap = this.shared.memories.heapOf(p)!;
    return { heap, codes: p.byteOffset, scales: p.byteOffset + codeBytes, rows, cols, bytes };
  }

  /** Packs bf16 rows row0 .. (bf16: [n, cols], staged into the form's memory when it is not there) into q. */
  private pack(q: Q8Form, row0: number, bf16: Uint8Array): void {
    const n = bf16.byteLength / (2 * q.cols);
    if (!Number.isInteger(n) || row0 < 0 || row0 + n > q.rows) {
      throw new Error(`int8 form: ${bf16.byteLength} bytes at row ${row0} are not whole rows of a [${q.rows}, ${q.cols}] bf16 matrix`);
    }
    if (n === 0) return;
    const h = q.heap;
    let src = bf16.byteOffset;
    if (!h.owns(bf16)) {
      [src] = h.scratch.take(bf16.byteLength);
      h.u8.set(bf16, src);
    }
    this.exec(h, "q8pack", bf16.byteLength, { codes: q.codes, scales: q.scales, w: src, cols: q.cols, r0: row0, rows: n });
  }

  /** The int8 form `fast` reads of w, made beside its bf16 if it has none (none when cols % 32 != 0). */
  int8Copy(w: Bf16Matrix): Q8Form | undefined {
    const have = this.shared.q8.get(w.data);
    if (have || !hasBf16(w)) return have;
    const q = this.newForm(w.rows, w.cols);
    if (!q) return undefined;
    for (let r0 = 0; r0 < w.rows; r0 += PACK_ROWS) {
      const n = Math.min(PACK_ROWS, w.rows - r0);
      this.pack(q, r0, new Uint8Array(w.data.buffer, w.data.byteOffset + r0 * w.cols * 2, n * w.cols * 2));
    }
    this.shared.q8.set(w.data, q);
    return q;
  }

  /** w's bytes, or its int8 form's when this precision reads one. */
  matmulBytes(w: Bf16Matrix, T: number): number {
    void T; // a matmul reads the weights once for any number of tokens
    const q = this.readsInt8 ? this.shared.q8.get(w.data) : undefined;
    return q ? q.bytes : w.data.byteLength;
  }

  matmul(out: Float32Array, x: Float32Array, w: Bf16Matrix, bias: Float32Array | null, T: number): void {
    if (this.readsInt8) {
      const q = this.shared.q8.get(w.data);
      if (q) return this.q8Matmul(out, x, q, bias, T);
    }
    if (!hasBf16(w)) {
      throw new GptOssError(`matmul: this [${w.rows}, ${w.cols}] matrix is held only in int8 (its model was loaded in \`fast\`), `
        + `which ${this.precision}${this.precision === "fast" ? ` with ${this.fastBits}-bit activations` : ""} does not read: load the model in this precision`);
    }
    const { rows, cols } = w;
    const h = this.heapFor(w.data);
    const bytes = rows * cols * 2, nt = this.threadsFor(bytes);
    const chunk = Math.max(1, Math.min(T, Math.floor(MAX_OUT_BYTES / (rows * 4))));
    const Tc = Math.min(T, chunk);
    const [px, pd, po, pw, pb] = h.scratch.take(Tc * cols * 4, T > 1 ? PANEL_BYTES * nt : cols * 4, Tc * rows * 4,
      need(h, w.data), need(h, bias, rows * 4));
    const wp = place(h, w.data, pw), bp = place(h, bias, pb, rows * 4);
    for (let t0 = 0; t0 < T; t0 += Tc) {
      const n = Math.min(Tc, T - t0);
      put(h, x.subarray(t0 * cols), n * cols, px);
      if (n === 1) {
        h.k.deinterleave(pd, px, 1, cols, 8); // the decode kernel's column order
        this.exec(h, "matvec", bytes, { out: po, x: pd, w: wp, bias: bp, rows, cols });
      } else {
        this.exec(h, "matmul", bytes, { out: po, x: px, w: wp, bias: bp, rows, cols, T: n, panels: pd });
      }
      get(h, out, po, n * rows, t0 * rows);
    }
  }

  /** out = W x + bias for T tokens from W's int8 form: x quantized per 32-block as the expert kernels
   * do, the tokens in chunks that bound the scratch. */
  private q8Matmul(out: Float32Array, x: Float32Array, q: Q8Form, bias: Float32Array | null, T: number): void {
    const h = q.heap, { rows, cols } = q, nb = cols / 32;
    const Tc = Math.max(1, Math.min(T, Math.floor(MAX_OUT_BYTES / (rows * 4))));
    const [px, pq, pxs, pqs, psum, po] = h.scratch.take(Tc * cols * 4, Tc * cols * 2, Tc * nb * 4, Tc * nb * 4, Tc * nb * 4, Tc * rows * 4);
    for (let t0 = 0; t0 < T; t0 += Tc) {
      const n = Math.min(Tc, T - t0);
      put(h, x.subarray(t0 * cols), n * cols, px);
      h.k.quantize(pq, pxs, pqs, px, n, cols, this.qmax);
      // The codes carry +64: remove 64 * sum(q) per block (quantize stores 12 * sum(q), the MXFP4 offset).
      const i32 = h.i32, s = pqs >>> 2, d = psum >>> 2;
      for (let i = 0; i < n * nb; i++) i32[d + i] = (i32[s + i] / 12) * 64;
      this.exec(h, "q8matmul", q.bytes, { out: po, xq: pq, xs: pxs, sums: psum, codes: q.codes, scales: q.scales, rows, cols, n });
      get(h, out, po, n * rows, t0 * rows);
    }
    if (bias) for (let t = 0; t < T; t++) for (let r = 0; r < rows; r++) out[t * rows + r] += bias[r];
  }

  rope(x: Float32Array, cos: Float32Array, sin: Float32Array, T: number, heads: number, d: number): void {
    const h = this.shared.memories.primary;
    const n = T * heads * d, half = (T * d) / 2;
    const [px, pc, ps] = h.scratch.take(n * 4, half * 4, half * 4);
    put(h, x, n, px);
    put(h, cos, half, pc);
    put(h, sin, half, ps);
    h.k.rope(px, pc, ps, T, heads, d);
    get(h, x, px, n);
  }

  /** A layer's KV cache in the kernel memory, where `attention` reads it in place (kv.ts). */
  createLayerKV(shape: LayerKVShape): WasmLayerKV {
    return new WasmLayerKV(this.shared.kv, shape);
  }

  attention(out: Float32Array, chunk: AttentionChunk, cache: LayerKV, sinks: Float32Array, heads: AttentionHeads): void {
    const { q, k, v, pos0, T } = chunk, { nq, nkv, headDim: d } = heads;
    // A cache of these memories is read where it is; any other (JavaScript arrays) has the rows the
    // chunk sees copied into scratch first, as a ring that does not wrap.
    const own = cache instanceof WasmLayerKV && cache.regions === this.shared.kv ? cache : null;
    const h = own && own.capacity > 0 ? own.heap : this.heapFor(sinks);
    const row = nkv * d, first0 = firstVisible(pos0, cache.window);
    const cached = pos0 - first0, n = cached + T, kvBytes = 2 * n * row * 4;
    const [pq, pk, pv, ps, po, psc, pr] = h.scratch.take(T * nq * d * 4, T * row * 4, T * row * 4,
      need(h, sinks, nq * 4), T * nq * d * 4, attentionScratch(nq / nkv, n) * this.threadsFor(kvBytes), own ? 0 : 2 * cached * row * 4);
    put(h, q, T * nq * d, pq);
    put(h, k, T * row, pk);
    put(h, v, T * row, pv);
    let ring = { ringK: pr, ringV: pr + cached * row * 4, base: first0, cap: Math.max(1, cached), ringStride: row, ringHead: d };
    if (own && own.capacity > 0) {
      ring = { ringK: own.keys, ringV: own.values, base: 0, cap: own.capacity, ringStride: d, ringHead: own.capacity * d }; // head-major
    } else if (cached > 0) {
      const f32 = h.f32, k0 = ring.ringK >>> 2, v0 = ring.ringV >>> 2;
      cache.read(first0, pos0, f32.subarray(k0, k0 + cached * row), f32.subarray(v0, v0 + cached * row));
    }
    const s = place(h, sinks, ps, nq * 4);
    this.exec(h, "attention", kvBytes, { out: po, q: pq, ...ring, keys: pk, values: pv, T, cached, window: cache.window, pos0,
      sinks: s, nq, nkv, d, scores: psc });
    get(h, out, po, T * nq * d);
    cache.store(pos0, T, k, v);
  }

  topk(index: Int32Array, weight: Float32Array, logits: Float32Array, T: number, E: number, k: number): void {
    const h = this.shared.memories.primary;
    const [pl, pi, pw] = h.scratch.take(T * E * 4, T * k * 4, T * k * 4);
    put(h, logits, T * E, pl);
    h.k.topk(pi, pw, pl, T, E, k);
    index.set(h.i32.subarray(pi >>> 2, (pi >>> 2) + T * k));
    get(h, weight, pw, T * k);
  }

  expertUp(act: Float32Array, x: Float32Array, w: Mxfp4Experts, bias: Float32Array, expert: number,
    rows: Int32Array, n: number, swigluLimit: number, swigluAlpha: number, add?: Float32Array | null): void {
    const H = w.cols, I = w.rows / 2;
    for (let i0 = 0; i0 < n; i0 += EXPERT_CHUNK) {
      const m = Math.min(EXPERT_CHUNK, n - i0);
      const nt = this.threadsFor(expertBytes(w)), stride = m > 1 ? Math.max(m * w.rows * 4 + PANEL_BYTES, tileScratch(m, H)) : 64;
      const s = this.stageExpert(w, bias, expert, m, I * 4, nt * stride, add ? m * w.rows * 4 : 0);
      const h = s.heap;
      for (let i = 0; i < m; i++) put(h, x.subarray(rows[i0 + i] * H), H, s.raw + i * H * 4); // gather the routed rows
      if (add) put(h, add.subarray(i0 * w.rows), m * w.rows, s.extra);
      this.prepareInput(s, m, H);
      this.exec(h, "up", expertBytes(w), { act: s.out, x: s.input, xs: s.xs, qs: s.qs, blocks: s.blocks, scales: s.scales, bias: s.bias,
        I, cols: H, n: m, limit: swigluLimit, alpha: swigluAlpha, fast: this.precision === "fast" ? 1 : 0, scratch: s.kernel, stride,
        add: add ? s.extra : 0 });
      get(h, act, s.out, m * I, i0 * I);
    }
  }

  expertDown(out: Float32Array, act: Float32Array, w: Mxfp4Experts, bias: Float32Array, expert: number,
    rows: Int32Array, weight: Float32Array, n: number): void {
    const H = w.rows, I = w.cols;
    for (let i0 = 0; i0 < n; i0 += EXPERT_CHUNK) {
      const m = Math.min(EXPERT_CHUNK, n - i0);
      const nt = this.threadsFor(expertBytes(w));
      const stride = m > 1 ? Math.max(PANEL_BYTES, tileScratch(m, I)) : PANEL_BYTES;
      const s = this.stageExpert(w, bias, expert, m, H * 4, nt * stride, m * 4);
      const h = s.heap;
      put(h, act.subarray(i0 * I), m * I, s.raw);
      put(h, weight.subarray(i0), m, s.extra);
      this.prepareInput(s, m, I);
      this.exec(h, "down", expertBytes(w), { y: s.out, x: s.input, xs: s.xs, qs: s.qs, blocks: s.blocks, scales: s.scales, bias: s.bias,
        rows: H, cols: I, n: m, weight: s.extra, fast: this.precision === "fast" ? 1 : 0, scratch: s.kernel, stride });
      // out[rows[i], :] += y[i, :]  (the kernel already applied the routing weight)
      const y = h.f32, y0 = s.out >>> 2;
      for (let i = 0; i < m; i++) {
        const o = rows[i0 + i] * H, yi = y0 + i * H;
        for (let r = 0; r < H; r++) out[o + r] += y[yi + r];
      }
    }
  }

  /** out = B (A x) of a LoRA pair, in the memory holding the pair (staged there when it is not in one),
   * on this thread: it reads a few hundred KB where the matrix it adapts reads tens of MB. */
  lowRank(out: Float32Array, x: Float32Array, w: LowRank, n: number): void {
    const { rank, cols, rows } = w;
    const h = this.heapFor(w.a);
    const chunk = Math.max(1, Math.min(n, Math.floor(MAX_OUT_BYTES / (Math.max(rows, cols) * 4))));
    const [px, po, pu, pa, pb] = h.scratch.take(chunk * cols * 4, chunk * rows * 4, rank * 4, need(h, w.a), need(h, w.b));
    const a = place(h, w.a, pa), b = place(h, w.b, pb);
    for (let t0 = 0; t0 < n; t0 += chunk) {
      const m = Math.min(chunk, n - t0);
      put(h, x.subarray(t0 * cols), m * cols, px);
      h.k.lowRank(po, px, a, b, pu, rank, cols, rows, m);
      get(h, out, po, m * rows, t0 * rows);
    }
  }

  /** Scratch and weight pointers for one expert call with n tokens (see ExpertCall), in the heap of its blocks. */
  private stageExpert(w: Mxfp4Experts, bias: Float32Array, e: number, n: number, outBytesPerToken: number,
    kernelBytes: number, extraBytes: number): ExpertCall {
    const cols = w.cols, nb = cols / 32;
    // This expert's slices: views into the same buffers, so weights in the memory stay in place.
    const blocks = w.blocks.subarray(e * w.rows * nb * 16, (e + 1) * w.rows * nb * 16);
    const scales = w.scales.subarray(e * w.rows * nb, (e + 1) * w.rows * nb);
    const b = bias.subarray(e * w.rows, (e + 1) * w.rows);
    const h = this.heapFor(blocks);
    // Experts in the checkpoint's row order (not prepared) are staged in the kernel layout.
    const inter = this.shared.kernelLayout.has(w.blocks);
    const [out, raw, input, tmp, xs, qs, kernel, extra, pbl, psc, pb, pt] = h.scratch.take(n * outBytesPerToken, n * cols * 4,
      n * cols * 4, n * cols * 2, n * nb * 4, n * nb * 4, kernelBytes, extraBytes,
      inter ? need(h, blocks) : blocks.byteLength, inter ? need(h, scales) : scales.byteLength, need(h, b), inter ? 0 : 64 * nb);
    const call = { heap: h, out, raw, input, tmp, xs, qs, kernel, extra,
      blocks: inter ? place(h, blocks, pbl) : copy(h, blocks, pbl), scales: inter ? place(h, scales, psc) : copy(h, scales, psc),
      bias: place(h, b, pb) };
    if (!inter) {
      h.k.interleave4(call.blocks, 1, w.rows, nb, 16, pt);
      h.k.interleave4(call.scales, 1, w.rows, nb, 1, pt);
    }
    return call;
  }

  /**
   * The expert kernels' input form of n rows of `cols` f32 at src (see kernels/mxfp4.ts). Decode
   * (n = 1): exact = an exact two-i16 split, fast = quantized. Prefill (n > 1): f32 deinterleaved by
   * 32; in fast, quantized as in decode (relaxed build) or those quantized values as f32 (baseline), so
   * prefill and decode see the same activations.
   */
  private prepareInput(s: ExpertCall, n: number, cols: number): void {
    const k = s.heap.k;
    if (this.precision === "fast") {
      // The relaxed build multiplies int8 in prefill too; the baseline's prefill is f32 (gemm.ts).
      const f32 = n > 1 && this.simd !== "relaxed-simd";
      k.quantize(f32 ? s.tmp : s.input, s.xs, s.qs, s.raw, n, cols, this.qmax);
      if (f32) k.dequantize(s.input, s.tmp, s.xs, n, cols);
    } else if (n > 1) {
      k.deinterleave(s.input, s.raw, n, cols, 32);
    } else {
      k.split(s.input, s.xs, s.raw, n, cols);
    }
  }
}

/** The result slot of a job run on the calling thread alone. */
const ONE_RESULT = new Float32Array(1);

/** Bytes of the int8 form of a [rows, cols] bf16 matrix (kernels/q8.ts): rows padded to a multiple of
 * 4, 32 one-byte codes and one bf16 scale per 32-block. */
function q8Bytes(rows: number, cols: number): number {
  return Math.ceil(rows / 4) * 4 * (cols / 32) * (32 + 2);
}

/** Per-thread scratch of the int8 prefill tiles (kernels/mxfp4.ts `tileScratch`) for n tokens of `cols`. */
function tileScratch(n: number, cols: number): number {
  return n * (32 + (cols / 32) * 40) + 256;
}

/** Scratch bytes `a` needs in heap h: none when it already lives there. */
function need(h: WasmHeap, a: ArrayBufferView | null, bytes = a?.byteLength ?? 0): number {
  return a && !h.owns(a) ? bytes : 0;
}

/** The pointer of `a` in h (or 0 for null): its own place when it lives there, else a copy at `at`. */
function place(h: WasmHeap, a: ArrayBufferView | null, at: number, bytes = a?.byteLength ?? 0): number {
  if (!a) return 0;
  if (h.owns(a)) return a.byteOffset;
  h.u8.set(new Uint8Array(a.buffer, a.byteOffset, bytes), at);
  return at;
}

/** A copy of `a` at `at` in h (even when h holds it). */
function copy(h: WasmHeap, a: Uint8Array, at: number): number {
  h.u8.set(a, at);
  return at;
}

function put(h: WasmHeap, src: Float32Array, n: number, at: number): void {
  h.f32.set(src.length === n ? src : src.subarray(0, n), at >>> 2);
}

function get(h: WasmHeap, dst: Float32Array, at: number, n: number, dstOffset = 0): void {
  dst.set(h.f32.subarray(at >>> 2, (at >>> 2) + n), dstOffset);
}
