// The two released layouts, as tensor names. Both map onto the one internal view of weights.ts.
//   hf:       model.layers.N.self_attn.q_proj.weight ... (separate q/k/v, gate_up_proj/down_proj)
//   original: block.N.attn.qkv.weight ...               (fused qkv, mlp1/mlp2)
import type { ModelConfig } from "./config.js";

export type Layout = "hf" | "original";

/** File tensor names for one layer. Entries that are lists are concatenated along their first axis. */
export interface LayerTensorNames {
  attnNorm: string;
  qkv: string[];
  qkvBias: string[];
  out: string;
  outBias: string;
  sinks: string;
  mlpNorm: string;
  gate: string;
  gateBias: string;
  mlp1Blocks: string;
  mlp1Scales: string;
  mlp1Bias: string;
  mlp2Blocks: string;
  mlp2Scales: string;
  mlp2Bias: string;
}

export interface TensorNames {
  embedding: string;
  norm: string;
  unembedding: string;
  layer(n: number): LayerTensorNames;
}

export const HF_NAMES: TensorNames = {
  embedding: "model.embed_tokens.weight",
  norm: "model.norm.weight",
  unembedding: "lm_head.weight",
  layer(n) {
    const p = `model.layers.${n}.`;
    const a = `${p}self_attn.`;
    const e = `${p}mlp.experts.`;
    return {
      attnNorm: `${p}input_layernorm.weight`,
      qkv: [`${a}q_proj.weight`, `${a}k_proj.weight`, `${a}v_proj.weight`],
      qkvBias: [`${a}q_proj.bias`, `${a}k_proj.bias`, `${a}v_proj.bias`],
      out: `${a}o_proj.weight`,
      outBias: `${a}o_proj.bias`,
      sinks: `${a}sinks`,
      mlpNorm: `${p}post_attention_layernorm.weight`,
      gate: `${p}mlp.router.weight`,
      gateBias: `${p}mlp.router.bias`,
      mlp1Blocks: `${e}gate_up_proj_blocks`,
      mlp1Scales: `${e}gate_up_proj_scales`,
      mlp1Bias: `${e}gate_up_proj_bias`,
      mlp2Blocks: `${e}down_proj_blocks`,
      mlp2Scales: `${e}down_proj_scales`,
      mlp2Bias: `${e}down_proj_bias`,
    };
  },
};

export const ORIGINAL_NAMES: TensorNames = {
  embedding: "embedding.weight",
  norm: "norm.scale",
  unembedding: "unembedding.weight",
  layer(n) {
    const p = `block.${n}.`;
    return {
      attnNorm: `${p}attn.norm.scale`,
      qkv: [`${p}attn.qkv.weight`],
      qkvBias: [`${p}attn.qkv.bias`],
      out: `${p}attn.out.weight`,
      outBias: `${p}attn.out.bias`,
      sinks: `${p}attn.sinks`,
      mlpNorm: `${p}mlp.norm.scale`,
      gate: `${p}mlp.gate.weight`,
      gateBias: `${p}mlp.gate.bias`,
      mlp1Blocks: `${p}mlp.mlp1_weight.blocks`,
      mlp1Scales: `${p}mlp.mlp1_weight.scales`,
      mlp1Bias: `${p}mlp.mlp1_bias`,
      mlp2Blocks: `${p}mlp.mlp2_weight.blocks`,
      mlp2Scales: `${p}mlp.mlp2_weight.scales`,
      mlp2Bias: `${p}mlp.mlp2_bias`,
    };
  },
};

export const NAMES: Record<Layout, TensorNames> = { hf: HF_NAMES, original: ORIGINAL_NAMES };

const LAYER_PREFIX: Record<Layout, RegExp> = { hf: /^model\.layers\.(\d+)\./, original: /^block\.(\d+)\./ };

/** The layer a tensor name belongs to (`model.layers.7.mlp...` -> 7), or undefined outside the layers. */
export function layerOf(name: string, layout: Layout): number | undefined {
  const m = LAYER_PREFIX[layout].exec(name);
  return m ? Number(m[1]) : undefined;
}

/** What a tensor must look like: "matrix" = BF16 kept as is; "vector" = any float, widened to f32;
 * "bytes" = MXFP4 blocks or scales (U8, or I8 read as raw bits). */
export type TensorKind = "matrix" | "vector" | "bytes";

export interface ExpectedTensor {
  name: string;
  kind: TensorKind;
  shape: number[];
}

/** Every tensor the config requires, with the shape it implies, in a stable order. */
export function expectedTensors(c: ModelConfig, layout: Layout): ExpectedTensor[] {
  const names = NAMES[layout];
  const H = c.hiddenSize, d = c.headDim, E = c.numExperts, I = c.intermediateSize;
  const qRows = c.numHeads * d, kvRows = c.numKvHeads * d;
  const out: ExpectedTensor[] = [{ name: names.embedding, kind: "matrix", shape: [c.vocabSize, H] }];
  for (let n = 0; n < c.numLayers; n++) {
    const l = names.layer(n);
    const qkvRows = layout === "hf" ? [qRows, kvRows, kvRows] : [qRows + 2 * kvRows];
    out.push({ name: l.attnNorm, kind: "vector", shape: [H] });
    l.qkv.forEach((name, i) => out.push({ name, kind: "matrix", shape: [qkvRows[i], H] }));
    l.qkvBias.forEach((name, i) => out.push({ name, kind: "vector", shape: [qkvRows[i]] }));
    out.push(
      { name: l.out, kind: "matrix", shape: [H, qRows] },
      { name: l.outBias, kind: "vector", shape: [H] },
      { name: l.sinks, kind: "vector", shape: [c.numHeads] },
      { name: l.mlpNorm, kind: "vector", shape: [H] },
      { name: l.gate, kind: "matrix", shape: [E, H] },
      { name: l.gateBias, kind: "vector", shape: [E] },
      { name: l.mlp1Blocks, kind: "bytes", shape: [E, 2 * I, H / 32, 16] },
      { name: l.mlp1Scales, kind: "bytes", shape: [E, 2 * I, H / 32] },
      { name: l.mlp1Bias, kind: "vector", shape: [E, 2 * I] },
      { name: l.mlp2Blocks, kind: "bytes", shape: [E, H, I / 32, 16] },
      { name: l.mlp2Scales, kind: "bytes", shape: [E, H, I / 32] },
      { name: l.mlp2Bias, kind: "vector", shape: [E, H] },
    );
  }
  out.push({ name: names.norm, kind: "vector", shape: [H] }, { name: names.unembedding, kind: "matrix", shape: [c.vocabSize, H] });
  return out;
}

export const ACCEPTED_DTYPES: Record<TensorKind, string[]> = {
  matrix: ["BF16"],
  vector: ["BF16", "F16", "F32"],
  bytes: ["U8", "I8"],
};
