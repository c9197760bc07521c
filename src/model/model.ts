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
import { openAdapter } from "../lora/adapter.js";
import { AdapterError } from "../lora/config.js";
import { loadAdapter as readAdapter, type LoraAdapter } from "../lora/weights.js";

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
  /**
   * LoRA adapters (Hugging Face PEFT folders: adapter_config.json + adapter_model.safetensors) applied
   * together, each at PEFT's scale times its own `scale` (default 1). Checked against the model, and
   * counted in the memory check, before any weight is read.
   */
  lora?: LoraSpec[];
  /** where warnings about the adapters go (default: stderr) */
  onWarning?: (message: string) => void;
}

/** One adapter to apply: a PEFT adapter folder and a factor on its trained scale. */
export interface LoraSpec {
  path: string;
  /** multiplies PEFT's scale (lora_alpha / r, or / sqrt(r) with rsLoRA); default 1 */
  scale?: number;
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
      const c = checkpoint.config;
      const context = options.contextLength;
      if (context !== undefined && !(Number.isInteger(context) && context >= 1 && context <= c.maxPositionEmbeddings)) {
        throw new RangeError(`contextLength must be an integer from 1 to the model's limit of ${c.maxPositionEmbeddings} (max_position_embeddings in ${checkpoint.configPath}), got ${context}`);
      }
      // Adapters are checked before anything is made or read.
      const specs = options.lora ?? [];
      for (const s of specs) {
        if (s.scale !== undefined && !Number.isFinite(s.scale)) throw new AdapterError(`${s.path}: the adapter's scale must be a finite number, got ${s.scale}`);
      }
      const plans = specs.map((s) => openAdapter(s.path, c, checkpoint.dir));
      const warn = options.onWarning ?? ((m: string) => console.warn(`warning: ${m}`));
      for (const w of plans.flatMap((p) => p.warnings)) warn(w);
      const adapterBytes = plans.reduce((s, p) => s + p.bytes, 0);
      const kernels = options.kernels ?? await createKernels(options.backend ?? DEFAULT_BACKEND,
        { precision: options.precision ?? DEFAULT_PRECISION, threads: options.threads ?? "auto" });
      try {
        // Refuse up front, in a second, rather than fail after minutes of loading.
        const need = estimateMemory(c, expectedOf(checkpoint), context ?? Math.min(4096, c.maxPositionEmbeddings), 128,
          kernels.preparedBytes(c));
        const have = options.memoryLimit ?? availableMemory();
        if (need.total + adapterBytes > have) {
          const adapters = adapterBytes > 0 ? `, LoRA adapters ${formatBytes(adapterBytes, "binary")}` : "";
          throw new OutOfMemoryError(`${checkpoint.dir}: the model needs about ${formatBytes(need.total + adapterBytes, "binary")} (weights ${formatBytes(need.weights, "binary")}, KV cache ${formatBytes(need.kvCache, "binary")} at ${need.contextLength} tokens, activations ${formatBytes(need.activations, "binary")}${adapters}) but only ${formatBytes(have, "binary")} is available`);
        }
        const weights = await checkpoint.loadAsync({ allocator: kernels.allocator, onProgress: options.onProgress });
        kernels.prepare?.(weights);
        const adapters = plans.map((p, i) => readAdapter(p, c, kernels.allocator, specs[i].scale ?? 1));
        return new GptOssModel(checkpoint, kernels, new Transformer(checkpoint.config, weights, kernels, adapters), context ?? c.maxPositionEmbeddings);
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

  /** The LoRA adapters this model applies (in the order given). */
  get adapters(): readonly LoraAdapter[] {
    return this.transformer.adapters;
  }

  /**
   * The same loaded weights with other adapters applied (none: the base model): a light view with its
   * own activations and chat KV cache, sharing weights and kernels (so one `dispose()` serves all).
   * The adapters must have been loaded for this model (`loadModel`'s `lora`, or `loadAdapter`).
   */
  withAdapters(adapters: readonly LoraAdapter[]): GptOssModel {
    const t = this.transformer;
    return new GptOssModel(this.checkpoint, this.kernels, new Transformer(t.config, t.weights, this.kernels, adapters), this.contextLength);
  }

  /** Checks and reads one more adapter into this model's kernel memory; apply it with `withAdapters`. */
  loadAdapter(spec: LoraSpec, onWarning: (message: string) => void = (m) => console.warn(`warning: ${m}`)): LoraAdapter {
    if (spec.scale !== undefined && !Number.isFinite(spec.scale)) throw new AdapterError(`${spec.path}: the adapter's scale must be a finite number, got ${spec.scale}`);
    const plan = openAdapter(spec.path, this.config, this.checkpoint.dir);
    for (const w of plan.warnings) onWarning(w);
    return readAdapter(plan, this.config, this.kernels.allocator, spec.scale ?? 1);
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
    const cache = this.newCache();
    try {
      return this.transformer.forward(tokens, cache, { ...options, logits: "all" });
    } finally {
      cache.release();
    }
  }

  /**
   * Continues `prompt` (token ids, or text: tokenised with o200k_harmony, no chat template) from an empty
   * context: the prompt in chunks, then one token per step with the KV cache, until a stop token,
   * maxTokens or the end of the context (src/generation/loop.ts). The generator's return value says why
   * it stopped. Each call has a cache of its own.
   */
  generate(prompt: string | ArrayLike<number>, options: GenerateOptions = {}): AsyncGenerator<GeneratedToken, GenerationResult> {
    const session = new Session(this);
    const ids = typeof prompt === "string" ? null : Array.from(prompt);
    return (async function* () {
      try {
        return yield* session.generate(ids ?? encodePrompt(session.model, prompt as string), options);
      } finally {
        session.cache.release(); // the cache's rows may be in the kernel memory, which is not collected
      }
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
