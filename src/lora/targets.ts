// Which parts of gpt-oss an adapter adapts, found the way PEFT finds them: `target_modules` against the
// module names of transformers' GptOssForCausalLM (`model.layers.3.self_attn.q_proj`), an entry matching
// a name that equals it or ends with "." + it (a string is a regular expression on the whole name, or
// "all-linear"); `target_parameters` against parameter names (`model.layers.1.mlp.experts.gate_up_proj`)
// the same way. This engine adapts the attention projections and the experts' two parameters.
import type { ModelConfig } from "../checkpoint/config.js";
import { AdapterError, type AdapterConfig } from "./config.js";

export const ATTENTION_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"] as const;
export const EXPERT_PARAMETERS = ["gate_up_proj", "down_proj"] as const;
export type AttentionModule = (typeof ATTENTION_MODULES)[number];
export type ExpertParameter = (typeof EXPERT_PARAMETERS)[number];

export interface Target {
  layer: number;
  name: AttentionModule | ExpertParameter;
  /** the module's (attention) or parameter's (experts) full name in the model */
  key: string;
}

const SUPPORTED = "supported: q_proj, k_proj, v_proj, o_proj through target_modules; mlp.experts.gate_up_proj and down_proj through target_parameters";

/** Module names of GptOssForCausalLM, as `named_modules()` lists them. */
function moduleNames(c: ModelConfig): string[] {
  const names = ["model", "model.embed_tokens", "model.layers"];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    names.push(p, `${p}.self_attn`, ...ATTENTION_MODULES.map((m) => `${p}.self_attn.${m}`), `${p}.mlp`, `${p}.mlp.router`,
      `${p}.mlp.experts`, `${p}.input_layernorm`, `${p}.post_attention_layernorm`);
  }
  names.push("model.norm", "model.rotary_emb", "lm_head");
  return names;
}

/** Parameter names of GptOssForCausalLM, as `named_parameters()` lists them. */
function parameterNames(c: ModelConfig): string[] {
  const names = ["model.embed_tokens.weight"];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    for (const m of ATTENTION_MODULES) names.push(`${p}.self_attn.${m}.weight`, `${p}.self_attn.${m}.bias`);
    names.push(`${p}.self_attn.sinks`, `${p}.mlp.router.weight`, `${p}.mlp.router.bias`,
      `${p}.mlp.experts.gate_up_proj`, `${p}.mlp.experts.gate_up_proj_bias`, `${p}.mlp.experts.down_proj`, `${p}.mlp.experts.down_proj_bias`,
      `${p}.input_layernorm.weight`, `${p}.post_attention_layernorm.weight`);
  }
  names.push("model.norm.weight", "lm_head.weight");
  return names;
}

/** The layer index in a name (`model.layers.N.`...), or null. */
export function layerOf(key: string): number | null {
  const m = /(?:^|\.)layers\.(\d+)(?:\.|$)/.exec(key);
  return m ? Number(m[1]) : null;
}

/** PEFT's name test: a list entry equals the name or is a suffix after a dot; a string is a regular
 * expression on the whole name, except "all-linear" (every linear layer but the output layer). */
export function nameMatches(key: string, targets: string[] | string, file: string, field: string): boolean {
  if (Array.isArray(targets)) return targets.some((t) => key === t || key.endsWith(`.${t}`));
  if (targets === "all-linear") return /\.self_attn\.[qkvo]_proj$/.test(key);
  return wholeMatch(targets, file, field).test(key);
}

const patterns = new Map<string, RegExp>();
function wholeMatch(source: string, file: string, field: string): RegExp {
  let re = patterns.get(source);
  if (!re) {
    try {
      re = new RegExp(`^(?:${source})$`);
    } catch (e) {
      throw new AdapterError(`${file}: "${field}" is not a regular expression this engine can read: ${(e as Error).message}`);
    }
    patterns.set(source, re);
  }
  return re;
}

/** The value of the first pattern (rank_pattern, alpha_pattern: regular expressions on the end of a
 * name, after a dot) matching `key`, as PEFT picks it, or `fallback`. */
