// Public API of gpt-oss-ts.
export { loadModel, GptOssModel, OutOfMemoryError, type LoadOptions } from "./model/model.js";
export { complete, encodePrompt, TextPromptError, type CompleteOptions, type Completion, type TextLogprob } from "./generation/complete.js";
export type { TokenLogprob } from "./generation/logprobs.js";
export {
  generation, streamTokens, runToEnd, PREFILL_CHUNK,
  type GenerateOptions, type GeneratedToken, type GenerationResult, type GenerationStopReason, type GenerationEvent, type StepHook, type StepInfo, type Forward, type LoopOptions,
} from "./generation/loop.js";
export { GptOssError, NonFiniteLogitsError, ContextFullError } from "./util/errors.js";
export { Checkpoint, CheckpointError } from "./checkpoint/checkpoint.js";
export { parseConfig, ConfigError, type ModelConfig } from "./checkpoint/config.js";
export type { ModelWeights, LayerWeights, Bf16Matrix, Mxfp4Experts } from "./checkpoint/weights.js";
export { SafetensorsFile, SafetensorsError, writeSafetensors, writeSafetensorsStreaming, type StreamedTensor, type TensorInfo } from "./checkpoint/safetensors.js";
export { Transformer, InputError, type ActivationName, type Observer, type ForwardOptions } from "./model/forward.js";
export { KVCache } from "./model/kv-cache.js";
export { Rope } from "./model/rope.js";
export type { Kernels } from "./backends/kernels.js";
export { referenceKernels } from "./backends/reference.js";
export { createKernels, simdLevels, BACKENDS, PRECISIONS, DEFAULT_BACKEND, DEFAULT_PRECISION, type Backend, type Precision, type KernelOptions, type SimdLevel } from "./backends/index.js";
export { WasmKernels } from "./backends/wasm/backend.js";
export { Sampler, argmax, type SamplingOptions } from "./generation/sampling.js";
export { decodeMxfp4, bf16ToF32, f32ToBf16 } from "./checkpoint/numerics.js";
export { Tokenizer, StreamDecoder, getTokenizer, TokenLimitError, TOKENS, SPECIAL_TOKENS, VOCAB_SIZE, STOP_TOKENS_FOR_ASSISTANT, MESSAGE_END_TOKENS, type EncodeOptions } from "./tokenizer/tokenizer.js";
export {
  toConversation, toMessage, systemContent, developerContent, textMessage, messageText, ConversationError, ROLES, DEFAULT_CHANNELS,
  type Conversation, type Message, type Role, type Content, type TextContent, type SystemContent, type DeveloperContent,
  type ReasoningEffort, type ChannelConfig, type ToolDescription, type ToolNamespaceConfig, type JsonSchema, type ResponseFormatSection,
} from "./harmony/types.js";
export {
  render, renderToTokens, renderToTokensAsync, renderConversationForCompletion, renderConversation, renderConversationForTraining, renderMessage,
  renderMessageToTokens, renderSegments, segmentsToText, segmentsToTokens, type RenderOptions, type RenderMode, type Segment,
} from "./harmony/render.js";
export { HarmonyParser, parseMessages, parseTokens, parseHeader, type ParserEvent, type ParserOptions, type ParserErrorEvent, type MessageHeader } from "./harmony/parser.js";
export { ChatTemplate, loadChatTemplate, conversationToTemplateContext, type TemplateContext, type TemplateMessage } from "./harmony/template.js";
export { Tracer, traceForward, traceGenerate, type TraceRequest, type Trace, type LayerTrace, type AttentionTrace, type RouterTrace } from "./trace/trace.js";
export { zeroHeads, banExperts, forceExperts, zeroExpertOutput, type Hook, type Activation, type Layers } from "./trace/hooks.js";
export { logitLens, type LensTrace } from "./trace/lens.js";
export { attentionProbabilities, applyAttention } from "./trace/attention.js";
export { renderReport, type ReportInfo } from "./trace/report.js";
export { profileModel, formatProfile, OpTimer, OPS, type Op, type Profile, type PhaseProfile, type OpRow, type ProfileOptions } from "./perf/profile.js";
export { loadTokenText, idsOnly, HARMONY_VOCAB_SIZE, type TokenText } from "./trace/token-text.js";
export { Progress, formatBytes, formatDuration } from "./util/progress.js";
export { synthesize, planCheckpoint, PRESETS, type PresetName, type CheckpointPlan, type SynthesizeOptions } from "./checkpoint/synth.js";
export { downloadRepo, listRepoFiles, repoCommit, selectFiles, verifyWeights, DownloadError, type DownloadOptions, type RepoFile } from "./hub/download.js";
export { resolveModelDir, hubCacheDir, cachedSnapshot, repoFolder, ModelNotFoundError } from "./hub/cache.js";
export { countParameters, formatCount, type ParameterCounts } from "./checkpoint/params.js";
export { ChatSession, type ChatSessionOptions, type ChatSessionEvent, type ChatTool, type ChatAnswer } from "./chat/chat-session.js";
export {
  chat, checkChatModel, chatMessages, toHarmonyConversation, appendReply, pendingToolCalls, toolResultMessage, isToolCall, toToolDescriptions, today, ReplyReader,
  type ChatOptions, type ChatEvent, type ChatDone, type ToolCall, type StopReason, type ChatInput, type ChatMessage,
} from "./chat/chat.js";
export type { OpenAIMessage } from "./chat/openai-messages.js";
export { Session, PrefixCachedGenerator, type SessionModel, type TokenSource } from "./generation/session.js";
export { createServer, type ServerOptions } from "./server/server.js";
export {
  parseChatRequest, toHarmonyMessages, DeltaStream, MessageBuilder, InvalidRequestError,
  type ChatRequest, type Delta, type AssistantMessage, type FinishReason, type Usage,
} from "./server/openai-chat.js";
export {
  toResponseFormat, replyConstraint, responseFormatSection, ResponseFormatError, type ResponseFormat, type ConstraintOptions,
} from "./structured/response-format.js";
export { StructuredReply, ReasoningBudget, ReplyBudgetError, type ReplyFormat } from "./structured/reply.js";
export { JsonGrammar, JsonMatcher, grammarFor } from "./structured/grammar.js";
export { compileSchema, SchemaError, type SchemaOptions } from "./structured/schema.js";
export { compilePattern, PatternError } from "./structured/regex.js";
export { SchemaTooLargeError } from "./structured/nfa.js";
