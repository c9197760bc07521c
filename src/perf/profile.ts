// Where the time goes: a `Kernels` wrapper that times every call and files it under an operation
// (the weight matrix a matmul reads says which), plus the sampler, timed by the runner. Whatever the
// phase's wall time holds beyond those is the model's own glue (buffer copies, residual adds, grouping
// tokens by expert). The model is not changed: it runs on the wrapped kernels.
import { expertBytes, type Bf16Matrix, type ModelWeights } from "../checkpoint/weights.js";
import { firstVisible, type Kernels } from "../backends/kernels.js";
import { Transformer } from "../model/forward.js";
import type { GptOssModel } from "../model/model.js";
import { Xoshiro128 } from "../util/prng.js";
import { Sampler } from "../generation/sampling.js";
import { generation } from "../generation/loop.js";

export const OPS = ["embedding", "norms", "qkv", "rope", "attention", "attn_out", "router", "experts", "lora", "unembedding", "sampling"] as const;
export type Op = (typeof OPS)[number];

export const OP_LABELS: Record<Op | "other", string> = {
  embedding: "embedding", norms: "norms (RMSNorm)", qkv: "qkv projection", rope: "rope", attention: "attention",
  attn_out: "attention out projection", router: "router (gate + top-k)", experts: "experts (MXFP4)", lora: "LoRA adapters",
  unembedding: "unembedding", sampling: "sampling", other: "other (model glue)",
};

interface Tally {
  ms: number;
  calls: number;
  /** bytes the op reads: weights, the KV cache for attention, activations for norms, rope, sampling */
  bytes: number;
  flops: number;
}

const now = () => performance.now();

/** Times every kernel call of `inner`; `kernels` is the wrapped backend to run the model on. */
export class OpTimer {
  readonly tally = new Map<Op, Tally>();
  readonly kernels: Kernels;

  constructor(inner: Kernels, weights: ModelWeights) {
    // A matmul's operation is told by the matrix it reads.
    const matOp = new Map<Bf16Matrix, Op>([[weights.unembedding, "unembedding"]]);
    for (const l of weights.layers) {
      matOp.set(l.qkv, "qkv");
      matOp.set(l.out, "attn_out");
      matOp.set(l.gate, "router");
    }
    const time = this.time.bind(this);
    this.kernels = {
      name: `${inner.name}+timing`,
      allocator: inner.allocator,
      precision: inner.precision,
      get threads() {
        return inner.threads;
      },
      simd: inner.simd,
      preparedBytes: (c) => inner.preparedBytes(c),
      matmulBytes: (w, T) => inner.matmulBytes(w, T),
      embed: (out, table, tokens) =>
        time("embedding", tokens.length * table.cols * 2, 0, () => inner.embed(out, table, tokens)),
      rmsnorm: (out, x, scale, eps, T, n) =>
        time("norms", (T + 1) * n * 4, 4 * T * n, () => inner.rmsnorm(out, x, scale, eps, T, n)),
      matmul: (out, x, w, bias, T) =>
        // (the model reads no other matrices; anything else would be filed with the output projection)
        time(matOp.get(w) ?? "attn_out", inner.matmulBytes(w, T) + (bias ? w.rows * 4 : 0), 2 * T * w.rows * w.cols,
          () => inner.matmul(out, x, w, bias, T)),
      rope: (x, cos, sin, T, heads, hd) =>
        time("rope", T * heads * hd * 4 * 2, T * heads * hd * 3, () => inner.rope(x, cos, sin, T, heads, hd)),
      attention: (out, chunk, cache, sinks, heads) => {
        // keys and values read per query (each sees up to pos0 + t + 1 positions, at most the window)
        let rows = 0;
        for (let p = chunk.pos0; p < chunk.pos0 + chunk.T; p++) rows += p - firstVisible(p, cache.window) + 1;
        time("attention", 2 * rows * heads.nkv * heads.headDim * 4, 4 * heads.nq * rows * heads.headDim,
          () => inner.attention(out, chunk, cache, sinks, heads));
      },
      topk: (index, weight, logits, T, E, k) =>
        time("router", T * E * 4, 2 * T * E, () => inner.topk(index, weight, logits, T, E, k)),
      expertUp: (act, x, w, bias, expert, rows, n, limit, alpha, add) =>
        time("experts", expertBytes(w) + w.rows * 4, 2 * n * w.rows * w.cols,
          () => inner.expertUp(act, x, w, bias, expert, rows, n, limit, alpha, add)),
      expertDown: (out, act, w, bias, expert, rows, weight, n) =>
        time("experts", expertBytes(w) + w.rows * 4, 2 * n * w.rows * w.cols,
          () => inner.expertDown(out, act, w, bias, expert, rows, weight, n)),
      lowRank: (out, x, w, n) =>
        time("lora", w.a.byteLength + w.b.byteLength, 2 * n * w.rank * (w.rows + w.cols), () => inner.lowRank(out, x, w, n)),
    };
  }

