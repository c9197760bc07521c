// The in-memory weights, in the form the forward pass reads them. Names follow the official reference
// (`embedding`, `attn.qkv`, `attn.sinks`, `mlp.gate`, `mlp1`, `mlp2`, `unembedding`), whatever the layout
// on disk. Large matrices stay in their stored form (bf16 words, MXFP4 blocks + scales) and are decoded
// on the fly by the kernels; only the small vectors (norm scales, biases, sinks) are widened to f32.

/** A bf16 matrix [rows, cols], row-major, rows are output features (y = W x). */
export interface Bf16Matrix {
  rows: number;
  cols: number;
  /** the bf16 words, or none (length 0) when the backend that loaded it keeps it only in a form of its
   * own (`WeightAllocator.streamed`): then only that backend's kernels can read it */
  data: Uint16Array;
}

/** Whether w still holds its bf16 words (see Bf16Matrix.data). */
export function hasBf16(w: Bf16Matrix): boolean {
  return w.data.length === w.rows * w.cols;
}

/**
 * MXFP4 expert weights, as in the checkpoint: for each of `experts` matrices [rows, cols], `blocks` is
 * U8 [experts, rows, cols/32, 16] (32 four-bit codes per group, low nibble = even column) and `scales`
 * is U8 [experts, rows, cols/32] (E8M0 exponents, bias 127).
 */
export interface Mxfp4Experts {
  experts: number;
  rows: number;
  cols: number;
  blocks: Uint8Array;
  scales: Uint8Array;
}

/** Bytes of one expert's matrix: its blocks (16 per 32 weights) and scales (1 per 32). */
export function expertBytes(w: Mxfp4Experts): number {
  return (w.rows * w.cols * 17) / 32;
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
 * them in its own memory (e.g. WebAssembly) so kernels read them without a copy. The loader fills them
 * in the checkpoint's form; what a backend's allocator placed is that backend's (`Kernels.prepare`). */
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
   * Offers a dense matrix that every token step streams through a matmul (attention qkv and out, the
   * unembedding). A backend that reads such matrices in a form of its own (the wasm backend in `fast`:
   * int8) takes it: the loader then hands it the bf16 rows as they arrive, in pieces of whole rows in
   * any order, and does not keep them. Returns undefined to have the matrix loaded as bf16. Optional.
   */
  streamed?(rows: number, cols: number, what: string): StreamedMatrix | undefined;
}

/** A matrix a backend keeps in its own form (`WeightAllocator.streamed`). */
export interface StreamedMatrix {
  /** what the model holds: rows and cols, no bf16 words */
  matrix: Bf16Matrix;
  /** Takes `count` bf16 rows from row `row0` on (bf16: [count, cols], little-endian words). */
  write(row0: number, bf16: Uint8Array): void;
  /** the bytes the form keeps */
  bytes: number;
}

export const heapAllocator: WeightAllocator = {
  allocate: (n) => new Uint8Array(n),
};
