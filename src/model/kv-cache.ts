// Keys (after RoPE) and values of every past position, per layer. Sliding layers only ever look back
// `sliding_window` positions, so they keep a ring of at most that many rows (position p in row
// p % capacity); full layers keep every position. Both grow by doubling as positions arrive, a full layer
// up to the context length (the model's max_position_embeddings, or less when the caller asks for less),
// a ring up to its window (or the context length, when the window is longer). Until a ring reaches that
// limit nothing has wrapped (position p is in row p), so growing it is a plain copy.
//
// Where the rows live is the backend's choice (`Kernels.createLayerKV`: the wasm backend keeps them in
// its kernel memory, where attention reads them in place); `LayerCache` keeps them in JavaScript arrays.
// The model and the tools around it (sessions, traces) see only `LayerKV`.
import type { ModelConfig } from "../checkpoint/config.js";
import { firstVisible, type Kernels, type LayerKV } from "../backends/kernels.js";

/** One layer's rows: what the attention kernel reads and stores through (`LayerKV`). */
export class LayerCache implements LayerKV {
  /** [capacity, nkv * d] */
  k: Float32Array;
  /** [capacity, nkv * d] */
  v: Float32Array;

  constructor(
    /** nkv * d: one position's keys (or values) */
    readonly rowWidth: number,
    /** positions a query looks back over, itself included (0: all of them) */
    readonly window: number,
    /** rows the layer starts with */
    initialCapacity: number,
    /** the most rows it grows to: a ring wraps around once it holds that many */
    readonly limit: number,
  ) {
    const capacity = Math.min(initialCapacity, limit);
    this.k = new Float32Array(capacity * rowWidth);
    this.v = new Float32Array(capacity * rowWidth);
  }

  /** a ring: positions older than the window are overwritten */
  get sliding(): boolean {
    return this.window > 0;
  }

  /** Rows held now (a ring's are reused once it reaches its limit). */
  get capacity(): number {
    return this.k.length / this.rowWidth;
  }

  get bytes(): number {
    return this.k.byteLength + this.v.byteLength;
  }

  read(from: number, to: number, k: Float32Array, v: Float32Array): void {
    // At most two runs of the ring.
    const w = this.rowWidth, cap = this.capacity;
    for (let p = from, at = 0; p < to;) {
      const r = p % cap, len = Math.min(to - p, cap - r);
      k.set(this.k.subarray(r * w, (r + len) * w), at * w);
      v.set(this.v.subarray(r * w, (r + len) * w), at * w);
      p += len;
      at += len;
    }
  }

  store(pos: number, T: number, k: Float32Array, v: Float32Array): void {
    const w = this.rowWidth;
    if (pos + T > this.capacity && this.capacity < this.limit) this.grow(pos + T);
    const cap = this.capacity;
    for (let t = 0; t < T; t++) {
      const at = ((pos + t) % cap) * w;
      this.k.set(k.subarray(t * w, (t + 1) * w), at);
      this.v.set(v.subarray(t * w, (t + 1) * w), at);
    }
  }

  private grow(needed: number): void {
    let cap = this.capacity;
    while (cap < needed) cap *= 2;
    cap = Math.min(cap, this.limit);
    const k = new Float32Array(cap * this.rowWidth), v = new Float32Array(cap * this.rowWidth);
    k.set(this.k);
    v.set(this.v);
    this.k = k;
    this.v = v;
  }
}

/** The rows a sliding layer's queries may still look back on, as they were at `at` positions. */
export interface KVSnapshot {
  at: number;
  /** per layer, keys and values of positions from .. at - 1 (none for full layers) */
  layers: { from: number; k: Float32Array; v: Float32Array }[];
}

export class KVCache {
  readonly layers: LayerKV[];
  /** positions stored so far (the next token's position) */
  length = 0;

  /** the most positions this cache holds; the forward pass refuses to run past it */
  readonly contextLength: number;

  constructor(readonly config: ModelConfig, initialCapacity = 256, contextLength = config.maxPositionEmbeddings,
    /** where the rows live: the backend's own layers when it makes them, else JavaScript arrays */
    kernels?: Pick<Kernels, "createLayerKV">) {
    if (!(Number.isInteger(contextLength) && contextLength >= 1 && contextLength <= config.maxPositionEmbeddings)) {
      throw new RangeError(`context length must be an integer from 1 to the model's limit of ${config.maxPositionEmbeddings} (max_position_embeddings), got ${contextLength}`);
    }
    this.contextLength = contextLength;
    const rowWidth = config.numKvHeads * config.headDim;
    this.layers = config.layerTypes.map((type, l) => {
      const window = type === "sliding_attention" ? config.slidingWindow : 0;
      const limit = window ? Math.min(window, contextLength) : contextLength;
      return kernels?.createLayerKV?.({ rowWidth, headDim: config.headDim, window, initialCapacity, limit, name: `layer ${l}` })
        ?? new LayerCache(rowWidth, window, initialCapacity, limit);
    });
  }

  /** The first position a query at `pos` may see in layer `layer`. */
  firstVisible(layer: number, pos: number): number {
    return firstVisible(pos, this.window(layer));
  }

  /** How many positions a query in `layer` looks back over, itself included (0: all of them). */
  window(layer: number): number {
    return this.layers[layer].window;
  }

  /** Forget everything (positions restart at 0). */
  reset(): void {
    this.length = 0;
  }

  /** Forgets everything and gives the rows' memory back (a backend's memory is not collected with the
   * cache); the cache still works, growing again from its first rows. */
  release(): void {
    this.length = 0;
    for (const l of this.layers) l.release?.();
  }

  /**
   * A copy of what the sliding layers' rings hold now (`length` positions), which later positions
   * overwrite: `restore` puts it back. Full layers keep every position, so need none.
   */
  snapshot(): KVSnapshot {
    const at = this.length;
    const layers = this.layers.map((l) => {
      const from = l.window ? firstVisible(at, l.window + 1) : at; // the window of the next query, less itself
      const w = this.config.numKvHeads * this.config.headDim, k = new Float32Array((at - from) * w), v = new Float32Array((at - from) * w);
      l.read(from, at, k, v);
      return { from, k, v };
    });
    return { at, layers };
  }

  /** Puts the rings back as `snap` saw them; the caller then sets `length` (at most snap.at). */
  restore(snap: KVSnapshot): void {
    this.layers.forEach((l, i) => {
      const { from, k, v } = snap.layers[i];
      if (snap.at > from) l.store(from, snap.at - from, k, v);
    });
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.layers.reduce((s, l) => s + l.bytes, 0);
  }
}
