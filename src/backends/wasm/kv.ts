// The KV cache in the kernel memory: each layer's keys and values live in one of the backend's
// WebAssembly memories, where the attention kernel reads them in place (kernels/attention.ts reads a
// ring's two spans and the chunk's rows), so a step stores its own rows once and copies no past ones.
// The rows are kept as model/kv-cache.ts `LayerCache` keeps them (position p in row p % capacity,
// growing by doubling up to the limit), but head-major: [nkv, capacity, d], so the rows of one KV head,
// which one attention work item reads, are contiguous.
//
// The memories only ever grow (heap.ts allocates and never frees), so the regions a cache lets go of
// (the smaller one after a grow, a released or collected cache's) go to a free list that later
// regions are cut from before a memory is asked for more.
import type { LayerKV, LayerKVShape } from "../kernels.js";
import { KVCacheFullError } from "../../util/errors.js";
import { availableMemory } from "../../checkpoint/memory.js";
import type { WasmHeap } from "./heap.js";
import type { WasmMemories } from "./memories.js";

/** A region of a memory: a layer's keys ([nkv, capacity, d] f32) then its values. */
interface Region {
  heap: WasmHeap;
  ptr: number;
  bytes: number;
}

/** Bytes below which the rest of a free region is not split off (it stays with the region taken). */
const MIN_SPLIT = 64 << 10;

/**
 * The regions of every KV cache of one set of memories, and the free ones: kept in address order and
 * merged with their free neighbours, so that the regions a growing cache leaves behind (each half the
 * size of the next) add up to room for later ones.
 */
export class KVRegions {
  /** free regions, by memory, then address; neighbours already merged */
  private readonly free: Region[] = [];
  /** Gives a collected cache's region back (a cache dropped without `release`). */
  private readonly finalizer = new FinalizationRegistry<{ region: Region | null }>((held) => this.give(held));

  constructor(private readonly memories: WasmMemories,
    /** bytes the machine can still give (a memory's pages are only backed when touched, so an
     * allocation the machine cannot back would fail later, at a worse time) */
    private readonly available: () => number = availableMemory) {}

  /** A region of at least `bytes` (zero-filled only when new): cut from the smallest free one that is
   * large enough, else new. */
  take(bytes: number, what: string): Region {
    bytes = Math.ceil(bytes / 64) * 64;
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const r = this.free[i];
      if (r.bytes >= bytes && (best < 0 || r.bytes < this.free[best].bytes)) best = i;
    }
    if (best >= 0) {
      const r = this.free[best];
      if (r.bytes - bytes < MIN_SPLIT) return this.free.splice(best, 1)[0];
      this.free[best] = { heap: r.heap, ptr: r.ptr + bytes, bytes: r.bytes - bytes };
      return { heap: r.heap, ptr: r.ptr, bytes };
    }
    const free = this.available();
    if (bytes > free) throw new KVCacheFullError(`${what}: the KV cache needs ${bytes} more bytes but the machine has ${free} available`);
    try {
      const view = this.memories.allocateData(bytes, what);
      return { heap: this.memories.heapOf(view)!, ptr: view.byteOffset, bytes };
    } catch (e) {
      throw new KVCacheFullError(`${what}: cannot take ${bytes} more bytes of kernel memory for the KV cache (${(e as Error).message})`);
    }
  }

  /** Puts a holder's region back on the free list (once), merged with free neighbours. */
  give(held: { region: Region | null }): void {
    const r = held.region;
    held.region = null;
    if (!r) return;
    const f = this.free, before = (a: Region, b: Region) => a.heap.index < b.heap.index || (a.heap === b.heap && a.ptr < b.ptr);
    let i = 0;
    while (i < f.length && before(f[i], r)) i++;
    f.splice(i, 0, { ...r });
    if (i + 1 < f.length && f[i + 1].heap === r.heap && f[i].ptr + f[i].bytes === f[i + 1].ptr) f[i].bytes += f.splice(i + 1, 1)[0].bytes;
    if (i > 0 && f[i - 1].heap === r.heap && f[i - 1].ptr + f[i - 1].bytes === f[i].ptr) f[i - 1].bytes += f.splice(i, 1)[0].bytes;
  }

  /** Frees `held`'s region when `owner` is collected, unless it was given back before. */
  watch(owner: object, held: { region: Region | null }): void {
    this.finalizer.register(owner, held);
  }

  /** Bytes on the free list. */
  get freeBytes(): number {
    return this.free.reduce((s, r) => s + r.bytes, 0);
  }
}

