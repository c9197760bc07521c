// Public API of gpt-oss-ts.
export { loadModel, GptOssModel, type LoadOptions, type GenerateOptions, type GeneratedToken } from "./model.js";
export { Checkpoint, CheckpointError } from "./checkpoint/checkpoint.js";
export { parseConfig, ConfigError, type ModelConfig } from "./checkpoint/config.js";
export type { ModelWeights, LayerWeights, Bf16Matrix, Mxfp4Experts } from "./checkpoint/weights.js";
export { SafetensorsFile, SafetensorsError, writeSafetensors, type TensorInfo } from "./safetensors.js";
export { Transformer, InputError, type ActivationName, type Observer, type ForwardOptions } from "./model/forward.js";
export { KVCache } from "./model/kv-cache.js";
export { Rope } from "./model/rope.js";
export type { Kernels } from "./kernels/kernels.js";
export { referenceKernels } from "./kernels/reference.js";
export { createKernels, BACKENDS, PRECISIONS, DEFAULT_BACKEND, DEFAULT_PRECISION, type Backend, type Precision, type KernelOptions } from "./kernels/index.js";
export { WasmKernels } from "./kernels/wasm.js";
export { Sampler, argmax, type SamplingOptions } from "./sampling.js";
export { decodeMxfp4, bf16ToF32, f32ToBf16 } from "./numerics.js";
