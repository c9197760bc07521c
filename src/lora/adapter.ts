// A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors), checked against a model
// before anything is read: every tensor is named, tied to the module or parameter the config targets,
// and its shape checked against the model's. Only headers are read here; weights.ts reads the data.
//
// Tensor names (PEFT's save_pretrained; with or without the leading "base_model.model."):
//   model.layers.L.self_attn.{q,k,v,o}_proj.lora_A.weight  [r, in]     lora_B.weight  [out, r]
//   model.layers.L.mlp.experts.lora_A.weight              [r*E, in]   lora_B.weight  [out, r*E]
// With both expert parameters targeted on a layer PEFT nests two wrappers, the inner one's pair under
// "mlp.experts.base_layer." (gate_up_proj when both are listed in that order); which pair adapts which
// parameter is read from the shapes (in = H, out = 2I for gate_up_proj; in = I, out = H for down_proj).
import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { ModelConfig } from "../checkpoint/config.js";
import { SafetensorsError, SafetensorsFile, type TensorInfo } from "../checkpoint/safetensors.js";
import { AdapterError, loraScale, readAdapterConfig, type AdapterConfig } from "./config.js";
import { findTargets, patternValue, type AttentionModule, type ExpertParameter, type Target } from "./targets.js";

export const CONFIG_FILE = "adapter_config.json";
export const WEIGHTS_FILE = "adapter_model.safetensors";
const PREFIX = "base_model.model.";
const DTYPES = ["F32", "BF16", "F16"];

/** One low-rank pair as it is in the file, and where it goes. */
export interface PlannedPair {
  layer: number;
  name: AttentionModule | ExpertParameter;
  /** per expert, for the experts */
  rank: number;
  /** PEFT's scale: alpha / rank, or alpha / sqrt(rank) with rsLoRA */
  scale: number;
  /** input and output features of the adapted matrix (of one expert) */
  cols: number;
  rows: number;
  a: TensorInfo;
  b: TensorInfo;
}

export interface AdapterPlan {
  /** the folder, as given */
  dir: string;
  /** the folder's name: the adapter's id where one is needed (the server) */
  name: string;
  config: AdapterConfig;
  /** adapter_model.safetensors */
  file: string;
  pairs: PlannedPair[];
  /** what the user should know but that does not stop the load (a base model of another name, ...) */
  warnings: string[];
  /** bytes the adapter takes in memory, as f32 */
  bytes: number;
}

interface Pair {
  a?: TensorInfo;
  b?: TensorInfo;
}

/**
 * Reads an adapter folder's config and tensor index and checks them against a model of config `c`
 * (whose folder is `modelDir`, for the base-model name check). Throws AdapterError naming the file and
 * key of the first problem.
 */
export function openAdapter(dir: string, c: ModelConfig, modelDir?: string): AdapterPlan {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new AdapterError(`${dir}: not a folder (a PEFT adapter folder holds ${CONFIG_FILE} and ${WEIGHTS_FILE})`);
  const config = readAdapterConfig(join(dir, CONFIG_FILE));
  const warnings: string[] = [];
  const targets = findTargets(config, c, (m) => warnings.push(m));
  if (modelDir && config.baseModel && !namesModel(config.baseModel, modelDir)) {
    warnings.push(`${config.file}: the adapter was trained on "${config.baseModel}" (base_model_name_or_path), but the model is ${modelDir}; applying it anyway, its shapes fit`);
  }

  const path = join(dir, WEIGHTS_FILE);
  if (!existsSync(path)) {
    const other = existsSync(join(dir, "adapter_model.bin")) ? " (adapter_model.bin, PyTorch's pickle format, is not read: save the adapter with safe_serialization)" : "";
    throw new AdapterError(`${path}: missing${other}`);
  }
  let file: SafetensorsFile;
  try {
    file = SafetensorsFile.open(path);
  } catch (e) {
    throw new AdapterError((e as SafetensorsError).message);
  }
  try {
    const pairs = plan(config, c, targets, [...file.tensors.values()], path, warnings);
    const bytes = pairs.reduce((s, p) => s + 4 * (isExpert(p.name) ? c.numExperts : 1) * p.rank * (p.cols + p.rows), 0);
    return { dir, name: basename(resolve(dir)), config, file: path, pairs, warnings, bytes };
  } finally {
    file.close();
  }
}