  time<R>(op: Op, bytes: number, flops: number, fn: () => R): R {
    const t0 = now();
    const r = fn();
    const ms = now() - t0;
    let t = this.tally.get(op);
    if (!t) this.tally.set(op, (t = { ms: 0, calls: 0, bytes: 0, flops: 0 }));
    t.ms += ms;
    t.calls++;
    t.bytes += bytes;
    t.flops += flops;
    return r;
  }

  reset(): void {
    this.tally.clear();
  }
}

export interface OpRow {
  op: Op | "other";
  label: string;
  ms: number;
  /** of the phase's measured total */
  share: number;
  calls: number;
  bytes: number;
  flops: number;
  /** bytes read per second, in GB/s (null where nothing is counted) */
  gbPerS: number | null;
  gflopPerS: number | null;
}

export interface PhaseProfile {
  phase: "prefill" | "decode";
  /** tokens run through the model in this phase */
  tokens: number;
  /** measured wall time of the whole phase */
  totalMs: number;
  tokensPerS: number;
  /** every operation, then "other (model glue)" = total minus the timed operations */
  ops: OpRow[];
}

export interface Profile {
  backend: string;
  /** the kernels' numerics: "exact" (f32 activations) or "fast" (wasm only) */
  precision: string;
  /** threads running each large kernel call */
  threads: number;
  /** the WebAssembly build the wasm backend runs ("simd128" or "relaxed-simd"); null for ts */
  simd: string | null;
  promptTokens: number;
  genTokens: number;
  prefill: PhaseProfile;
  decode: PhaseProfile;
}

export interface ProfileOptions {
  /** prompt length (default 32) */
  promptTokens?: number;
  /** decode steps after the prompt (default 16) */
  genTokens?: number;
  /** seed of the random prompt and the sampler (default 1) */
  seed?: number;
  /** sampling temperature (default 1: a full softmax draw, the costlier path) */
  temperature?: number;
  /** run a short untimed warm-up first, so the first timings are not the JIT compiling (default true) */
  warmup?: boolean;
}

/**
 * Times a prefill of a random prompt (its forward calls plus sampling the first token) and `genTokens`
 * decode steps (one forward of one token plus sampling, each).
 */
export function profileModel(model: GptOssModel | Transformer, options: ProfileOptions = {}): Profile {
  const base = "transformer" in model ? model.transformer : model;
  const c = base.config;
  const promptTokens = options.promptTokens ?? 32, genTokens = options.genTokens ?? 16, seed = options.seed ?? 1;
  if (!(Number.isInteger(promptTokens) && promptTokens >= 1)) throw new RangeError(`prompt tokens must be an integer >= 1, got ${promptTokens}`);
  if (!(Number.isInteger(genTokens) && genTokens >= 0)) throw new RangeError(`gen tokens must be an integer >= 0, got ${genTokens}`);
  const timer = new OpTimer(base.kernels, base.weights);
  const tf = new Transformer(c, base.weights, timer.kernels, base.adapters);
  const rng = new Xoshiro128(seed);
  const prompt = Array.from({ length: promptTokens }, () => Math.floor(rng.float() * c.vocabSize));

  // The generation loop itself (src/generation/loop.ts) on the timed kernels: prefill is everything up
  // to the first token (the prompt's forward calls and one sampling), decode every step after it.
  const run = (promptIds: number[], steps: number) => {
    const inner = new Sampler({ temperature: options.temperature ?? 1, seed });
    const sampler = { sample: (logits: Float32Array, history: ArrayLike<number>) => timer.time("sampling", logits.length * 4, 0, () => inner.sample(logits, history)) };
    const cache = tf.newCache();
    const loop = generation(cache, (tokens, logits) => tf.forward(tokens, cache, { logits }), promptIds, { maxTokens: steps + 1, sampler });
    timer.reset();
    const t0 = now();
    for (let r = loop.next(); !r.done && r.value.type !== "token"; r = loop.next());
    const prefill = phase("prefill", promptIds.length, now() - t0, timer);
    timer.reset();
    const t1 = now();
    while (!loop.next().done);
    const decode = phase("decode", steps, now() - t1, timer);
    return { prefill, decode };
  };
  if (options.warmup ?? true) run(prompt.slice(0, Math.min(4, promptTokens)), Math.min(2, genTokens));
  const { prefill, decode } = run(prompt, genTokens);
  const k = base.kernels as Kernels & { precision?: string; threads?: number; simd?: string };
  return {
    backend: k.name, precision: k.precision ?? "exact", threads: k.threads ?? 1, simd: k.simd ?? null,
    promptTokens, genTokens, prefill, decode,
  };
}

