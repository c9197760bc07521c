// Public API of gpt-oss-ts: what callers are meant to rely on, grouped by who needs it. Internals (the
// wasm backend's classes, the server's translation helpers, the report's pieces) stay importable from
// their files for people studying them, but are not promised here.

// ---- Running a model: load, complete text, chat, sessions -------------------------------------------
export { loadModel, GptOssModel, type LoadOptions, type LoraSpec } from "./model/model.js";
export { complete, encodePrompt, type CompleteOptions, type Completion, type TextLogprob } from "./generation/complete.js";
export { Session, type SessionModel, type TokenSource } from "./generation/session.js";
export type {
  GenerateOptions, GeneratedToken, GenerationResult, GenerationStopReason, StepHook, StepInfo,
} from "./generation/loop.js";
export type { TokenLogprob } from "./generation/logprobs.js";
export { Sampler, argmax, type SamplingOptions } from "./generation/sampling.js";
export { ChatSession, type ChatSessionOptions, type ChatSessionEvent, type ChatTool, type ChatAnswer } from "./chat/chat-session.js";
export {
  chat, chatMessages, toHarmonyConversation, appendReply, pendingToolCalls, toolResultMessage, isToolCall, toToolDescriptions, today,
  type ChatOptions, type ChatEvent, type ChatDone, type ToolCall, type StopReason, type ChatInput, type ChatMessage,
} from "./chat/chat.js";
export type { OpenAIMessage } from "./chat/openai-messages.js";

// ---- Customising: LoRA adapters in Hugging Face PEFT's format --------------------------------------------
export { openAdapter, type AdapterPlan } from "./lora/adapter.js";
export { loadAdapter, type LoraAdapter, type AdapterLayer, type LowRank } from "./lora/weights.js";
export { synthesizeAdapter, type SynthAdapterOptions } from "./lora/synth.js";
export { compareWithBase, type AdapterDiff, type PositionDiff, type LayerRouterDiff, type TopToken } from "./trace/adapter-diff.js";

// ---- Serving ---------------------------------------------------------------------------------------
export { createServer, type ServerOptions } from "./server/server.js";

// ---- Finding and fetching weights -------------------------------------------------------------------
export { resolveModelDir, hubCacheDir, ModelNotFoundError } from "./hub/cache.js";
export { downloadRepo, DownloadError, type DownloadOptions } from "./hub/download.js";
export { synthesize, PRESETS, type PresetName, type SynthesizeOptions } from "./checkpoint/synth.js";

// ---- Errors: every refusal is a GptOssError naming what is wrong and where ---------------------------
export { GptOssError, NonFiniteLogitsError, ContextFullError, KVCacheFullError } from "./util/errors.js";
export { OutOfMemoryError } from "./model/model.js";
export { TextPromptError } from "./generation/complete.js";
export { CheckpointError } from "./checkpoint/checkpoint.js";
export { PackError, ensureMiniModel } from "./checkpoint/mini.js";
export { ConfigError } from "./checkpoint/config.js";
export { SafetensorsError } from "./checkpoint/safetensors.js";
export { InputError } from "./model/forward.js";
export { TokenLimitError } from "./tokenizer/tokenizer.js";
export { ConversationError } from "./harmony/types.js";
export { InvalidRequestError } from "./server/openai-chat.js";
export { AdapterError } from "./lora/config.js";

// ---- Harmony and the tokenizer -----------------------------------------------------------------------
export { Tokenizer, StreamDecoder, getTokenizer, TOKENS, SPECIAL_TOKENS, VOCAB_SIZE, STOP_TOKENS_FOR_ASSISTANT, type EncodeOptions } from "./tokenizer/tokenizer.js";
export {
  toConversation, toMessage, systemContent, developerContent, textMessage, messageText, ROLES,
  type Conversation, type Message, type Role, type Content, type TextContent, type SystemContent, type DeveloperContent,
  type ReasoningEffort, type ToolDescription, type JsonSchema, type ResponseFormatSection,
} from "./harmony/types.js";
export { render, renderToTokens, renderToTokensAsync, type RenderOptions, type RenderMode } from "./harmony/render.js";
export { HarmonyParser, parseMessages, parseTokens, type ParserEvent, type ParserOptions } from "./harmony/parser.js";
export { ChatTemplate, loadChatTemplate } from "./harmony/template.js";

// ---- Studying the architecture: the forward pass, its activations, tracing ---------------------------
export { Transformer, type ActivationName, type Observer, type ForwardOptions } from "./model/forward.js";
export { KVCache } from "./model/kv-cache.js";
export { Rope } from "./model/rope.js";
export { Checkpoint } from "./checkpoint/checkpoint.js";
export { parseConfig, type ModelConfig } from "./checkpoint/config.js";
export type { ModelWeights, LayerWeights, Bf16Matrix, Mxfp4Experts } from "./checkpoint/weights.js";
export { countParameters, type ParameterCounts } from "./checkpoint/params.js";
export { SafetensorsFile, writeSafetensors, type TensorInfo } from "./checkpoint/safetensors.js";
export { decodeMxfp4, bf16ToF32, f32ToBf16 } from "./checkpoint/numerics.js";
export { Tracer, traceForward, traceGenerate, type TraceRequest, type Trace, type LayerTrace, type AttentionTrace, type RouterTrace } from "./trace/trace.js";
export { zeroHeads, banExperts, forceExperts, zeroExpertOutput, type Hook, type Activation, type Layers } from "./trace/hooks.js";
export { logitLens, type LensTrace } from "./trace/lens.js";
export { renderReport, type ReportInfo } from "./trace/report.js";

// ---- Kernels and profiling -----------------------------------------------------------------------------
export type { Kernels, Precision } from "./backends/kernels.js";
export { referenceKernels } from "./backends/reference.js";
export { createKernels, simdLevels, defaultChatPrecision, BACKENDS, PRECISIONS, DEFAULT_BACKEND, DEFAULT_PRECISION, type Backend, type KernelOptions, type SimdLevel } from "./backends/index.js";
export { profileModel, formatProfile, type Profile, type ProfileOptions } from "./perf/profile.js";

// ---- Structured output: JSON-schema-constrained replies, a reasoning budget -----------------------------
export { toResponseFormat, ResponseFormatError, type ResponseFormat } from "./structured/response-format.js";
export { StructuredReply, ReasoningBudget, ReplyBudgetError, type ReplyFormat } from "./structured/reply.js";
export { compileSchema, SchemaError, type SchemaOptions } from "./structured/schema.js";
export { PatternError } from "./structured/regex.js";
export { SchemaTooLargeError } from "./structured/nfa.js";