/** Whether the model folder `dir` is the model `base` names (its last path part, e.g. gpt-oss-20b of
 * openai/gpt-oss-20b, is one of the folder's path parts, or of a Hub cache's models--openai--gpt-oss-20b). */
function namesModel(base: string, dir: string): boolean {
  const want = base.replace(/\/+$/, "").split("/").pop()!.toLowerCase();
  return resolve(dir).toLowerCase().split(/[\\/]|--/).includes(want);
}

/** Ties every tensor to a target and checks its shape; returns the pairs in layer order. */
function plan(config: AdapterConfig, c: ModelConfig, targets: Target[], tensors: TensorInfo[], path: string, warnings: string[]): PlannedPair[] {
  const attention = new Map<string, Pair>(); // "layer.q_proj"
  const experts = new Map<number, { outer: Pair; inner: Pair }>();
  for (const t of tensors) {
    const name = t.name.startsWith(PREFIX) ? t.name.slice(PREFIX.length) : t.name;
    if (!DTYPES.includes(t.dtype)) throw new AdapterError(`${path}: tensor "${t.name}" has dtype ${t.dtype}; expected ${DTYPES.join(", ")}`);
    let m = /^model\.layers\.(\d+)\.self_attn\.([qkvo]_proj)\.lora_([AB])\.weight$/.exec(name);
    if (m) {
      const key = `${m[1]}.${m[2]}`;
      if (!attention.has(key)) attention.set(key, {});
      attention.get(key)![m[3] === "A" ? "a" : "b"] = t;
      continue;
    }
    m = /^model\.layers\.(\d+)\.mlp\.experts\.(base_layer\.)?lora_([AB])\.weight$/.exec(name);
    if (m) {
      const l = Number(m[1]);
      if (!experts.has(l)) experts.set(l, { outer: {}, inner: {} });
      experts.get(l)![m[2] ? "inner" : "outer"][m[3] === "A" ? "a" : "b"] = t;
      continue;
    }
    throw new AdapterError(`${path}: tensor "${t.name}" ${unknownTensor(name)}`);
  }

  const pairs: PlannedPair[] = [];
  const H = c.hiddenSize, I = c.intermediateSize, E = c.numExperts, qw = c.numHeads * c.headDim, kvw = c.numKvHeads * c.headDim;
  const rankOf = (keys: string[]) => patternValue(config.rankPattern, keys, config.r, config.file, "rank_pattern");
  const scaleOf = (keys: string[], rank: number) =>
    loraScale(patternValue(config.alphaPattern, keys, config.loraAlpha, config.file, "alpha_pattern"), rank, config.useRslora);

  // Attention: y = W x + b + s B (A x), A [r, in], B [out, r].
  const shapes: Record<AttentionModule, [number, number]> = { q_proj: [H, qw], k_proj: [H, kvw], v_proj: [H, kvw], o_proj: [qw, H] };
  for (const t of targets.filter((t) => t.name in shapes)) {
    const name = t.name as AttentionModule;
    const pair = attention.get(`${t.layer}.${name}`);
    attention.delete(`${t.layer}.${name}`);
    const { a, b } = complete(pair, t.key, path, config.file);
    const [cols, rows] = shapes[name];
    const rank = rankOf([t.key]);
    const want = `lora_A [${rank}, ${cols}] and lora_B [${rows}, ${rank}]`;
    const flat = a.shape.length === 2 && b.shape.length === 2;
    if (!flat || a.shape[1] !== cols || b.shape[0] !== rows || a.shape[0] !== b.shape[1]) {
      const transposed = flat && a.shape[0] === cols && b.shape[1] === rows && a.shape[1] === b.shape[0];
      throw new AdapterError(`${path}: "${a.name}" ${dims(a)} and "${b.name}" ${dims(b)} do not fit ${t.key} of this model, which needs ${want}` +
        (transposed ? " (these look transposed)" : ""));
    }
    if (a.shape[0] !== rank) throw new AdapterError(`${path}: "${a.name}" has rank ${a.shape[0]}, but ${config.file} gives ${t.key} rank ${rank}`);
    pairs.push({ layer: t.layer, name, rank, scale: scaleOf([t.key], rank), cols, rows, a, b });
  }
  for (const [key, pair] of attention) {
    const [l, name] = key.split(".");
    throw new AdapterError(`${path}: tensor "${(pair.a ?? pair.b)!.name}" adapts model.layers.${l}.self_attn.${name}, which ${config.file} does not target`);
  }

  // Experts: per layer, one pair per targeted parameter (two pairs nested when both are).
  const wanted = new Map<number, Target[]>();
  for (const t of targets.filter((t) => !(t.name in shapes))) wanted.set(t.layer, [...(wanted.get(t.layer) ?? []), t]);
  const layout = { confirmed: false, unsure: [] as string[] };
  for (const [l, ts] of [...wanted].sort((x, y) => x[0] - y[0])) {
    const found = experts.get(l);
    experts.delete(l);
    const moduleKey = `model.layers.${l}.mlp.experts`;
    const outer = complete(found?.outer, ts.length === 1 ? ts[0].key : `${moduleKey} (the outer of two nested wrappers)`, path, config.file);
    if (ts.length === 1) {
      if (found?.inner.a || found?.inner.b) {
        throw new AdapterError(`${path}: tensor "${(found.inner.a ?? found.inner.b)!.name}" is a second expert pair for layer ${l}, but ${config.file} targets only ${ts[0].key}`);
      }
      const p = expertPair(outer, ts[0].name as ExpertParameter, l);
      if (!p.fits) refuseExperts([outer], [ts[0].name as ExpertParameter], l, path);
      pairs.push(p.pair);
      note(p, layout);
    } else {
      const inner = complete(found?.inner, `${moduleKey} (the inner of two nested wrappers, "mlp.experts.base_layer.")`, path, config.file);
      // PEFT's order (gate_up_proj inner) first, then the other nesting.
      const orders: [ExpertParameter, ExpertParameter][] = [["gate_up_proj", "down_proj"], ["down_proj", "gate_up_proj"]];
      const order = orders.find(([i, o]) => expertPair(inner, i, l).fits && expertPair(outer, o, l).fits);
      if (!order) refuseExperts([inner, outer], ["gate_up_proj", "down_proj"], l, path);
      for (const p of [expertPair(inner, order![0], l), expertPair(outer, order![1], l)]) {
        pairs.push(p.pair);
        note(p, layout);
      }
    }
  }
  for (const [l, found] of experts) {
    const t = (found.outer.a ?? found.outer.b ?? found.inner.a ?? found.inner.b)!;
    throw new AdapterError(`${path}: tensor "${t.name}" adapts the experts of layer ${l}, but ${config.file}'s "target_parameters" does not target them`);
  }
  if (layout.unsure.length > 0 && !layout.confirmed) {
    warnings.push(`${path}: ${layout.unsure.join(", ")}: the hidden size equals the expert width (${H}), so the shapes cannot tell PEFT's layout ` +
      `(lora_A [r*E, I], lora_B [H, r*E]) from the swapped one some PEFT/transformers versions write; read as PEFT's (no gate_up_proj pair in the file to confirm it)`);
  }
  return pairs.sort((x, y) => x.layer - y.layer);

  /** An expert pair read as parameter `name`: whether its shapes fit, and whether they would fit the swapped layout too. */
  function expertPair(p: Required<Pair>, name: ExpertParameter, l: number) {
    const [cols, rows] = name === "gate_up_proj" ? [H, 2 * I] : [I, H];
    const { a, b } = p;
    const ok2d = a.shape.length === 2 && b.shape.length === 2 && a.shape[0] === b.shape[1] && a.shape[0] % E === 0;
    const rank = ok2d ? a.shape[0] / E : 0;
    const keys = [`model.layers.${l}.mlp.experts.${name}`, `model.layers.${l}.mlp.experts`];
    return {
      fits: ok2d && a.shape[1] === cols && b.shape[0] === rows,
      ambiguous: cols === rows,
      pair: { layer: l, name, rank, scale: scaleOf(keys, rank), cols, rows, a, b } as PlannedPair,
      expectedRank: rankOf(keys),
    };
  }

  function note(p: ReturnType<typeof expertPair>, seen: typeof layout): void {
    if (p.pair.rank !== p.expectedRank) {
      throw new AdapterError(`${path}: "${p.pair.a.name}" has ${p.pair.a.shape[0]} rows = rank ${p.pair.rank} x ${E} experts, but ${config.file} gives ` +
        `model.layers.${p.pair.layer}.mlp.experts.${p.pair.name} rank ${p.expectedRank}`);
    }
    if (p.ambiguous) seen.unsure.push(`layer ${p.pair.layer} ${p.pair.name}`);
    else seen.confirmed = true;
  }

  /** Throws the most telling error for expert pairs that fit no reading: swapped, or simply wrong. */
  function refuseExperts(ps: Required<Pair>[], names: ExpertParameter[], l: number, path: string): never {
    const shown = ps.map((p) => `"${p.a.name}" ${dims(p.a)}, "${p.b.name}" ${dims(p.b)}`).join("; ");
    const expect = names.map((n) => `${n}: lora_A [r*${E}, ${n === "gate_up_proj" ? H : I}], lora_B [${n === "gate_up_proj" ? 2 * I : H}, r*${E}]`).join("; ");
    const swapped = ps.every((p) => names.some((n) => {
      const [cols, rows] = n === "gate_up_proj" ? [H, 2 * I] : [I, H];
      return cols !== rows && p.a.shape[1] === rows && p.b.shape[0] === cols && p.a.shape[0] === p.b.shape[1];
    }));
    if (swapped) {
      throw new AdapterError(`${path}: the expert pairs of layer ${l} (${shown}) have in and out features swapped: the layout some PEFT/transformers ` +
        `version pairs write, which applies the update transposed; not supported (expected ${expect}; re-save the adapter with a current PEFT and transformers)`);
    }
    throw new AdapterError(`${path}: the expert pairs of layer ${l} (${shown}) do not fit this model's experts (expected ${expect})`);
  }
}

