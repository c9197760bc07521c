// The in-memory weights, in the form the forward pass reads them. Names follow the official reference
// (`embedding`, `attn.qkv`, `attn.sinks`, `mlp.gate`, `mlp1`, `mlp2`, `unembedding`), whatever the layout
// on disk. Large matrices stay in their stored form (bf16 words, MXFP4 blocks + scales) and are decoded
// on the fly by the kernels; only the small vectors (norm scales, biases, sinks) are widened to f32.

/** A bf16 matrix [rows, cols], row-major, rows are output features (y = W x). */
export interface Bf16Matrix {
  rows: number;
  cols: number;
  data: Uint16Array;
}

/**
 * MXFP4 expert weights: for each of `experts` matrices [rows, cols], `blocks` is U8 [experts, rows,
 * cols/32, 16] (32 four-bit codes per group, low nibble = even column) and `scales` is U8 [experts,
 * rows, cols/32] (E8M0 exponents, bias 127). With `rowGroup` 4 the rows of each matrix are stored in
 * groups of four, block-interleaved (the WebAssembly kernels' layout, `mxfp4Unit`).
 */
export interface Mxfp4Experts {
  experts: number;
  rows: number;
  cols: number;
  blocks: Uint8Array;
  scales: Uint8Array;
  /** 1 (or absent): row-major, as in the checkpoint; 4: interleaved groups of four rows */
  rowGroup?: 1 | 4;
}

/**
 * Where (row r, 32-block b) of expert e is: its index in 16-byte blocks, which is also its index in
 * scale bytes. Row-major: (e rows + r) nb + b. Interleaved by four: the full groups of four rows hold
 * [nb][4] units each ([block][row]); the last rows % 4 rows follow row-major.
 */
export function mxfp4Unit(w: Mxfp4Experts, e: number, r: number, b: number): number {
  const nb = w.cols / 32, m = e * w.rows * nb;
  if (w.rowGroup !== 4 || r >= w.rows - (w.rows % 4)) return m + r * nb + b;
  const g = r - (r % 4);
  return m + g * nb + 4 * b + (r % 4);
}

export interface LayerWeights {
  /** [H] RMSNorm scale before attention */
  attnNorm: Float32Array;
  /** [(nq + 2 nkv) d, H]: q rows, then k rows, then v rows */
  qkv: Bf16Matrix;
  /** [(nq + 2 nkv) d] */
  qkvBias: Float32Array;
  /** [H, nq d] */
  out: Bf16Matrix;
  /** [H] */
  outBias: Float32Array;
  /** [nq] one learned logit per query head */
  sinks: Float32Array;
  /** [H] RMSNorm scale before the MoE */
  mlpNorm: Float32Array;
  /** [E, H] router ("gate" in the reference) */
  gate: Bf16Matrix;
  /** [E] */
  gateBias: Float32Array;
  /** E x [2I, H], rows interleaved gate, linear, gate, linear, ... */
  mlp1: Mxfp4Experts;
  /** [E, 2I] */
  mlp1Bias: Float32Array;
  /** E x [H, I] */
  mlp2: Mxfp4Experts;
  /** [E, H] */
  mlp2Bias: Float32Array;
}

export interface ModelWeights {
  /** [V, H] */
  embedding: Bf16Matrix;
  layers: LayerWeights[];
  /** [H] final RMSNorm scale */
  norm: Float32Array;
  /** [V, H] lm_head, untied */
  unembedding: Bf16Matrix;
}

/** Where weight bytes live. The plain allocator uses ordinary ArrayBuffers; a kernel backend may place
 * them in its own memory (e.g. WebAssembly) so kernels read them without a copy. */
export interface WeightAllocator {
  /** zero-filled bytes, 16-byte aligned */
  allocate(byteLength: number, what: string): Uint8Array;
  /**
   * Announces that the next allocations, `byteLength` in all, are used together (one layer), so that
   * an allocator spread over several memories keeps them in one (a kernel call reads its weights
   * from one memory). Optional: a single-heap allocator ignores it.
   */
  group?(byteLength: number, what: string): void;
  /**
   * Present when this allocator's kernels read MXFP4 rows interleaved by four (`Mxfp4Experts.rowGroup`):
   * the loader calls it on each blocks or scales tensor once read, to rearrange it in place.
   * unitBytes: 16 for blocks, 1 for scales.
   */
  interleaveMxfp4?(bytes: Uint8Array, experts: number, rows: number, blocksPerRow: number, unitBytes: number): void;
}

export const heapAllocator: WeightAllocator = {
  allocate: (n) => new Uint8Array(n),
};
