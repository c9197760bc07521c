// What a LoRA adapter changes, for people studying a fine-tune: the adapted model and the base model run
// on the same tokens (teacher-forced, from an empty context), and per position the logit change and the
// top tokens before and after, per layer how many router choices changed.
import type { GptOssModel } from "../model/model.js";
import { topIndices } from "../generation/sampling.js";

export interface TopToken {
  id: number;
  /** softmax probability over the whole vocabulary */
  prob: number;
}

export interface PositionDiff {
  /** the token at this position (the next-token prediction is for the one after it) */
  token: number;
  /** max over the vocabulary of |adapted - base| logit */
  maxLogitChange: number;
  /** KL(adapted || base) of the next-token distributions, in nats */
  kl: number;
  before: TopToken[];
  after: TopToken[];
}

export interface LayerRouterDiff {
  layer: number;
  /** tokens whose set of chosen experts differs */
  tokensChanged: number;
  /** chosen experts (of T * k) that the base model did not choose for that token */
  choicesChanged: number;
}

export interface AdapterDiff {
  /** the adapters applied, by folder name */
  adapters: string[];
  /** what each adapts (LoraAdapter.summary) */
  summaries: string[];
  tokens: number[];
  /** experts chosen per token */
  k: number;
  positions: PositionDiff[];
  layers: LayerRouterDiff[];
}

/** Runs `tokens` through the adapted model and through `base` (default: the same weights without adapters). */
export function compareWithBase(adapted: GptOssModel, tokens: readonly number[], options: { top?: number; base?: GptOssModel } = {}): AdapterDiff {
  const base = options.base ?? adapted.withAdapters([]);
  const c = adapted.config, V = c.vocabSize, k = c.expertsPerToken, T = tokens.length, top = options.top ?? 5;
  const run = (m: GptOssModel) => {
    const chosen: Int32Array[] = [];
    const logits = m.forward(tokens, { observe: (name, layer, data) => void (name === "topk_idx" && (chosen[layer] = (data as Int32Array).slice(0, T * k))) });
    return { logits, chosen };
  };
  const a = run(adapted), b = run(base);
  const positions: PositionDiff[] = [];
  for (let t = 0; t < T; t++) {
    const za = a.logits.subarray(t * V, (t + 1) * V), zb = b.logits.subarray(t * V, (t + 1) * V);
    let max = 0;
    for (let i = 0; i < V; i++) max = Math.max(max, Math.abs(za[i] - zb[i]));
    const pa = softmax(za), pb = softmax(zb);
    let kl = 0;
    for (let i = 0; i < V; i++) if (pa[i] > 0) kl += pa[i] * (Math.log(pa[i]) - Math.log(Math.max(pb[i], 1e-300)));
    positions.push({ token: tokens[t], maxLogitChange: max, kl: Math.max(0, kl), before: topOf(pb, top), after: topOf(pa, top) });
  }
  const layers = a.chosen.map((ca, layer) => {
    const cb = b.chosen[layer];
    let tokensChanged = 0, choicesChanged = 0;
    for (let t = 0; t < T; t++) {
      const was = new Set(cb.subarray(t * k, (t + 1) * k));
      let n = 0;
      for (const e of ca.subarray(t * k, (t + 1) * k)) if (!was.has(e)) n++;
      choicesChanged += n;
      if (n > 0) tokensChanged++;
    }
    return { layer, tokensChanged, choicesChanged };
  });
  return { adapters: adapted.adapters.map((x) => x.name), summaries: adapted.adapters.map((x) => x.summary), tokens: [...tokens], k, positions, layers };
}

function softmax(z: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  const p = new Float64Array(z.length);
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += p[i] = Math.exp(z[i] - max);
  for (let i = 0; i < z.length; i++) p[i] /= sum;
  return p;
}

/** The `top` most likely ids (ties to the lower id). */
function topOf(p: Float64Array, top: number): TopToken[] {
  return topIndices(p, top).map((id) => ({ id, prob: p[id] }));
}
