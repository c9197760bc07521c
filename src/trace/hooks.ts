// Interventions: hooks see an activation while the forward pass runs and may rewrite it in place.
// They ride on the forward pass's `observe` option, so the model code knows nothing about them.
// Router choices are observed before the experts run and attention output before its projection,
// which is what makes "ban an expert" or "silence a head" a few lines here.
import type { ModelConfig } from "../checkpoint/config.js";
import type { ActivationName } from "../model/forward.js";

export interface Activation {
  name: ActivationName;
  /** -1 outside the blocks */
  layer: number;
  /** the live buffer: its first `tokens * width` values are [tokens, width] row-major (logits may hold fewer rows) */
  data: Float32Array | Int32Array;
  width: number;
  /** tokens in this forward call */
  tokens: number;
  /** position of the call's first token (the KV cache length before the call) */
  position: number;
  config: ModelConfig;
}

/** Sees every activation; returns nothing, changes `data` in place to intervene. */
export type Hook = (a: Activation) => void;

/** Which layers a hook acts on: one, several, or (undefined) all. */
export type Layers = number | readonly number[] | undefined;

const inLayers = (layers: Layers, l: number) =>
  l >= 0 && (layers === undefined || (typeof layers === "number" ? layers === l : layers.includes(l)));

/** Silences query heads: zeroes their slice of the attention output before the output projection. */
export function zeroHeads(heads: number | readonly number[], layers?: Layers): Hook {
  const list = typeof heads === "number" ? [heads] : heads;
  return (a) => {
    if (a.name !== "attn_ctx" || !inLayers(layers, a.layer)) return;
    const d = a.config.headDim;
    for (const h of list) {
      if (!(h >= 0 && h < a.config.numHeads)) throw new RangeError(`zeroHeads: head ${h} is out of range 0..${a.config.numHeads - 1}`);
      for (let t = 0; t < a.tokens; t++) a.data.fill(0, t * a.width + h * d, t * a.width + (h + 1) * d);
    }
  };
}

/** Keeps the router from choosing `experts`: their logits become -Infinity before the top-k. */
export function banExperts(experts: readonly number[], layers?: Layers): Hook {
  return (a) => {
    if (a.name !== "router_logits" || !inLayers(layers, a.layer)) return;
    const E = a.config.numExperts;
    if (E - new Set(experts).size < a.config.expertsPerToken) {
      throw new RangeError(`banExperts: banning ${experts.length} of ${E} experts leaves fewer than the ${a.config.expertsPerToken} each token needs`);
    }
    for (let t = 0; t < a.tokens; t++) for (const e of experts) a.data[t * E + e] = -Infinity;
  };
}

/**
 * Routes every token to `experts` (exactly experts-per-token of them). Their weights are the softmax of
 * their router logits, as the model would compute had it chosen them, unless `weights` are given.
 */
export function forceExperts(experts: readonly number[], layers?: Layers, weights?: readonly number[]): Hook {
  let logits: Float32Array | null = null;
  return (a) => {
    if (!inLayers(layers, a.layer)) return;
    const k = a.config.expertsPerToken, E = a.config.numExperts;
    if (a.name === "router_logits") {
      logits = Float32Array.from(a.data.subarray(0, a.tokens * E));
    } else if (a.name === "topk_idx") {
      if (experts.length !== k) throw new RangeError(`forceExperts: give exactly ${k} experts (experts per token), got ${experts.length}`);
      for (let t = 0; t < a.tokens; t++) a.data.set(experts, t * k);
    } else if (a.name === "topk_w") {
      for (let t = 0; t < a.tokens; t++) {
        if (weights) {
          a.data.set(weights, t * k);
          continue;
        }
        const z = experts.map((e) => logits![t * E + e]);
        const max = Math.max(...z);
        const ex = z.map((v) => Math.exp(v - max));
        const sum = ex.reduce((s, v) => s + v, 0);
        for (let j = 0; j < k; j++) a.data[t * k + j] = ex[j] / sum;
      }
    }
  };
}

/** Removes the mixture of experts' contribution: each layer's output becomes its post-attention residual. */
export function zeroExpertOutput(layers?: Layers): Hook {
  let saved: Float32Array | null = null;
  return (a) => {
    if (!inLayers(layers, a.layer)) return;
    if (a.name === "attn_resid") saved = Float32Array.from(a.data.subarray(0, a.tokens * a.width));
    else if (a.name === "block_out") a.data.set(saved!);
  };
}
