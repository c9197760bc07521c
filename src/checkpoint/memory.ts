// How much memory a model needs, estimated from its config and tensor table before anything is loaded.
import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import type { ModelConfig } from "./config.js";
import type { ExpectedTensor } from "./layout.js";

export interface MemoryEstimate {
  /** weights as held in memory (matrices as stored, small vectors widened to f32), with what the kernel
   * backend's own forms add or save */
  weights: number;
  /** K and V caches (f32) at `contextLength` tokens */
  kvCache: number;
  /** activation buffers for a prefill of `batchTokens` tokens, plus one row of logits */
  activations: number;
  total: number;
  contextLength: number;
}

/** backendBytes: what the kernel backend's forms of the weights add to them, or take from them where a
 * form replaces the bf16 (`Kernels.preparedBytes`: negative in `fast`). */
export function estimateMemory(c: ModelConfig, tensors: ExpectedTensor[], contextLength: number, batchTokens = 128,
  backendBytes = 0): MemoryEstimate {
  let weights = backendBytes;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    weights += t.kind === "vector" ? 4 * n : t.kind === "matrix" ? 2 * n : n;
  }
  const row = c.numKvHeads * c.headDim * 4 * 2; // K and V of one position in one layer
  let kvCache = 0;
  for (const type of c.layerTypes) kvCache += row * (type === "sliding_attention" ? Math.min(c.slidingWindow, contextLength) : contextLength);
  const H = c.hiddenSize, qw = c.numHeads * c.headDim, kvw = c.numKvHeads * c.headDim;
  const perToken = 4 * (4 * H + 2 * qw + 2 * (qw + 2 * kvw) + c.numExperts + 2 * c.expertsPerToken + c.intermediateSize);
  const activations = batchTokens * perToken + 4 * c.vocabSize;
  return { weights, kvCache, activations, total: weights + kvCache + activations, contextLength };
}

/** Memory the OS can give us now (Linux MemAvailable, which counts reclaimable page cache). */
export function availableMemory(): number {
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return freemem();
}
