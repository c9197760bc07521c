// Keys (after RoPE) and values of every past position, per layer. Sliding layers only ever look back
// `sliding_window` positions, so they keep a ring of that many rows (position p in row p % window);
// full layers keep every position. Both grow by doubling as positions arrive, a full layer up to the
// context length (the model's max_position_embeddings, or less when the caller asks for less), a ring up
// to its window (or the context length, when the window is longer).
import type { ModelConfig } from "../checkpoint/config.js";
import { firstVisible } from "../backends/kernels.js";

export interface LayerCache {
  /** [capacity, nkv * d] */
  k: Float32Array;
  /** [capacity, nkv * d] */
  v: Float32Array;
  capacity: number;
  /** the most rows this layer will hold: a ring wraps around once its capacity reaches it */
  limit: number;
  /** a ring: positions older than `capacity` are overwritten */
  sliding: boolean;
}

export class KVCache {
  readonly layers: LayerCache[];
  /** positions stored so far (the next token's position) */
  length = 0;
  private readonly rowWidth: number;

  /** the most positions this cache holds; the forward pass refuses to run past it */
  readonly contextLength: number;

  constructor(readonly config: ModelConfig, initialCapacity = 256, contextLength = config.maxPositionEmbeddings) {
    if (!(Number.isInteger(contextLength) && contextLength >= 1 && contextLength <= config.maxPositionEmbeddings)) {
      throw new RangeError(`context length must be an integer from 1 to the model's limit of ${config.maxPositionEmbeddings} (max_position_embeddings), got ${contextLength}`);
    }
    this.contextLength = contextLength;
    this.rowWidth = config.numKvHeads * config.headDim;
    this.layers = config.layerTypes.map((type) => {
      const sliding = type === "sliding_attention";
      const limit = sliding ? Math.min(config.slidingWindow, contextLength) : contextLength;
      const capacity = Math.min(initialCapacity, limit);
      return { k: new Float32Array(capacity * this.rowWidth), v: new Float32Array(capacity * this.rowWidth), capacity, limit, sliding };
    });
  }

  /** The first position a query at `pos` may see in layer `layer`. */
  firstVisible(layer: number, pos: number): number {
    return firstVisible(pos, this.window(layer));
  }

  /** How many positions a query in `layer` looks back over, itself included (0: all of them). */
  window(layer: number): number {
    return this.layers[layer].sliding ? this.config.slidingWindow : 0;
  }

  /** Stores the key and value rows ([nkv * d] each) of position `pos`. */
  store(layer: number, pos: number, k: Float32Array, v: Float32Array): void {
    const c = this.layers[layer];
    // Until a ring reaches its limit, position p is in row p (nothing wrapped yet), so it grows like a list.
    if (pos >= c.capacity && c.capacity < c.limit) this.grow(c, pos + 1);
    const at = (pos % c.capacity) * this.rowWidth;
    c.k.set(k.subarray(0, this.rowWidth), at);
    c.v.set(v.subarray(0, this.rowWidth), at);
  }

  private grow(c: LayerCache, needed: number): void {
    let cap = c.capacity;
    while (cap < needed) cap *= 2;
    cap = Math.min(cap, c.limit);
    const k = new Float32Array(cap * this.rowWidth), v = new Float32Array(cap * this.rowWidth);
    k.set(c.k);
    v.set(c.v);
    Object.assign(c, { k, v, capacity: cap });
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
