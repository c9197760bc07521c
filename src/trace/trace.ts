// Tracing: run the model and keep what it computed, per layer and token, for people studying it.
// Everything rides on the forward pass's `observe` option; with no trace the model runs exactly as
// always (observe is undefined, so each `observe?.()` is one skipped call). A `Tracer` follows one KV
// cache across calls, so a prefill and the decode steps after it make one trace, rows in token order.
import type { ModelConfig } from "../checkpoint/config.js";
import type { ActivationName, Observer, Transformer } from "../model/forward.js";
import type { KVCache } from "../model/kv-cache.js";
import type { GptOssModel } from "../model/model.js";
import { generation, runToEnd, type GenerateOptions } from "../generation/loop.js";
import { attentionProbabilities } from "./attention.js";
import type { Activation, Hook } from "./hooks.js";
import { logitLens, type LensTrace } from "./lens.js";

/** What to keep. Every part is on unless set to false; `hooks` intervene whatever is kept. */
export interface TraceRequest {
  /** the residual stream: embedding, after each attention, after each layer */
  residuals?: boolean;
  /** attention probabilities and sink mass, for every layer (true) or the listed ones */
  attention?: boolean | readonly number[];
  /** the attention output per head, before the output projection */
  attentionOutput?: boolean;
  /** router logits, chosen experts, their weights, expert load */
  router?: boolean;
  /** logit lens of each layer's output: `top` tokens per row (default 5) */
  lens?: boolean | { top?: number };
  hooks?: readonly Hook[];
}

export interface AttentionTrace {
  /** [T, heads, keys]: the weight query row t puts on key position p (0 outside its window) */
  probs: Float32Array;
  /** [T, heads]: the share of the softmax mass the sink took; each row of probs plus this sums to 1 */
  sink: Float32Array;
  heads: number;
  /** key positions 0 .. keys - 1 (the last traced token's position + 1) */
  keys: number;
  /** sliding window length, or null on full-attention layers */
  window: number | null;
}

export interface RouterTrace {
  /** [T, E] */
  logits: Float32Array;
  /** [T, k] chosen experts, highest logit first */
  experts: Int32Array;
  /** [T, k] their weights (softmax over the chosen logits) */
  weights: Float32Array;
  /** [E] how many traced tokens chose each expert */
  load: Int32Array;
}

export interface LayerTrace {
  layer: number;
  type: "sliding_attention" | "full_attention";
  /** [T, H] residual stream after the attention block */
  attentionResidual?: Float32Array;
  /** [T, H] residual stream after the whole layer (its output) */
  residual?: Float32Array;
  /** [T, heads * headDim] attention output before the projection, head h in columns h*d .. h*d+d */
  attentionOutput?: Float32Array;
  attention?: AttentionTrace;
  router?: RouterTrace;
  /** the lens of `residual` */
  lens?: LensTrace;
}

export interface Trace {
  config: ModelConfig;
  /** every traced token, in order */
  tokens: number[];
  /** position of tokens[0] (0 unless the cache held untraced tokens) */
  startPosition: number;
  /** [T, H] the residual stream before the first layer */
  embedding?: Float32Array;
  /** the lens of the embedding */
  embeddingLens?: LensTrace;
  layers: LayerTrace[];
}

/** What one forward call recorded, committed only when the call succeeds. */
interface CallRecord {
  T: number;
  embedding?: Float32Array;
  layers: {
    attnResid?: Float32Array; blockOut?: Float32Array; attnCtx?: Float32Array;
    probs?: Float32Array; sink?: Float32Array; keys?: number;
    routerLogits?: Float32Array; topkIdx?: Int32Array; topkW?: Float32Array;
  }[];
}

export class Tracer {
  readonly transformer: Transformer;
  private readonly want: Required<Omit<TraceRequest, "attention" | "lens" | "hooks">> & { attention: Set<number>; lensTop: number };
  private readonly hooks: readonly Hook[];
  private readonly calls: CallRecord[] = [];
  private readonly tokens: number[] = [];
  private startPosition: number | null = null;

