// The one WebAssembly module of gpt-oss-ts: every kernel, compiled twice by scripts/build-kernels.mjs
// (plain simd128, and simd128 + relaxed SIMD). It imports one shared memory and owns no heap: all
// pointers are byte offsets the host (src/backends/wasm/backend.ts) hands in; page 0 holds its constants.
export { initConstants, staticEnd } from "./consts";
export { deinterleave } from "./simd";
export { bf16Matvec, bf16Matmul, bf16Embed } from "./bf16";
export { mxfp4Up, mxfp4Down, interleave4 } from "./mxfp4";
export { quantize, split, dequantize } from "./quant";
export { attention } from "./attention";
export { rmsnorm, rope, topk } from "./norm";
export { streamSum } from "./stream";
export { q8Matvec, q8Pack } from "./q8";
export { lowRank } from "./lora";