function phase(name: "prefill" | "decode", tokens: number, totalMs: number, timer: OpTimer): PhaseProfile {
  const row = (op: Op | "other", t: Tally): OpRow => ({
    op, label: OP_LABELS[op], ms: t.ms, share: totalMs > 0 ? t.ms / totalMs : 0, calls: t.calls, bytes: t.bytes, flops: t.flops,
    gbPerS: t.bytes > 0 && t.ms > 0 ? t.bytes / (t.ms * 1e6) : null,
    gflopPerS: t.flops > 0 && t.ms > 0 ? t.flops / (t.ms * 1e6) : null,
  });
  // (the LoRA row only when adapters are applied)
  const ops = OPS.filter((op) => op !== "lora" || timer.tally.has(op)).map((op) => row(op, timer.tally.get(op) ?? { ms: 0, calls: 0, bytes: 0, flops: 0 }));
  const timed = ops.reduce((s, r) => s + r.ms, 0);
  ops.push(row("other", { ms: totalMs - timed, calls: 0, bytes: 0, flops: 0 }));
  return { phase: name, tokens, totalMs, tokensPerS: totalMs > 0 ? (tokens * 1000) / totalMs : 0, ops };
}

/** A plain-text table of a profile. */
export function formatProfile(p: Profile): string {
  const build = p.simd ? ` (${p.simd} build)` : "";
  const lines: string[] = [`backend ${p.backend}${build}, precision ${p.precision}, ${p.threads} thread${p.threads === 1 ? "" : "s"}; ` +
    `${p.promptTokens} prompt tokens, ${p.genTokens} decode steps`];
  const num = (v: number | null, digits: number) => (v === null ? "-" : v.toFixed(digits));
  for (const ph of [p.prefill, p.decode]) {
    if (ph.tokens === 0) continue;
    lines.push("", `${ph.phase}: ${ph.tokens} tokens in ${ph.totalMs.toFixed(1)} ms (${ph.tokensPerS.toFixed(1)} tokens/s` +
      `${ph.phase === "decode" ? `, ${(ph.totalMs / ph.tokens).toFixed(2)} ms/token` : ""})`);
    lines.push(`  ${"operation".padEnd(26)}${"ms".padStart(10)}${"share".padStart(8)}${"calls".padStart(9)}${"GB/s".padStart(9)}${"GFLOP/s".padStart(9)}`);
    for (const r of ph.ops) {
      lines.push(`  ${r.label.padEnd(26)}${r.ms.toFixed(2).padStart(10)}${((100 * r.share).toFixed(1) + "%").padStart(8)}` +
        `${(r.op === "other" ? "" : String(r.calls)).padStart(9)}${num(r.gbPerS, 2).padStart(9)}${num(r.gflopPerS, 2).padStart(9)}`);
    }
    lines.push(`  ${"total (measured)".padEnd(26)}${ph.totalMs.toFixed(2).padStart(10)}${"100.0%".padStart(8)}`);
  }
  lines.push("", "GB/s counts the bytes each operation reads: weights; the KV cache for attention; activations for norms, rope, sampling.");
  return lines.join("\n");
}
