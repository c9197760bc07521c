// The public model object: a checkpoint loaded with a kernel backend, ready to run and generate.
import { Checkpoint, expectedOf } from "../checkpoint/checkpoint.js";
import { availableMemory, estimateMemory } from "../checkpoint/memory.js";
import { formatBytes } from "../util/progress.js";
import type { ModelConfig } from "../checkpoint/config.js";
import { createKernels, DEFAULT_BACKEND, DEFAULT_PRECISION, type Backend, type Precision } from "../backends/index.js";
import type { Kernels } from "../backends/kernels.js";
import { Transformer, type ForwardOptions } from "./forward.js";
import type { KVCache } from "./kv-cache.js";
import { Sampler, type SamplingOptions } from "../generation/sampling.js";
import type { TokenConstraint } from "../generation/constraint.js";
import { tokenLogprobs, type TokenLogprobs } from "../generation/logprobs.js";
import { chat, type ChatEvent, type ChatOptions } from "../chat/chat.js";
import type { Conversation, Message } from "../harmony/types.js";

export interface LoadOptions {
  /** kernel backend: "wasm" (WebAssembly SIMD, the default) or "ts" (the plain TypeScript reference) */
  backend?: Backend;
  /**
   * wasm only: "exact" (f32 activations throughout) or "fast" (int8 activations in the MXFP4 expert
   * matmuls; within the tolerance documented in README "Precision"). Default: see DEFAULT_PRECISION.
   */
  precision?: Precision;
  /** called after each tensor is read */
  onProgress?: (doneBytes: number, totalBytes: number, tensor: string) => void;
  /** context length the memory check plans for (default min(4096, the model's limit)) */
  contextLength?: number;
  /** bytes the load may use (default: what the OS reports available); a larger estimate is refused */
  memoryLimit?: number;
  /**
   * wasm only: threads for the large kernel calls, this one included (default: the number of cores).
   * Results are bit-identical to one thread. `model.dispose()` stops them.
   */
  threads?: number;
  /** run on these kernels (from createKernels, with options of your own) instead of making them from
   * backend, precision and threads; model.dispose() disposes them */
  kernels?: Kernels;
}

export class OutOfMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutOfMemoryError";
  }
}

export interface GenerateOptions extends SamplingOptions {
  /** stop after this many new tokens (default 128) */
  maxTokens?: number;
  /** stop when one of these is generated (it is yielded first) */
  stopTokens?: number[];
  /** stops the generation at the next token */
  signal?: AbortSignal;
  /** masks the logits before each token is sampled and sees each token chosen (structured output) */
  constraint?: TokenConstraint;
  /** when set, each token comes with its log-probability and this many most likely alternatives */
  topLogprobs?: number;
}

export interface GeneratedToken {
  token: number;
  /** 0-based index among the generated tokens */
  index: number;
  /** log p(token) and the most likely tokens, when `topLogprobs` was set */
  logprobs?: TokenLogprobs;
}

export class GptOssModel {
  private constructor(
    /** where the weights came from (its files are closed once loaded) */
    readonly checkpoint: Checkpoint,
    readonly kernels: Kernels,
    readonly transformer: Transformer,
  ) {}

  static async load(dir: string, options: LoadOptions = {}): Promise<GptOssModel> {
    const checkpoint = Checkpoint.open(dir);
    try {
      // Refuse up front, in a second, rather than fail after minutes of loading.
      const c = checkpoint.config;
      // wasm `fast` on the relaxed build adds an int8 copy of the unembedding; the build is not known
      // yet, so it is counted whenever wasm `fast` is asked for (0.61 GiB too many on Node 20 at 20b).
      const fast = (options.backend ?? DEFAULT_BACKEND) === "wasm" && (options.precision ?? DEFAULT_PRECISION) === "fast";
      const need = estimateMemory(c, expectedOf(checkpoint), options.contextLength ?? Math.min(4096, c.maxPositionEmbeddings), 128, fast);
      const have = options.memoryLimit ?? availableMemory();
      if (need.total > have) {
        throw new OutOfMemoryError(`${checkpoint.dir}: the model needs about ${formatBytes(need.total, "binary")} (weights ${formatBytes(need.weights, "binary")}, KV cache ${formatBytes(need.kvCache, "binary")} at ${need.contextLength} tokens, activations ${formatBytes(need.activations, "binary")}) but only ${formatBytes(have, "binary")} is available`);
      }
      const kernels = options.kernels ?? await createKernels(options.backend ?? DEFAULT_BACKEND,
        { precision: options.precision ?? DEFAULT_PRECISION, threads: options.threads ?? "auto" });
      try {
        const weights = await checkpoint.loadAsync({ allocator: kernels.allocator, onProgress: options.onProgress });
        kernels.prepare?.(weights);
        return new GptOssModel(checkpoint, kernels, new Transformer(checkpoint.config, weights, kernels));
      } catch (e) {
        kernels.dispose?.();
        throw e;
      }
    } finally {
      checkpoint.close();
    }
  }

  get config(): ModelConfig {
    return this.transformer.config;
  }

  /** Stops the kernels' worker threads. The model still works afterwards, on one thread. */
  dispose(): void {
    this.kernels.dispose?.();
  }

  newCache(): KVCache {
    return this.transformer.newCache();
  }

  /** Logits of every position of `tokens` run from an empty context: [T, V]. */
  forward(tokens: ArrayLike<number>, options: Omit<ForwardOptions, "logits"> = {}): Float32Array {
    return this.transformer.forward(tokens, this.newCache(), { ...options, logits: "all" });
  }

  /** Continues `prompt` token by token (prefill once, then one token per step with the KV cache). */
  async *generate(prompt: ArrayLike<number>, options: GenerateOptions = {}): AsyncGenerator<GeneratedToken> {
    const sampler = new Sampler(options);
    const maxTokens = options.maxTokens ?? 128;
    const stops = new Set(options.stopTokens ?? []);
    const cache = this.newCache();
    const history = Array.from(prompt);
    if (maxTokens <= 0) return;
    let logits = this.transformer.forward(prompt, cache);
    for (let index = 0; index < maxTokens; index++) {
      if (options.signal?.aborted) return;
      options.constraint?.mask(logits);
      const token = sampler.sample(logits, history);
      options.constraint?.accept(token);
      history.push(token);
      yield { token, index, ...(options.topLogprobs !== undefined ? { logprobs: tokenLogprobs(logits, token, options.topLogprobs) } : {}) };
      if (stops.has(token) || index + 1 === maxTokens) return;
      // Let the event loop breathe (abort signals, streaming output) between steps.
      await new Promise<void>((r) => setImmediate(r));
      logits = this.transformer.forward([token], cache);
    }
  }

  /**
   * Streams the reply to a Harmony conversation as typed events (reasoning, answer, tool calls, done);
   * see src/chat/chat.ts. Consecutive calls reuse the KV cache where the new prompt extends the last one.
   */
  chat(conversation: Conversation | Message[], options: ChatOptions = {}): AsyncGenerator<ChatEvent> {
    return chat(this, conversation, options);
  }
}

export async function loadModel(dir: string, options: LoadOptions = {}): Promise<GptOssModel> {
  return GptOssModel.load(dir, options);
}