export function patternValue(patterns: Record<string, number>, keys: string[], fallback: number, file: string, field: string): number {
  for (const [pattern, value] of Object.entries(patterns)) {
    let re: RegExp;
    try {
      re = new RegExp(`(?:^|.*\\.)(?:${pattern})$`);
    } catch (e) {
      throw new AdapterError(`${file}: "${field}" key ${JSON.stringify(pattern)} is not a regular expression this engine can read: ${(e as Error).message}`);
    }
    if (keys.some((k) => re.test(k))) return value;
  }
  return fallback;
}

/**
 * Every module and parameter the adapter config targets in a model of config `c`. Refuses targets this
 * engine cannot adapt, and targets that match nothing (PEFT's own error); an entry of a target_modules
 * list that matches nothing while others do is reported through `warn` (PEFT loads such adapters).
 */
export function findTargets(a: AdapterConfig, c: ModelConfig, warn: (message: string) => void): Target[] {
  const inLayers = (key: string) => {
    if (!a.layersToTransform) return true;
    const l = layerOf(key);
    return l !== null && a.layersToTransform.includes(l);
  };
  const excluded = (key: string) => a.excludeModules !== null && nameMatches(key, a.excludeModules, a.file, "exclude_modules");
  const targets: Target[] = [];

  const tm = a.targetModules;
  if (tm !== null && !(Array.isArray(tm) && tm.length === 0)) {
    const hit = new Set<string>();
    for (const key of moduleNames(c)) {
      if (!nameMatches(key, tm, a.file, "target_modules") || !inLayers(key) || excluded(key)) continue;
      if (Array.isArray(tm)) for (const t of tm) if (key === t || key.endsWith(`.${t}`)) hit.add(t);
      const name = key.slice(key.lastIndexOf(".") + 1);
      if ((ATTENTION_MODULES as readonly string[]).includes(name) && key.includes(".self_attn.")) {
        targets.push({ layer: layerOf(key)!, name: name as AttentionModule, key });
      } else if (key === "lm_head" || key === "model.embed_tokens") {
        throw new AdapterError(`${a.file}: "target_modules" adapts ${key}: LoRA on the ${key === "lm_head" ? "output layer" : "embedding"} is not implemented (${SUPPORTED})`);
      } else {
        throw new AdapterError(`${a.file}: "target_modules" matches "${key}", which is not a linear layer LoRA can adapt (${SUPPORTED})`);
      }
    }
    if (targets.length === 0) {
      throw new AdapterError(`${a.file}: "target_modules" ${JSON.stringify(tm)} matches no module of this model (${c.numLayers} layers; modules are named like model.layers.0.self_attn.q_proj)`);
    }
    if (Array.isArray(tm)) {
      const unused = tm.filter((t) => !hit.has(t));
      if (unused.length > 0) warn(`${a.file}: "target_modules" entries ${JSON.stringify(unused)} match no module of this model (ignored, as PEFT does)`);
    }
  }

  const params = parameterNames(c);
  for (const t of a.targetParameters) {
    const found = params.filter((key) => (key === t || key.endsWith(`.${t}`)) && inLayers(key) && !excluded(key));
    if (found.length === 0) {
      throw new AdapterError(`${a.file}: "target_parameters" entry ${JSON.stringify(t)} matches no parameter of this model (${c.numLayers} layers; the experts' are model.layers.N.mlp.experts.gate_up_proj and .down_proj)`);
    }
    for (const key of found) {
      const name = key.slice(key.lastIndexOf(".") + 1);
      if (!key.includes(".mlp.experts.") || !(EXPERT_PARAMETERS as readonly string[]).includes(name)) {
        throw new AdapterError(`${a.file}: "target_parameters" entry ${JSON.stringify(t)} adapts parameter "${key}", which this engine does not adapt (${SUPPORTED})`);
      }
      if (!targets.some((x) => x.key === key)) targets.push({ layer: layerOf(key)!, name: name as ExpertParameter, key });
    }
  }
  return targets;
}
