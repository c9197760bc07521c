// The whole-model benchmark behind `gpt-oss-ts bench`: load (time and MB/s), prefill of a random prompt,
// greedy decode, peak resident memory, and the decode's effective bandwidth (weight bytes one decode
// step reads x steps per second) beside a read-bandwidth probe run in the same process on the same
// threads (the WebAssembly streaming sum over a buffer larger than the caches).
import { expertBytes, hasBf16, type Bf16Matrix, type ModelWeights, type Mxfp4Experts, type WeightAllocator } from "../checkpoint/weights.js";
import type { Precision } from "../backends/index.js";
import type { Kernels } from "../backends/kernels.js";
import { loadModel, type GptOssModel, type LoadOptions, type LoraSpec } from "../model/model.js";
import type { LoraAdapter, LowRank } from "../lora/weights.js";
import { Xoshiro128 } from "../util/prng.js";
import { argmax } from "../generation/sampling.js";
import { JsonGrammar } from "../structured/grammar.js";
import { StructuredReply } from "../structured/reply.js";
import { getTokenTrie } from "../structured/vocabulary.js";
import { VOCAB_SIZE } from "../tokenizer/tokenizer.js";

export interface BenchOptions {
  /** prompt length of the prefill (default 512) */
  promptTokens?: number;
  /** greedy decode steps after it (default 128) */
  genTokens?: number;
  /** kernel threads (default: the number of cores) */
  threads?: number;
  precision?: Precision;
  /** seed of the random prompt (default 1) */
  seed?: number;
  /** LoRA adapters to apply (loadModel's `lora`) */
  lora?: LoraSpec[];
  /** passes of the read probe; the best counts (default 5) */
  probePasses?: number;
  onLoadProgress?: LoadOptions["onProgress"];
  /** progress of the long phases: prefill (layers done), decode (tokens done) */
  onPhase?: (phase: "prefill" | "decode" | "structured" | "probe", done: number, total: number) => void;
  /** also decode `genTokens` more tokens as JSON replies valid for this schema, timing the token mask */
  jsonSchema?: { schema: unknown; name: string };
}

export interface BenchResult {
  model: { dir: string; layers: number; experts: number; expertsPerToken: number; vocab: number; hidden: number };
  runtime: string;
  simd: string | null;
  threads: number;
  precision: string;
  /** the LoRA adapters applied: folder names */
  adapters: string[];
  load: { seconds: number; bytes: number; mbPerS: number };
  prefill: { tokens: number; seconds: number; tokensPerS: number };
  decode: {
    tokens: number; seconds: number; tokensPerS: number; msPerToken: number;
    /** weight bytes one decode step reads: dense attention, router, unembedding, the k chosen experts
     * (and the adapters' pairs of those) */
    bytesPerToken: number;
    /** bytesPerToken x tokens/s */
    effectiveGBps: number;
  };
  /** the streaming sum (null on the ts backend) */
  probe: { bytes: number; passes: number; gbPerS: number } | null;
  /** process peak resident memory (null where the runtime cannot tell) */
  peakRssBytes: number | null;
  /** with jsonSchema: the cost of constraining replies to it */
  structured?: StructuredBench;
}

export interface StructuredBench {
  schema: string;
  /** building the vocabulary trie (once per process) */
  trieMs: number;
  /** compiling the schema */
  compileMs: number;
  tokens: number;
  /** replies finished in those tokens (each one's budget is the rest of the run, so the last is closed by it) */
  replies: number;
  /** time of the mask over the whole vocabulary, per token: mean, median and the worst */
  maskMsPerToken: number;
  maskMsMedian: number;
  maskMsMax: number;
  /** maskMsPerToken / decode.msPerToken */
  shareOfDecode: number;
}

const now = () => performance.now();

