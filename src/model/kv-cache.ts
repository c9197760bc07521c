// Keys (after RoPE) and values of every past position, per layer. Sliding layers only ever look back
// `sliding_window` positions, so they keep a ring of that many rows (position p in row p % window);
// full layers keep every position and grow by doubling, up to the model's context limit.
import type { ModelConfig } from "../checkpoint/config.js";
import { firstVisible, type LayerKV } from "../backends/kernels.js";

/** One layer's rows: what the attention kernel reads and stores through (`LayerKV`). */
export class LayerCache implements LayerKV {
  /** [capacity, nkv * d] */
  k: Float32Array;
  /** [capacity, nkv * d] */
  v: Float32Array;

  constructor(
    /** nkv * d: one position's keys (or values) */
    readonly rowWidth: number,
    /** positions a query looks back over, itself included: a ring of that many rows (0: all, growing) */
    readonly window: number,
    /** rows a full layer starts with, and the most it grows to (the model's context limit) */
    initialCapacity: number,
    private readonly maxCapacity: number,
  ) {
    const capacity = window || Math.min(initialCapacity, maxCapacity);
    this.k = new Float32Array(capacity * rowWidth);
    this.v = new Float32Array(capacity * rowWidth);
  }

  /** a ring: positions older than `capacity` are overwritten */
  get sliding(): boolean {
    return this.window > 0;
  }

  /** Rows held (a ring's are reused). */
  get capacity(): number {
    return this.k.length / this.rowWidth;
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
    if (!this.sliding && pos + T > this.capacity) this.grow(pos + T);
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
    cap = Math.min(cap, this.maxCapacity);
    const k = new Float32Array(cap * this.rowWidth), v = new Float32Array(cap * this.rowWidth);
    k.set(this.k);
    v.set(this.v);
    this.k = k;
    this.v = v;
  }
}

export class KVCache {
  readonly layers: LayerCache[];
  /** positions stored so far (the next token's position) */
  length = 0;

  constructor(readonly config: ModelConfig, initialCapacity = 256) {
    const rowWidth = config.numKvHeads * config.headDim, max = config.maxPositionEmbeddings;
    this.layers = config.layerTypes.map((type) =>
      new LayerCache(rowWidth, type === "sliding_attention" ? config.slidingWindow : 0, initialCapacity, max));
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

  /** Bytes held now. */
  get bytes(): number {
    return this.layers.reduce((s, l) => s + (l.k.byteLength + l.v.byteLength), 0);
  }
}
