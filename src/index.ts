// Public API of gpt-oss-ts.
export { loadModel, GptOssModel, type LoadOptions, type GenerateOptions, type GeneratedToken } from "./model.js";
export { Checkpoint, CheckpointError } from "./checkpoint/checkpoint.js";
export { parseConfig, ConfigError, type ModelConfig } from "./checkpoint/config.js";
export type { ModelWeights, LayerWeights, Bf16Matrix, Mxfp4Experts } from "./checkpoint/weights.js";
export { SafetensorsFile, SafetensorsError, writeSafetensors, writeSafetensorsStreaming, type StreamedTensor, type TensorInfo } from "./safetensors.js";
export { Transformer, InputError, type ActivationName, type Observer, type ForwardOptions } from "./model/forward.js";
export { KVCache } from "./model/kv-cache.js";
export { Rope } from "./model/rope.js";
export type { Kernels } from "./kernels/kernels.js";
export { referenceKernels } from "./kernels/reference.js";
export { createKernels, type Backend } from "./kernels/index.js";
export { Sampler, argmax, type SamplingOptions } from "./sampling.js";
export { decodeMxfp4, bf16ToF32, f32ToBf16 } from "./numerics.js";
export { Progress, formatBytes, formatDuration } from "./progress.js";
export { synthesize, planCheckpoint, PRESETS, type PresetName, type CheckpointPlan, type SynthesizeOptions } from "./synth.js";
export { downloadRepo, listRepoFiles, selectFiles, verifyWeights, DownloadError, type DownloadOptions, type RepoFile } from "./download.js";