/** Loads `dir` and measures it. The model is disposed at the end. */
export async function benchModel(dir: string, options: BenchOptions = {}): Promise<BenchResult> {
  const promptTokens = options.promptTokens ?? 512, genTokens = options.genTokens ?? 128;
  if (!(Number.isInteger(promptTokens) && promptTokens >= 1)) throw new RangeError(`prompt tokens must be an integer >= 1, got ${promptTokens}`);
  if (!(Number.isInteger(genTokens) && genTokens >= 1)) throw new RangeError(`gen tokens must be an integer >= 1, got ${genTokens}`);

  const t0 = now();
  const model = await loadModel(dir, { threads: options.threads, precision: options.precision, onProgress: options.onLoadProgress, lora: options.lora });
  const loadSeconds = (now() - t0) / 1000;
  try {
    const c = model.config;
    if (promptTokens + genTokens > c.maxPositionEmbeddings) {
      throw new RangeError(`prompt tokens + gen tokens is ${promptTokens + genTokens}, beyond the model's context of ${c.maxPositionEmbeddings}`);
    }
    if (options.jsonSchema && c.vocabSize < VOCAB_SIZE) {
      throw new RangeError(`--json-schema needs the o200k_harmony vocabulary (${VOCAB_SIZE} tokens); this model has ${c.vocabSize}`);
    }
    const loadBytes = model.checkpoint.weightBytes;
    const kernels = model.kernels;

    // A few tokens first, so that nothing below pays for first-time costs.
    const warm = model.newCache();
    model.transformer.forward([1, 2], warm);
    model.transformer.forward([3], warm);

    const rng = new Xoshiro128(options.seed ?? 1);
    const prompt = Array.from({ length: promptTokens }, () => Math.floor(rng.float() * c.vocabSize));
    const cache = model.newCache();
    options.onPhase?.("prefill", 0, c.numLayers);
    const t1 = now();
    let logits = model.transformer.forward(prompt, cache, {
      observe: (name, layer) => {
        if (name === "block_out") options.onPhase?.("prefill", layer + 1, c.numLayers);
      },
    });
    let token = argmax(logits);
    const prefillSeconds = (now() - t1) / 1000;

    const t2 = now();
    for (let i = 0; i < genTokens; i++) {
      logits = model.transformer.forward([token], cache);
      token = argmax(logits);
      options.onPhase?.("decode", i + 1, genTokens);
    }
    const decodeSeconds = (now() - t2) / 1000;
    const structured = options.jsonSchema
      ? structuredDecode(model, cache, token, genTokens, options.jsonSchema, (1000 * decodeSeconds) / genTokens, options.onPhase)
      : undefined;
    const bytesPerToken = decodeBytesPerToken(model.transformer.weights, c.expertsPerToken, kernels) +
      adapterDecodeBytes(model.adapters, c.expertsPerToken);

    let probe: BenchResult["probe"] = null;
    const streamSum = kernels.streamSum?.bind(kernels);
    if (streamSum) probe = readProbe(streamSum, kernels.allocator, model.transformer.weights, options.probePasses ?? 5, options.onPhase);

    const decodeTps = genTokens / decodeSeconds;
    return {
      model: { dir, layers: c.numLayers, experts: c.numExperts, expertsPerToken: c.expertsPerToken, vocab: c.vocabSize, hidden: c.hiddenSize },
      runtime: runtimeName(),
      simd: kernels.simd ?? null,
      threads: kernels.threads,
      precision: kernels.precision,
      adapters: model.adapters.map((a) => a.name),
      load: { seconds: loadSeconds, bytes: loadBytes, mbPerS: loadBytes / loadSeconds / 1e6 },
      prefill: { tokens: promptTokens, seconds: prefillSeconds, tokensPerS: promptTokens / prefillSeconds },
      decode: {
        tokens: genTokens, seconds: decodeSeconds, tokensPerS: decodeTps, msPerToken: (1000 * decodeSeconds) / genTokens,
        bytesPerToken, effectiveGBps: (bytesPerToken * decodeTps) / 1e9,
      },
      probe,
      peakRssBytes: peakRss(),
      ...(structured ? { structured } : {}),
    };
  } finally {
    model.dispose();
  }
}

