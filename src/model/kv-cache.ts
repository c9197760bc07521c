// Keys (after RoPE) and values of every past position, per layer. Sliding layers only ever look back
// `sliding_window` positions, so they keep a ring of that many rows (position p in row p % window);
// full layers keep every position and grow by doubling, up to the context length: the most positions
// this cache accepts (the model's max_position_embeddings, or less when the caller asks for less).
import type { ModelConfig } from "../checkpoint/config.js";
import { firstVisible } from "../backends/kernels.js";

export interface LayerCache {
  /** [capacity, nkv * d] */
  k: Float32Array;
  /** [capacity, nkv * d] */
  v: Float32Array;
  capacity: number;
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
      const capacity = sliding ? config.slidingWindow : Math.min(initialCapacity, contextLength);
      return { k: new Float32Array(capacity * this.rowWidth), v: new Float32Array(capacity * this.rowWidth), capacity, sliding };
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
    if (!c.sliding && pos >= c.capacity) this.grow(c, pos + 1);
    const at = (pos % c.capacity) * this.rowWidth;
    c.k.set(k.subarray(0, this.rowWidth), at);
    c.v.set(v.subarray(0, this.rowWidth), at);
  }

  private grow(c: LayerCache, needed: number): void {
    let cap = c.capacity;
    while (cap < needed) cap *= 2;
    cap = Math.min(cap, this.contextLength);
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
