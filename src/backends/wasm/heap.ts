// The WebAssembly side of the kernels: the compiled module (baseline or relaxed SIMD), and one heap =
// one shared memory, an instance of the module over it, and a bump allocator. Weights are allocated
// once, at load, and never move: the memory is shared (SharedArrayBuffer-backed, with a maximum), so
// growing it does not detach the views already handed out (a plain memory would), and worker threads
// run their own instances over the same memory. A model larger than one memory (4 GiB) spans several
// heaps (memories.ts).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The kernel module's exports (kernels/index.ts). Pointers are byte offsets into the memory. */
export interface KernelExports {
  initConstants(): void;
  staticEnd(): number;
  deinterleave(dst: number, src: number, rows: number, cols: number, group: number): void;
  bf16Matvec(out: number, x: number, w: number, bias: number, rows: number, cols: number): void;
  bf16Matmul(out: number, x: number, w: number, bias: number, rows: number, cols: number, T: number, ostride: number, panel: number): void;
  bf16Embed(out: number, table: number, tokens: number, T: number, cols: number): void;
  mxfp4Up(act: number, x: number, xs: number, qs: number, blocks: number, scales: number, bias: number,
    I: number, cols: number, n: number, limit: number, alpha: number, fast: number, scratch: number, astride: number, add: number): void;
  mxfp4Down(y: number, a: number, as: number, qs: number, blocks: number, scales: number, bias: number,
    rows: number, cols: number, n: number, weight: number, fast: number, scratch: number, ystride: number): void;
  interleave4(p: number, experts: number, rows: number, nb: number, unit: number, tmp: number): void;
  q8Matmul(out: number, xq: number, xs: number, sums: number, codes: number, scales: number, rows: number, cols: number,
    n: number, ostride: number): void;
  q8Pack(codes: number, scales: number, w: number, cols: number, r0: number, r1: number): void;
  quantize(q: number, xs: number, qs: number, src: number, n: number, cols: number, qmax: number): void;
  split(q: number, xs: number, src: number, n: number, cols: number): void;
  dequantize(dst: number, q: number, xs: number, n: number, cols: number): void;
  attention(out: number, q: number, k: number, v: number, n: number, sinks: number, nq: number, nkv: number, d: number, scores: number, stride: number,
    nr: number, start: number, cap: number, ck: number, cv: number, rstride: number, rhead: number): void;
  rmsnorm(out: number, x: number, scale: number, eps: number, T: number, n: number): void;
  rope(x: number, cos: number, sin: number, T: number, heads: number, d: number): void;
  topk(index: number, weight: number, logits: number, T: number, E: number, k: number): void;
  streamSum(ptr: number, n: number): number;
  lowRank(out: number, x: number, a: number, b: number, u: number, rank: number, cols: number, rows: number, n: number): void;
}

export type SimdLevel = "simd128" | "relaxed-simd";

/** The part of the WebAssembly JavaScript API used here (TypeScript's libs for Node do not declare it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
export interface WasmModule {
  readonly __brand: "WebAssembly.Module";
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const PAGE = 65536;
/** 4 GiB, the wasm32 limit: every memory is created with this maximum (address space only; pages
 * are committed as the memory grows). */
export const MAX_PAGES = 65536;
export const MAX_MEMORY_BYTES = MAX_PAGES * PAGE;

