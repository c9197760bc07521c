// Parameter counts as people quote them (OpenAI's model card: gpt-oss-20b 21B total / 3.6B active,
// gpt-oss-120b 117B / 5.1B), from the tensor shapes the config implies:
//   total   every weight and bias; an MXFP4 byte holds two parameters, its block scales are not counted
//   active  what one token computes with: everything but the experts it does not choose (all but
//           experts_per_token of num_experts) and the embedding table, which is a lookup, not a product
import type { ModelConfig } from "./config.js";
import { expectedTensors, HF_NAMES } from "./layout.js";

export interface ParameterCounts {
  total: number;
  activePerToken: number;
  /** the experts' weights and biases, all layers (most of the total) */
  experts: number;
  embedding: number;
}

export function countParameters(c: ModelConfig): ParameterCounts {
  const layer0 = HF_NAMES.layer(0);
  const suffix = (name: string) => name.slice(name.indexOf(".mlp.") + 1); // the same in every layer
  const expertBlocks = new Set([layer0.mlp1Blocks, layer0.mlp2Blocks].map(suffix));
  const expertScales = new Set([layer0.mlp1Scales, layer0.mlp2Scales].map(suffix));
  const expertBiases = new Set([layer0.mlp1Bias, layer0.mlp2Bias].map(suffix));
  let total = 0, experts = 0, embedding = 0;
  for (const t of expectedTensors(c, "hf")) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const s = t.name.includes(".mlp.") ? suffix(t.name) : t.name;
    if (expertScales.has(s)) continue;
    const params = expertBlocks.has(s) ? 2 * n : n; // two 4-bit values per byte
    total += params;
    if (expertBlocks.has(s) || expertBiases.has(s)) experts += params;
    if (t.name === HF_NAMES.embedding) embedding += params;
  }
  const unused = experts * (1 - c.expertsPerToken / c.numExperts);
  return { total, activePerToken: Math.round(total - unused - embedding), experts, embedding };
}

/** 20914757184 -> "20.91B" */
export function formatCount(n: number): string {
  for (const [unit, size] of [["B", 1e9], ["M", 1e6], ["K", 1e3]] as const) if (n >= size) return `${(n / size).toFixed(2)}${unit}`;
  return String(n);
}