/**
 * Greedy decode under a JSON-schema constraint (no reasoning, so every step after the header masks JSON):
 * the mask of each step is timed apart from the forward pass. A reply's budget is the rest of the run,
 * so the matcher also has to steer the last one to a close.
 */
function structuredDecode(model: GptOssModel, cache: ReturnType<GptOssModel["newCache"]>, token: number, steps: number,
  json: NonNullable<BenchOptions["jsonSchema"]>, decodeMs: number, onPhase: BenchOptions["onPhase"]): StructuredBench {
  let t = now();
  const trie = getTokenTrie();
  const trieMs = now() - t;
  // Warm the trie walk up (compiled code, a table inside a string), as a server's first request would.
  const warm = new JsonGrammar({ type: "string" });
  trie.allowed(warm.dfa, warm.dfa.next(warm.dfa.start, 0x22));
  t = now();
  const grammar = new JsonGrammar(json.schema);
  const compileMs = now() - t;
  const reply = (left: number) => new StructuredReply({ final: grammar, maxReasoningTokens: 0 }, Math.max(left, grammar.minBytes + 4));
  let constraint = reply(steps);
  let replies = 0;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const logits = model.transformer.forward([token], cache);
    const t0 = now();
    constraint.beforeSample(logits);
    times.push(now() - t0);
    token = argmax(logits);
    constraint.onToken(token);
    if (constraint.done) {
      replies++;
      constraint = reply(steps - i - 1);
    }
    onPhase?.("structured", i + 1, steps);
  }
  const mean = times.reduce((a, b) => a + b, 0) / steps;
  const sorted = [...times].sort((a, b) => a - b);
  return {
    schema: json.name, trieMs, compileMs, tokens: steps, replies,
    maskMsPerToken: mean, maskMsMedian: sorted[Math.floor(steps / 2)], maskMsMax: sorted[steps - 1], shareOfDecode: mean / decodeMs,
  };
}

/** Weight bytes one decode step reads: per layer the dense attention (qkv, out), the router and the k
 * chosen experts' blocks, scales and biases, the small vectors; then the unembedding and one embedding
 * row. The matrices count what the kernels say they read (in `fast` on the relaxed build: the int8 form
 * of qkv, out and the unembedding). */
export function decodeBytesPerToken(w: ModelWeights, k: number, kernels: Kernels): number {
  const expert = (m: Mxfp4Experts) => expertBytes(m) + m.rows * 4;
  const matrix = (m: Bf16Matrix) => kernels.matmulBytes(m, 1);
  let bytes = matrix(w.unembedding) + w.norm.byteLength + w.embedding.cols * 2;
  for (const l of w.layers) {
    bytes += matrix(l.qkv) + matrix(l.out) + matrix(l.gate);
    bytes += l.attnNorm.byteLength + l.qkvBias.byteLength + l.outBias.byteLength + l.sinks.byteLength + l.mlpNorm.byteLength + l.gateBias.byteLength;
    bytes += k * (expert(l.mlp1) + expert(l.mlp2));
  }
  return bytes;
}

/** Bytes one decode step reads of LoRA adapters: every attention pair, and k experts' pairs where the
 * experts are adapted. */
export function adapterDecodeBytes(adapters: readonly LoraAdapter[], k: number): number {
  const bytes = (p: LowRank | undefined) => (p ? p.a.byteLength + p.b.byteLength : 0);
  let n = 0;
  for (const a of adapters) {
    for (const l of a.layers) {
      n += bytes(l.q) + bytes(l.k) + bytes(l.v) + bytes(l.out);
      for (const experts of [l.mlp1, l.mlp2]) if (experts) n += k * bytes(experts[0]);
    }
  }
  return n;
}

/** Probe buffers smaller than this could sit in the caches: a dedicated one is made instead. */
const PROBE_MIN_BYTES = 256 << 20;

/**
 * The best of `passes` streaming sums on the kernels' threads, over the unembedding (the largest
 * matrix: 1.16 GB at 20b; its bf16 pairs read as f32 are ordinary numbers, so the sum runs at full
 * speed), or the embedding of the same size where the backend holds the unembedding only in a form of
 * its own (`fast`), or, for a small model, over a 512 MiB buffer of its own.
 */