/** Both halves of a pair, or an error naming the one missing. */
function complete(pair: Pair | undefined, key: string, path: string, configFile: string): Required<Pair> {
  for (const half of ["a", "b"] as const) {
    if (!pair?.[half]) {
      throw new AdapterError(`${path}: no lora_${half.toUpperCase()} for ${key}, which ${configFile} targets`);
    }
  }
  return pair as Required<Pair>;
}

export function isExpert(name: AttentionModule | ExpertParameter): name is ExpertParameter {
  return name === "gate_up_proj" || name === "down_proj";
}

function dims(t: TensorInfo): string {
  return `[${t.shape.join(", ")}]`;
}

/** Why a tensor name is not one this engine reads. */
function unknownTensor(name: string): string {
  if (name.includes("lora_magnitude_vector")) return "is a DoRA magnitude vector: DoRA is not implemented";
  if (/\.lora_B\.bias$/.test(name)) return "is a lora_B bias (lora_bias): not implemented";
  if (/lora_embedding_[AB]/.test(name) || name.startsWith("model.embed_tokens.")) return "adapts the embedding: not implemented";
  if (name.startsWith("lm_head.")) return "adapts lm_head (the output layer): not implemented";
  if (name.includes("modules_to_save") || name.includes("original_module")) return "is a fully trained module (modules_to_save): not implemented";
  if (/\.bias$/.test(name)) return "is a bias: trained biases are not implemented";
  return "is not a LoRA tensor of a module this engine adapts (model.layers.N.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight, model.layers.N.mlp.experts[.base_layer].lora_{A,B}.weight)";
}