/** One layer's cache in a kernel memory; the wasm backend's attention reads it at `keys` and `values`. */
export class WasmLayerKV implements LayerKV {
  readonly rowWidth: number;
  readonly headDim: number;
  readonly window: number;
  readonly limit: number;
  private readonly initialCapacity: number;
  private readonly name: string;
  /** rows held (0 after `release`) */
  private rows = 0;
  /** the region, in a box the finalizer holds (it must not hold this object) */
  private readonly held: { region: Region | null } = { region: null };

  constructor(readonly regions: KVRegions, shape: LayerKVShape) {
    ({ rowWidth: this.rowWidth, headDim: this.headDim, window: this.window, limit: this.limit, initialCapacity: this.initialCapacity, name: this.name } = shape);
    if (!(this.headDim > 0 && this.rowWidth % this.headDim === 0)) throw new RangeError(`${this.name}: a row of ${this.rowWidth} is not whole heads of ${this.headDim}`);
    this.initialCapacity = Math.max(1, Math.min(this.initialCapacity, this.limit));
    this.resize(this.initialCapacity);
    regions.watch(this, this.held);
  }

  get sliding(): boolean {
    return this.window > 0;
  }

  /** Rows held now (a ring's are reused once it reaches its limit). */
  get capacity(): number {
    return this.rows;
  }

  get bytes(): number {
    return 2 * this.rows * this.rowWidth * 4;
  }

  /** The memory holding the rows. */
  get heap(): WasmHeap {
    return this.region().heap;
  }

  /** Pointer of the keys and of the values ([nkv, capacity, d] f32 each). */
  get keys(): number {
    return this.region().ptr;
  }

  get values(): number {
    return this.region().ptr + this.rows * this.rowWidth * 4;
  }

  read(from: number, to: number, k: Float32Array, v: Float32Array): void {
    const w = this.rowWidth, d = this.headDim, cap = this.rows, f32 = this.heap.f32, k0 = this.keys >>> 2, v0 = this.values >>> 2;
    for (let p = from; p < to; p++) {
      const r = p % cap, at = (p - from) * w;
      for (let g = 0; g * d < w; g++) {
        const o = (g * cap + r) * d;
        k.set(f32.subarray(k0 + o, k0 + o + d), at + g * d);
        v.set(f32.subarray(v0 + o, v0 + o + d), at + g * d);
      }
    }
  }

  store(pos: number, T: number, k: Float32Array, v: Float32Array): void {
    if (pos + T > this.rows && this.rows < this.limit) {
      let cap = Math.max(this.rows, this.initialCapacity);
      while (cap < pos + T) cap *= 2;
      this.resize(Math.min(cap, this.limit));
    }
    const w = this.rowWidth, d = this.headDim, cap = this.rows, f32 = this.heap.f32, k0 = this.keys >>> 2, v0 = this.values >>> 2;
    for (let t = Math.max(0, T - cap); t < T; t++) { // a chunk longer than a ring leaves only its last rows
      const r = (pos + t) % cap;
      for (let g = 0; g * d < w; g++) {
        const o = (g * cap + r) * d, at = t * w + g * d;
        f32.set(k.subarray(at, at + d), k0 + o);
        f32.set(v.subarray(at, at + d), v0 + o);
      }
    }
  }

  release(): void {
    this.regions.give(this.held);
    this.rows = 0;
  }

  /** Moves the rows into a region of `cap` rows. Until a ring reaches its limit nothing has wrapped
   * (position p is in row p), so each head's old rows are the first of its new ones. */
  private resize(cap: number): void {
    const old = this.held.region, oldRows = this.rows, w = this.rowWidth, d = this.headDim;
    const region = this.regions.take(2 * cap * w * 4, `KV cache of ${this.name} at ${cap} positions`);
    if (old) {
      const from = old.heap.f32, to = region.heap.f32, n = oldRows * d;
      for (let g = 0; g < (2 * w) / d; g++) { // the keys' heads, then the values'
        const src = (old.ptr >>> 2) + g * n;
        to.set(from.subarray(src, src + n), (region.ptr >>> 2) + g * cap * d);
      }
    }
    this.regions.give(this.held);
    this.held.region = region;
    this.rows = cap;
  }

  private region(): Region {
    const r = this.held.region;
    if (!r) throw new Error(`KV cache of ${this.name}: read after release`);
    return r;
  }
}