function readProbe(streamSum: (view: ArrayBufferView) => number, allocator: WeightAllocator, w: ModelWeights, passes: number,
  onPhase: BenchOptions["onPhase"]): BenchResult["probe"] {
  let view: ArrayBufferView = hasBf16(w.unembedding) ? w.unembedding.data : w.embedding.data;
  if (view.byteLength < PROBE_MIN_BYTES) {
    const b = allocator.allocate(2 * PROBE_MIN_BYTES, "read probe");
    new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).fill(1);
    view = b;
  }
  let best = Infinity;
  for (let i = 0; i < passes; i++) {
    const t = now();
    streamSum(view);
    best = Math.min(best, now() - t);
    onPhase?.("probe", i + 1, passes);
  }
  return { bytes: view.byteLength, passes, gbPerS: view.byteLength / best / 1e6 };
}

function peakRss(): number | null {
  try {
    return process.resourceUsage().maxRSS * 1024; // kilobytes on every platform Node reports
  } catch {
    return null;
  }
}

function runtimeName(): string {
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  return deno ? `Deno ${deno.version.deno}` : `Node ${process.version}`;
}

/** A plain-text report of a bench result. */
export function formatBench(r: BenchResult): string {
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const lines = [
    `${r.model.dir}: ${r.model.layers} layers, ${r.model.experts} experts (${r.model.expertsPerToken} per token), vocabulary ${r.model.vocab}`,
    `${r.runtime}, ${r.simd ?? "ts backend"}, ${r.precision}, ${r.threads} thread${r.threads === 1 ? "" : "s"}` +
      (r.adapters.length ? `, LoRA ${r.adapters.join(" + ")}` : ""),
    "",
    `load      ${(r.load.bytes / 1e9).toFixed(2)} GB in ${r.load.seconds.toFixed(1)} s: ${r.load.mbPerS.toFixed(0)} MB/s`,
    `prefill   ${r.prefill.tokens} tokens in ${r.prefill.seconds.toFixed(2)} s: ${r.prefill.tokensPerS.toFixed(2)} tokens/s`,
    `decode    ${r.decode.tokens} tokens in ${r.decode.seconds.toFixed(2)} s: ${r.decode.tokensPerS.toFixed(2)} tokens/s (${r.decode.msPerToken.toFixed(1)} ms/token)`,
    `          ${(r.decode.bytesPerToken / 1e9).toFixed(3)} GB of weights per token: ${r.decode.effectiveGBps.toFixed(1)} GB/s effective`,
  ];
  if (r.probe) {
    lines.push(`read      streaming sum over ${(r.probe.bytes / 1e9).toFixed(2)} GB on ${r.threads} thread${r.threads === 1 ? "" : "s"}, best of ${r.probe.passes}: ` +
      `${r.probe.gbPerS.toFixed(1)} GB/s (decode reaches ${((100 * r.decode.effectiveGBps) / r.probe.gbPerS).toFixed(0)}% of it)`);
  }
  if (r.peakRssBytes !== null) lines.push(`peak RSS  ${gib(r.peakRssBytes)}`);
  const s = r.structured;
  if (s) {
    lines.push(`json      mask over the ${r.model.vocab}-token vocabulary: ${(1000 * s.maskMsPerToken).toFixed(0)} µs/token ` +
      `(median ${(1000 * s.maskMsMedian).toFixed(0)}, worst ${s.maskMsMax.toFixed(1)} ms) = ${(100 * s.shareOfDecode).toFixed(2)}% of decode's ${r.decode.msPerToken.toFixed(1)} ms/token`);
    lines.push(`          ${s.schema}: compiled in ${s.compileMs.toFixed(1)} ms (vocabulary trie ${s.trieMs.toFixed(0)} ms, once per process); ${s.replies} replies in ${s.tokens} tokens`);
  }
  return lines.join("\n");
}
