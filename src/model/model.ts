// The public model object: a checkpoint loaded with a kernel backend, ready to run and generate.
import { Checkpoint, expectedOf } from "../checkpoint/checkpoint.js";
import { availableMemory, estimateMemory } from "../checkpoint/memory.js";
import { formatBytes } from "../util/progress.js";
import type { ModelConfig } from "../checkpoint/config.js";
import { createKernels, DEFAULT_BACKEND, DEFAULT_PRECISION, type Backend, type Precision } from "../backends/index.js";
import type { Kernels } from "../backends/kernels.js";
import { Transformer, type ForwardOptions } from "./forward.js";
import type { KVCache } from "./kv-cache.js";
import { Session } from "../generation/session.js";
import { complete, encodePrompt, type CompleteOptions, type Completion } from "../generation/complete.js";
import type { GeneratedToken, GenerateOptions, GenerationResult } from "../generation/loop.js";
import { chat, type ChatEvent, type ChatInput, type ChatOptions } from "../chat/chat.js";
import { ChatSession, type ChatSessionOptions } from "../chat/chat-session.js";
import { GptOssError } from "../util/errors.js";

export type { GeneratedToken, GenerateOptions, GenerationResult } from "../generation/loop.js";

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
  /**
   * the most tokens (prompt + generated) a cache of this model holds: generation stops there (stop reason
   * "context_full") and longer input is refused. Default: the model's limit (max_position_embeddings);
   * the memory check plans for this, or for min(4096, the limit) when it is not given.
   */
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

export class OutOfMemoryError extends GptOssError {}

export class GptOssModel {
  private constructor(
    /** where the weights came from (its files are closed once loaded) */
    readonly checkpoint: Checkpoint,
    readonly kernels: Kernels,
    readonly transformer: Transformer,
    /** the most tokens (prompt + generated) this model's caches hold (LoadOptions.contextLength) */
    readonly contextLength: number,
  ) {}

  static async load(dir: string, options: LoadOptions = {}): Promise<GptOssModel> {
    const checkpoint = Checkpoint.open(dir);
    try {
      // Refuse up front, in a second, rather than fail after minutes of loading.
      const c = checkpoint.config;
      const context = options.contextLength;
      if (context !== undefined && !(Number.isInteger(context) && context >= 1 && context <= c.maxPositionEmbeddings)) {
        throw new RangeError(`contextLength must be an integer from 1 to the model's limit of ${c.maxPositionEmbeddings} (max_position_embeddings in ${checkpoint.configPath}), got ${context}`);
      }
      // wasm `fast` on the relaxed build adds an int8 copy of the unembedding; the build is not known
      // yet, so it is counted whenever wasm `fast` is asked for (0.61 GiB too many on Node 20 at 20b).
      const fast = (options.backend ?? DEFAULT_BACKEND) === "wasm" && (options.precision ?? DEFAULT_PRECISION) === "fast";
      const need = estimateMemory(c, expectedOf(checkpoint), context ?? Math.min(4096, c.maxPositionEmbeddings), 128, fast);
      const have = options.memoryLimit ?? availableMemory();
      if (need.total > have) {
        throw new OutOfMemoryError(`${checkpoint.dir}: the model needs about ${formatBytes(need.total, "binary")} (weights ${formatBytes(need.weights, "binary")}, KV cache ${formatBytes(need.kvCache, "binary")} at ${need.contextLength} tokens, activations ${formatBytes(need.activations, "binary")}) but only ${formatBytes(have, "binary")} is available`);
      }
      const kernels = options.kernels ?? await createKernels(options.backend ?? DEFAULT_BACKEND,
        { precision: options.precision ?? DEFAULT_PRECISION, threads: options.threads ?? "auto" });
      try {
        const weights = await checkpoint.loadAsync({ allocator: kernels.allocator, onProgress: options.onProgress });
        kernels.prepare?.(weights);
        return new GptOssModel(checkpoint, kernels, new Transformer(checkpoint.config, weights, kernels), context ?? c.maxPositionEmbeddings);
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

  /** An empty KV cache holding up to `contextLength` positions. */
  newCache(): KVCache {
    return this.transformer.newCache(this.contextLength);
  }

  /** A session: a KV cache of its own, reused across generations and chat turns (see Session). */
  createSession(): Session {
    return new Session(this);
  }

  /**
   * A conversation with its own history and KV cache: `send(text)` streams the reply as `chat` does,
   * tools with handlers are run (src/chat/chat-session.ts).
   */
  createChat(options: ChatSessionOptions = {}): ChatSession {
    return new ChatSession(this, options);
  }

  /** Logits of every position of `tokens` run from an empty context: [T, V]. */
  forward(tokens: ArrayLike<number>, options: Omit<ForwardOptions, "logits"> = {}): Float32Array {
    return this.transformer.forward(tokens, this.newCache(), { ...options, logits: "all" });
  }

  /**
   * Continues `prompt` (token ids, or text: tokenised with o200k_harmony, no chat template) from an empty
   * context: the prompt in chunks, then one token per step with the KV cache, until a stop token,
   * maxTokens or the end of the context (src/generation/loop.ts). The generator's return value says why
   * it stopped. Each call has a cache of its own.
   */
  generate(prompt: string | ArrayLike<number>, options: GenerateOptions = {}): AsyncGenerator<GeneratedToken, GenerationResult> {
    const session = new Session(this);
    if (typeof prompt !== "string") return session.generate(Array.from(prompt), options);
    return (async function* () {
      return yield* session.generate(encodePrompt(session.model, prompt), options);
    })();
  }

  /**
   * Text in, text out: continues `prompt` (no chat template) and resolves to the new text, its tokens, why
   * it stopped and, with `topLogprobs`, per-token log-probabilities (src/generation/complete.ts).
   */
  complete(prompt: string | ArrayLike<number>, options: CompleteOptions = {}): Promise<Completion> {
    return complete(this, prompt, options);
  }

  /**
   * Streams the reply to a Harmony conversation as typed events (reasoning, answer, tool calls, done);
   * see src/chat/chat.ts. Each call starts from an empty KV cache and shares nothing with other calls;
   * for turns that reuse the cache, chat on a session: `chat(model.createSession(), ...)`.
   */
  chat(conversation: ChatInput, options: ChatOptions = {}): AsyncGenerator<ChatEvent> {
    return chat(this, conversation, options);
  }
}

export async function loadModel(dir: string, options: LoadOptions = {}): Promise<GptOssModel> {
  return GptOssModel.load(dir, options);
}
