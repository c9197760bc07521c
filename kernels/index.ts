// The one WebAssembly module of gpt-oss-ts: every kernel, compiled twice by scripts/build-kernels.mjs
// (plain simd128, and simd128 + relaxed SIMD). It imports one shared memory and owns no heap: all
// pointers are byte offsets the host (src/backends/wasm/backend.ts) hands in; page 0 holds its constants.
//
// Each op of the contract (src/backends/kernels.ts) and what runs it here:
//
//   contract op        kernel                                   file
//   embed              bf16Embed                                bf16.ts
//   rmsnorm            rmsnorm                                  norm.ts
//   matmul             bf16Matvec (decode), bf16Matmul          bf16.ts, gemm.ts
//                      q8Matmul (the int8 form, in `fast`)      q8.ts
//   rope               rope                                     rope.ts
//   attention          attention (per query and KV head)        attention.ts
//   topk               topk                                     topk.ts
//   expertUp           mxfp4Up, on input from quantize, split,  mxfp4.ts, gemm.ts, quant.ts,
//                      dequantize or deinterleave               simd.ts
//   expertDown         mxfp4Down, the same inputs               mxfp4.ts, gemm.ts, quant.ts
//   prepare            interleave4 (the experts' layout),       mxfp4.ts, q8.ts
//                      q8Pack (the int8 form; also at load)
//   streamSum          streamSum (the read probe)               stream.ts
export { initConstants, staticEnd } from "./consts";
export { deinterleave } from "./simd";
export { bf16Matvec, bf16Matmul, bf16Embed } from "./bf16";
export { mxfp4Up, mxfp4Down, interleave4 } from "./mxfp4";
export { quantize, split, dequantize } from "./quant";
export { attention } from "./attention";
export { rmsnorm } from "./norm";
export { rope } from "./rope";
export { topk } from "./topk";
export { streamSum } from "./stream";
export { q8Matmul, q8Pack } from "./q8";
export { lowRank } from "./lora";