/** build/ holds the .wasm files; this file runs from src/backends/wasm (tests) or dist/src/backends/wasm. */
function buildFile(name: string): string {
  for (const up of ["../../../build/", "../../../../build/"]) {
    const path = fileURLToPath(new URL(up + name, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`build/${name} not found: run \`npm run build:kernels\` (npm ci builds it)`);
}

const modules = new Map<SimdLevel, Promise<WasmModule>>();
const warmed = new Set<SimdLevel>();

/** The best build this runtime accepts (feature-tested with WebAssembly.validate, never by version),
 * or the one asked for. */
export function chooseSimd(want?: SimdLevel): { level: SimdLevel; bytes?: Uint8Array } {
  if (want === "simd128") return { level: "simd128" };
  const bytes = readFileSync(buildFile("kernels-relaxed.wasm"));
  if (WA.validate(bytes)) return { level: "relaxed-simd", bytes };
  if (want === "relaxed-simd") throw new Error("this runtime does not support relaxed SIMD");
  return { level: "simd128" };
}

/** The compiled kernel module of a build (compiled once per process). */
export async function compileKernels(level: SimdLevel, bytes?: Uint8Array): Promise<WasmModule> {
  let m = modules.get(level);
  if (m === undefined) {
    const b = bytes ?? readFileSync(buildFile(level === "relaxed-simd" ? "kernels-relaxed.wasm" : "kernels.wasm"));
    m = WA.compile(b);
    modules.set(level, m);
  }
  return m;
}

/** The kernel module over `memory`: a synchronous instantiation (the module is small), so a heap can be
 * opened in the middle of a load; the worker threads do the same over the same memories. */
export function instantiateKernels(module: WasmModule, memory: WasmMemory): KernelExports {
  const k = new WA.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  k.initConstants();
  if (k.staticEnd() > PAGE) throw new Error("kernel module: static data beyond 64 KiB");
  return k;
}

/** One memory, one instance, and the allocator that places bytes in the memory. */
export class WasmHeap {
  /** Every SharedArrayBuffer the memory has handed out (one per size it had): views on any of them
   * are views of this memory. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private top = PAGE; // page 0 holds the module's static data (tables, constants); pointer 0 means "none"
  u8!: Uint8Array;
  i32!: Int32Array;
  f32!: Float32Array;

  /** Per-call working space in this memory (activations of the calls whose weights live here). */
  readonly scratch: Scratch;

  private constructor(readonly memory: WasmMemory, readonly k: KernelExports, readonly simd: SimdLevel,
    /** this heap's place in its set of memories (memories.ts); the worker threads use the same numbers */
    readonly index: number) {
    this.refresh();
    this.scratch = new Scratch(this);
  }

  /** A new memory and instance of `module` (a build of `level`). */
  static create(module: WasmModule, level: SimdLevel, index: number): WasmHeap {
    const memory = new WA.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const heap = new WasmHeap(memory, instantiateKernels(module, memory), level, index);
    if (!warmed.has(level)) {
      warmed.add(level);
      heap.warmUp();
    }
    return heap;
  }

  /** The buffer views of this memory are made from (after any growth). */
  get buffer(): ArrayBufferLike {
    return this.u8.buffer;
  }

  /** Bytes in use. */
  get used(): number {
    return this.top;
  }

  /** A new, zero-filled region of `bytes` (never freed), `align`-aligned; returns its pointer. */
  alloc(bytes: number, align = 64): number {
    const p = Math.ceil(this.top / align) * align;
    const end = p + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new RangeError(`WebAssembly memory ${this.index} is full: ${end} bytes needed, a memory holds at most 4 GiB`);
      }
      this.memory.grow(pages);
      this.refresh();
    }
    this.top = end;
    return p;
  }

  /**
   * Runs every kernel on tiny inputs a few hundred times. V8 first compiles WebAssembly with its
   * baseline compiler and optimizes a function only after it has run a while (and a running call
   * never switches), so without this the first large calls run several times slower. The compiled
   * code is shared by every instance of the module, so this runs once per build per process.
   */
  warmUp(): void {
    const k = this.k, base = this.alloc(1 << 18);
    const p = (i: number) => base + i * 16384; // 16 regions of 16 KiB, zero-filled
    for (let i = 0; i < 300; i++) {
      k.deinterleave(p(1), p(0), 2, 64, 32);
      k.bf16Matvec(p(2), p(1), p(3), 0, 16, 64);
      k.bf16Matmul(p(2), p(1), p(3), p(4), 16, 64, 3, 16, p(5));
      k.quantize(p(6), p(7), p(8), p(0), 1, 64, 127);
      k.mxfp4Up(p(9), p(6), p(7), p(8), p(10), p(11), p(12), 8, 64, 1, 7, 1.702, 1, p(13), 8, 0);
      k.mxfp4Down(p(9), p(6), p(7), p(8), p(10), p(11), p(12), 8, 64, 1, p(14), 1, p(13), 8);
      k.split(p(6), p(7), p(0), 1, 64);
      k.mxfp4Up(p(9), p(6), p(7), p(8), p(10), p(11), p(12), 8, 64, 1, 7, 1.702, 0, p(13), 8, 0);
      k.mxfp4Down(p(9), p(6), p(7), p(8), p(10), p(11), p(12), 8, 64, 1, p(14), 0, p(13), 8);
      k.mxfp4Up(p(9), p(1), p(7), p(8), p(10), p(11), p(12), 8, 64, 2, 7, 1.702, 0, p(13), 8, 0);
      k.mxfp4Down(p(9), p(1), p(7), p(8), p(10), p(11), p(12), 8, 64, 2, p(14), 0, p(13), 8);
      k.mxfp4Up(p(9), p(6), p(7), p(8), p(10), p(11), p(12), 8, 64, 2, 7, 1.702, 1, p(13), 8, 0); // relaxed build: int8 tiles
      k.mxfp4Down(p(9), p(6), p(7), p(8), p(10), p(11), p(12), 8, 64, 2, p(14), 1, p(13), 8);
      k.attention(p(2), p(0), p(1), p(3), 8, p(4), 4, 2, 16, p(5), 32, 4, 3, 4, p(6), p(7), 16, 64); // 4 ring rows (wrapping), 4 chunk rows
      k.rmsnorm(p(2), p(0), p(1), 1e-5, 2, 64);
      k.rope(p(2), p(0), p(1), 2, 2, 16);
      k.topk(p(2), p(3), p(0), 2, 8, 4);
      k.bf16Embed(p(2), p(3), p(4), 2, 64);
      k.streamSum(p(0), 4096);
      k.lowRank(p(2), p(0), p(1), p(3), p(4), 4, 64, 67, 2);
      k.q8Pack(p(10), p(11), p(3), 64, 0, 8);
      k.q8Matmul(p(2), p(6), p(7), p(8), p(10), p(11), 8, 64, 1, 8);
      k.q8Matmul(p(2), p(6), p(7), p(8), p(10), p(11), 8, 64, 2, 8);
    }
    this.u8.fill(0, base, base + (1 << 18)); // allocations are zero-filled; this region is reused
    this.top = base;
  }

  /** Whether `view` lies in this memory, so that a kernel can read it at view.byteOffset. */
  owns(view: ArrayBufferView): boolean {
    if (this.buffers.has(view.buffer)) return true;
    if (this.memory.buffer.byteLength !== this.u8.byteLength) this.refresh(); // grown by someone else
    return this.buffers.has(view.buffer);
  }

  private refresh(): void {
    const b = this.memory.buffer;
    this.buffers.add(b);
    this.u8 = new Uint8Array(b);
    this.i32 = new Int32Array(b);
    this.f32 = new Float32Array(b);
  }
}

/**
 * Per-call working space: regions of given sizes carved from one reusable block, which is replaced by
 * a larger one (the old one is abandoned) when a call needs more. Valid until the next call.
 */
export class Scratch {
  private base = 0;
  private size = 0;

  constructor(private readonly heap: WasmHeap) {}

  take(...bytes: number[]): number[] {
    const sizes = bytes.map((b) => Math.ceil(b / 64) * 64);
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total > this.size) {
      this.size = Math.max(total, Math.min(2 * this.size, total + (64 << 20)));
      this.base = this.heap.alloc(this.size);
    }
    let p = this.base;
    return sizes.map((s) => {
      const at = p;
      p += s;
      return at;
    });
  }
}
