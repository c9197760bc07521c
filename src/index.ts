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
export { createKernels, type Backend } from "./kernels/index.js";
export { Sampler, argmax, type SamplingOptions } from "./sampling.js";
export { decodeMxfp4, bf16ToF32, f32ToBf16 } from "./numerics.js";
export { Tokenizer, StreamDecoder, getTokenizer, TOKENS, SPECIAL_TOKENS, VOCAB_SIZE, STOP_TOKENS_FOR_ASSISTANT, MESSAGE_END_TOKENS, type EncodeOptions } from "./tokenizer.js";
export {
  toConversation, toMessage, systemContent, developerContent, textMessage, messageText, ConversationError, ROLES, DEFAULT_CHANNELS,
  type Conversation, type Message, type Role, type Content, type TextContent, type SystemContent, type DeveloperContent,
  type ReasoningEffort, type ChannelConfig, type ToolDescription, type ToolNamespaceConfig, type JsonSchema,
} from "./harmony/types.js";
export {
  render, renderToTokens, renderConversationForCompletion, renderConversation, renderConversationForTraining, renderMessage,
  renderMessageToTokens, renderSegments, segmentsToText, segmentsToTokens, type RenderOptions, type RenderMode, type Segment,
} from "./harmony/render.js";
export { HarmonyParser, parseMessages, parseTokens, parseHeader, type ParserEvent, type ParserOptions, type ParserErrorEvent, type MessageHeader } from "./harmony/parser.js";
export { ChatTemplate, loadChatTemplate, conversationToTemplateContext, type TemplateContext, type TemplateMessage } from "./harmony/template.js";
export {
  chat, checkChatModel, chatMessages, appendReply, pendingToolCalls, toolResultMessage, isToolCall, toToolDescriptions, today, ReplyReader,
  type ChatOptions, type ChatEvent, type ChatDone, type ToolCall, type StopReason,
} from "./chat.js";
export { PrefixCachedGenerator, type TokenSource } from "./prefix-cache.js";