  constructor(model: GptOssModel | Transformer, request: TraceRequest = {}) {
    this.transformer = "transformer" in model ? model.transformer : model;
    const L = this.transformer.config.numLayers;
    const att = request.attention ?? true;
    const lens = request.lens ?? true;
    this.want = {
      residuals: request.residuals ?? true,
      attentionOutput: request.attentionOutput ?? true,
      router: request.router ?? true,
      attention: new Set(att === true ? Array.from({ length: L }, (_, l) => l) : att === false ? [] : att),
      lensTop: lens === false ? 0 : lens === true ? 5 : (lens.top ?? 5),
    };
    this.hooks = request.hooks ?? [];
  }

  /** Runs `tokens` like `Transformer.forward` (same cache, same return value), tracing it. */
  forward(tokens: ArrayLike<number>, cache: KVCache, logits: "last" | "all" | "none" = "last"): Float32Array {
    const pos0 = cache.length, T = tokens.length;
    if (this.startPosition === null) this.startPosition = pos0;
    const expected = this.startPosition + this.tokens.length;
    if (pos0 !== expected) throw new Error(`trace: the cache is at position ${pos0} but this trace continues at ${expected}; use one Tracer per cache`);
    const rec: CallRecord = { T, layers: Array.from({ length: this.transformer.config.numLayers }, () => ({})) };
    const out = this.transformer.forward(tokens, cache, { logits, observe: this.observer(rec, cache, pos0) });
    this.calls.push(rec);
    for (let i = 0; i < T; i++) this.tokens.push(tokens[i]);
    return out;
  }

  private observer(rec: CallRecord, cache: KVCache, pos0: number): Observer {
    const c = this.transformer.config, w = this.transformer.weights, want = this.want, T = rec.T;
    const a: Activation = { name: "embedding", layer: -1, data: new Float32Array(0), width: 0, tokens: T, position: pos0, config: c };
    const copy = <A extends Float32Array | Int32Array>(data: A, width: number) => data.slice(0, T * width) as A;
    let q: Float32Array | null = null, topkIdx: Int32Array | null = null;
    return (name: ActivationName, layer: number, data: Float32Array | Int32Array, width: number) => {
      if (this.hooks.length > 0) {
        a.name = name; a.layer = layer; a.data = data; a.width = width;
        for (const hook of this.hooks) hook(a);
      }
      // Recorded after the hooks: the trace shows what the model actually used.
      const r = layer >= 0 ? rec.layers[layer] : null;
      switch (name) {
        case "embedding":
          if (want.residuals || want.lensTop > 0) rec.embedding = copy(data as Float32Array, width);
          break;
        case "q_rope":
          if (want.attention.has(layer)) q = copy(data as Float32Array, width);
          break;
        case "k_rope":
          if (want.attention.has(layer)) {
            // This call's keys are in `data`; earlier ones are still in the cache, which the forward pass
            // updates only after this observation (a sliding ring holds exactly the window still visible).
            const kvw = width, keys = pos0 + T, from = cache.firstVisible(layer, pos0);
            const past = new Float32Array((pos0 - from) * kvw); // the cached keys the chunk's queries see
            cache.layers[layer].read(from, pos0, past, new Float32Array(past.length));
            const keyRow = (p: number) => p >= pos0
              ? (data as Float32Array).subarray((p - pos0) * kvw, (p - pos0 + 1) * kvw)
              : past.subarray((p - from) * kvw, (p - from + 1) * kvw);
            r!.keys = keys;
            r!.probs = new Float32Array(T * c.numHeads * keys);
            r!.sink = new Float32Array(T * c.numHeads);
            attentionProbabilities(r!.probs, r!.sink, keys, q!, keyRow, (p) => cache.firstVisible(layer, p),
              pos0, T, w.layers[layer].sinks, c);
          }
          break;
        case "attn_ctx":
          if (want.attentionOutput) r!.attnCtx = copy(data as Float32Array, width);
          break;
        case "attn_resid":
          if (want.residuals) r!.attnResid = copy(data as Float32Array, width);
          break;
        case "router_logits":
          if (want.router) r!.routerLogits = copy(data as Float32Array, width);
          break;
        case "topk_idx":
          topkIdx = data as Int32Array;
          break;
        case "topk_w":
          // Both read here, after any hook on either: these are the choices the experts will see.
          if (want.router) {
            r!.topkIdx = copy(topkIdx!, width);
            r!.topkW = copy(data as Float32Array, width);
          }
          break;
        case "block_out":
          if (want.residuals || want.lensTop > 0) r!.blockOut = copy(data as Float32Array, width);
          break;
      }
    };
  }

