// The weights of a model across several WebAssembly memories. A wasm32 memory holds at most 4 GiB and
// AssemblyScript cannot emit memory64, so a larger model (gpt-oss-20b is 12.8 GiB) is spread over
// several heaps (heap.ts), each a shared memory with its own instance of the same module.
//
// Placement happens at load, tensor by tensor. A kernel call must find all its weight operands in one
// memory (it takes pointers into one memory), so the loader announces groups of tensors used together
// (a whole layer: its matrices, expert blocks, scales and biases) and a group is placed whole in a
// heap with room for it. Each heap keeps `reserve` bytes below the 4 GiB limit free for the per-call
// scratch of the activations that visit it. A kernel call runs in the heap that holds its weights
// (`heapOf`); anything else it needs is copied into that heap per call.
import type { WeightAllocator } from "../../checkpoint/weights.js";
import { MAX_MEMORY_BYTES, PAGE, WasmHeap, type SimdLevel, type WasmModule } from "./heap.js";

/** Room left in each memory for per-call scratch (prefill activations, per-thread kernel scratch). */
export const SCRATCH_RESERVE = 256 << 20;
/** Default weight bytes per memory: what a 4 GiB memory holds beside the scratch reserve. */
export const DEFAULT_WEIGHT_BYTES_PER_MEMORY = MAX_MEMORY_BYTES - SCRATCH_RESERVE;
/** Alignment of every allocation (cache lines; the kernels need 16). */
const ALIGN = 64;

export class WasmMemories implements WeightAllocator {
  readonly heaps: WasmHeap[] = [];
  /** where the current group goes (null: no group announced, or too large to keep whole) */
  private target: WasmHeap | null = null;
  private readonly listeners: ((heap: WasmHeap) => void)[] = [];

  constructor(private readonly module: WasmModule, readonly simd: SimdLevel,
    /** the most weight bytes placed in one memory (tests set it low to split a small model) */
    readonly weightBytesPerMemory = DEFAULT_WEIGHT_BYTES_PER_MEMORY) {
    if (!(weightBytesPerMemory >= PAGE && weightBytesPerMemory <= MAX_MEMORY_BYTES)) {
      throw new RangeError(`weight bytes per memory must be between ${PAGE} and ${MAX_MEMORY_BYTES}, got ${weightBytesPerMemory}`);
    }
    this.open();
  }

  /** The first heap: activations of calls without weights (rope, top-k) run here. */
  get primary(): WasmHeap {
    return this.heaps[0];
  }

  /** Calls `fn` with every heap opened from now on (the worker threads instantiate over it). */
  onOpen(fn: (heap: WasmHeap) => void): void {
    this.listeners.push(fn);
  }

  /** The heap whose memory holds `view`, if any. */
  heapOf(view: ArrayBufferView): WasmHeap | undefined {
    for (const h of this.heaps) if (h.owns(view)) return h;
    return undefined;
  }

  /** The next allocations, `bytes` in all, are used together: keep them in one memory. */
  group(bytes: number): void {
    const need = bytes + 16 * ALIGN;
    if (need > this.weightBytesPerMemory) {
      this.target = null; // cannot be kept whole: each tensor goes where it fits, calls stage the rest
      return;
    }
    this.target = this.heaps.find((h) => h.used + need <= this.weightBytesPerMemory) ?? this.open();
  }

  allocate(byteLength: number, what: string): Uint8Array {
    if (byteLength + ALIGN > this.weightBytesPerMemory) {
      throw new RangeError(`${what}: ${byteLength} bytes is more than one WebAssembly memory holds (${this.weightBytesPerMemory} bytes for weights)`);
    }
    let heap = this.target;
    if (heap === null || heap.used + byteLength + ALIGN > MAX_MEMORY_BYTES - SCRATCH_RESERVE / 2) {
      heap = this.heaps.find((h) => h.used + byteLength + ALIGN <= this.weightBytesPerMemory) ?? this.open();
    }
    const p = heap.alloc(byteLength, ALIGN); // may grow the memory: view the buffer after it
    return new Uint8Array(heap.buffer, p, byteLength);
  }

  /**
   * `byteLength` bytes that are not weights and live on after load (a KV cache): in the first memory
   * with room below the weight limit (so each keeps its scratch reserve), else in a new one.
   */
  allocateData(byteLength: number, what: string): Uint8Array {
    if (byteLength + ALIGN > this.weightBytesPerMemory) {
      throw new RangeError(`${what}: ${byteLength} bytes is more than one WebAssembly memory holds (${this.weightBytesPerMemory} bytes)`);
    }
    const heap = this.heaps.find((h) => h.used + byteLength + ALIGN <= this.weightBytesPerMemory) ?? this.open();
    const p = heap.alloc(byteLength, ALIGN);
    return new Uint8Array(heap.buffer, p, byteLength);
  }

  /** Weight and scratch bytes of every memory. */
  get bytes(): number {
    return this.heaps.reduce((s, h) => s + h.used, 0);
  }

  private open(): WasmHeap {
    const heap = WasmHeap.create(this.module, this.simd, this.heaps.length);
    this.heaps.push(heap);
    for (const fn of this.listeners) fn(heap);
    return heap;
  }
}