  /** Everything traced so far, rows in token order. */
  result(): Trace {
    const c = this.transformer.config, want = this.want;
    const T = this.tokens.length, nq = c.numHeads;
    const trace: Trace = { config: c, tokens: [...this.tokens], startPosition: this.startPosition ?? 0, layers: [] };
    const embedding = concat(this.calls.map((r) => r.embedding));
    if (want.residuals) trace.embedding = embedding;
    if (want.lensTop > 0 && embedding) trace.embeddingLens = logitLens(this.transformer, embedding, T, want.lensTop);
    for (let l = 0; l < c.numLayers; l++) {
      const rows = this.calls.map((r) => r.layers[l]);
      const lt: LayerTrace = { layer: l, type: c.layerTypes[l] };
      const residual = concat(rows.map((r) => r.blockOut));
      if (want.residuals) {
        lt.attentionResidual = concat(rows.map((r) => r.attnResid));
        lt.residual = residual;
      }
      if (want.attentionOutput) lt.attentionOutput = concat(rows.map((r) => r.attnCtx));
      if (want.attention.has(l) && T > 0) {
        // Later calls see more keys; pad every row to the last call's key count.
        const keys = rows[rows.length - 1].keys!;
        const probs = new Float32Array(T * nq * keys);
        let t0 = 0;
        this.calls.forEach((call, i) => {
          const r = rows[i];
          for (let row = 0; row < call.T * nq; row++) probs.set(r.probs!.subarray(row * r.keys!, (row + 1) * r.keys!), (t0 * nq + row) * keys);
          t0 += call.T;
        });
        const window = c.layerTypes[l] === "sliding_attention" ? c.slidingWindow : null;
        lt.attention = { probs, sink: concat(rows.map((r) => r.sink))!, heads: nq, keys, window };
      }
      if (want.router) {
        const experts = concat(rows.map((r) => r.topkIdx)) ?? new Int32Array(0);
        const load = new Int32Array(c.numExperts);
        for (const e of experts) load[e]++;
        lt.router = { logits: concat(rows.map((r) => r.routerLogits)) ?? new Float32Array(0), experts, weights: concat(rows.map((r) => r.topkW)) ?? new Float32Array(0), load };
      }
      if (want.lensTop > 0 && residual) lt.lens = logitLens(this.transformer, residual, T, want.lensTop);
      trace.layers.push(lt);
    }
    return trace;
  }
}

function concat<A extends Float32Array | Int32Array>(parts: (A | undefined)[]): A | undefined {
  if (parts.length === 0 || parts.some((p) => p === undefined)) return undefined;
  if (parts.length === 1) return parts[0];
  const out = new (parts[0]!.constructor as new (n: number) => A)(parts.reduce((n, p) => n + p!.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p! as never, at);
    at += p!.length;
  }
  return out;
}

/** One traced forward pass from an empty context: the trace and the logits of every position ([T, V]). */
export function traceForward(model: GptOssModel | Transformer, tokens: ArrayLike<number>, request: TraceRequest = {}): { trace: Trace; logits: Float32Array } {
  const tracer = new Tracer(model, request);
  const cache = tracer.transformer.newCache();
  try {
    const logits = tracer.forward(tokens, cache, "all");
    return { trace: tracer.result(), logits };
  } finally {
    cache.release();
  }
}

/**
 * A traced generation: the generation loop of `GptOssModel.generate` (src/generation/loop.ts) on a traced
 * forward pass. The trace covers the prompt and every generated token that was run through the model
 * (the last one is sampled but never run, so it has no rows).
 */
export function traceGenerate(model: GptOssModel | Transformer, prompt: ArrayLike<number>, request: TraceRequest = {},
  options: Omit<GenerateOptions, "signal"> = {}): { trace: Trace; generated: number[] } {
  const tracer = new Tracer(model, request);
  const cache = model.newCache();
  try {
    const { tokens } = runToEnd(generation(cache, (ids, logits) => tracer.forward(ids, cache, logits), Array.from(prompt), options));
    return { trace: tracer.result(), generated: tokens };
  } finally {
    cache.release();
  }
}
