// adapter_config.json of a Hugging Face PEFT LoRA adapter: the options this engine applies, and a clear
// refusal for each option PEFT allows that it does not implement (an adapter applied without them would
// give a wrong answer, never an error).
import { readFileSync, statSync } from "node:fs";
import { GptOssError } from "../util/errors.js";

/** An adapter this engine cannot apply as PEFT would: the message names the file and the key. */
export class AdapterError extends GptOssError {}

export interface AdapterConfig {
  /** the adapter_config.json path, for messages */
  file: string;
  /** the rank (per-module ranks may differ: rankPattern) */
  r: number;
  loraAlpha: number;
  /** rsLoRA: scale alpha / sqrt(r) instead of alpha / r */
  useRslora: boolean;
  /** a list of names (matched as suffixes), a regular expression, "all-linear", or null */
  targetModules: string[] | string | null;
  /** parameters adapted directly (PEFT's ParamWrapper: the experts' gate_up_proj, down_proj) */
  targetParameters: string[];
  /** modules left out, matched like targetModules */
  excludeModules: string[] | string | null;
  /** only these layer indices are adapted (null: all) */
  layersToTransform: number[] | null;
  /** per-module rank and alpha overrides, keyed by a regular expression on the module name */
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  /** the model the adapter was trained on, as written (null when absent) */
  baseModel: string | null;
}

/** Options PEFT's LoRA may carry that change the result, with why each is refused. */
const UNSUPPORTED: [key: string, active: (v: unknown) => boolean, what: string][] = [
  ["use_dora", (v) => v === true, "DoRA (weight-decomposed LoRA) is not implemented, only plain LoRA"],
  ["fan_in_fan_out", (v) => v === true, "fan_in_fan_out (Conv1D-style transposed weights) is not implemented; gpt-oss's projections are plain linear layers"],
  ["lora_bias", (v) => v === true, "a bias on lora_B (lora_bias) is not implemented"],
  ["bias", (v) => v !== undefined && v !== null && v !== "none", "trained biases (bias other than \"none\") are not implemented"],
  ["modules_to_save", (v) => Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null, "fully trained modules (modules_to_save) are not implemented: only the low-rank pairs are applied"],
  ["use_qalora", (v) => v === true, "QA-LoRA (use_qalora) is not implemented"],
  ["layer_replication", (v) => v !== undefined && v !== null, "layer replication is not implemented"],
  ["trainable_token_indices", (v) => v !== undefined && v !== null, "trainable token embeddings (trainable_token_indices) are not implemented"],
  ["alora_invocation_tokens", (v) => v !== undefined && v !== null, "activated LoRA (alora_invocation_tokens) is not implemented"],
  ["use_bdlora", (v) => v !== undefined && v !== null && v !== false, "use_bdlora is not implemented"],
];

/** Reads and checks `file` (an adapter folder's adapter_config.json). */
export function readAdapterConfig(file: string): AdapterConfig {
  let text: string;
  try {
    // A FIFO would block the read forever: refuse anything but a regular file first.
    const st = statSync(file);
    if (!st.isFile()) throw new AdapterError(`${file}: is ${st.isDirectory() ? "a folder" : st.isFIFO() ? "a named pipe (FIFO)" : "not a regular file"}; expected a file`);
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof AdapterError) throw e;
    throw new AdapterError(`${file}: cannot read: ${(e as Error).message} (a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new AdapterError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return parseAdapterConfig(raw, file);
}

export function parseAdapterConfig(raw: unknown, file: string): AdapterConfig {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new AdapterError(`${file}: not a JSON object`);
  const j = raw as Record<string, unknown>;
  const fail = (key: string, why: string): never => {
    throw new AdapterError(`${file}: "${key}" ${why}`);
  };
  if (j.peft_type !== "LORA") {
    fail("peft_type", j.peft_type === undefined ? "is missing: not a PEFT adapter config" : `is ${JSON.stringify(j.peft_type)}: only LoRA adapters ("LORA") are supported`);
  }
  for (const [key, active, what] of UNSUPPORTED) {
    if (active(j[key])) fail(key, `is ${JSON.stringify(j[key])}: ${what}`);
  }

  const r = j.r;
  if (typeof r !== "number" || !Number.isInteger(r) || r < 1) fail("r", `must be a whole number >= 1, got ${JSON.stringify(r)}`);
  const alpha = j.lora_alpha ?? 8; // PEFT's LoraConfig default
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) fail("lora_alpha", `must be a number, got ${JSON.stringify(alpha)}`);
  const rslora = j.use_rslora ?? false;
  if (typeof rslora !== "boolean") fail("use_rslora", `must be true or false, got ${JSON.stringify(rslora)}`);

  const names = (key: string): string[] | string | null => {
    const v = j[key];
    if (v === undefined || v === null) return null;
    if (typeof v === "string") return v;
    if (Array.isArray(v) && v.every((s) => typeof s === "string")) return v as string[];
    return fail(key, `must be a list of names or a string, got ${JSON.stringify(v)}`);
  };
  const targetModules = names("target_modules");
  const params = names("target_parameters");
  if (typeof params === "string") fail("target_parameters", "must be a list of parameter names");
  const targetParameters = (params as string[] | null) ?? [];
  const noModules = targetModules === null || (Array.isArray(targetModules) && targetModules.length === 0);
  if (noModules && targetParameters.length === 0) fail("target_modules", "and \"target_parameters\" are both empty: the adapter adapts nothing");

  const pattern = j.layers_pattern;
  const okPattern = pattern === undefined || pattern === null || pattern === "layers" || (Array.isArray(pattern) && pattern.length === 1 && pattern[0] === "layers");
  if (!okPattern) fail("layers_pattern", `is ${JSON.stringify(pattern)}: gpt-oss's layers are "model.layers.N"`);
  let layersToTransform: number[] | null = null;
  const ltt = j.layers_to_transform;
  if (ltt !== undefined && ltt !== null) {
    const list = typeof ltt === "number" ? [ltt] : ltt;
    if (!Array.isArray(list) || !list.every((n) => Number.isInteger(n) && n >= 0)) fail("layers_to_transform", `must be a layer index or a list of them, got ${JSON.stringify(ltt)}`);
    layersToTransform = list as number[];
  }

  const numbers = (key: string, check: (n: number) => boolean): Record<string, number> => {
    const v = j[key] ?? {};
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(key, "must be an object of name patterns to numbers");
    for (const [k, n] of Object.entries(v as Record<string, unknown>)) {
      if (typeof n !== "number" || !check(n)) fail(key, `has ${JSON.stringify(k)}: ${JSON.stringify(n)}, not a valid value`);
    }
    return v as Record<string, number>;
  };
  const base = j.base_model_name_or_path;
  return {
    file,
    r: r as number,
    loraAlpha: alpha as number,
    useRslora: rslora as boolean,
    targetModules,
    targetParameters,
    excludeModules: names("exclude_modules"),
    layersToTransform,
    rankPattern: numbers("rank_pattern", (n) => Number.isInteger(n) && n >= 1),
    alphaPattern: numbers("alpha_pattern", Number.isFinite),
    baseModel: typeof base === "string" && base !== "" ? base : null,
  };
}

/** PEFT's scale of one module: alpha / r, or alpha / sqrt(r) with rsLoRA. */
export function loraScale(alpha: number, r: number, rslora: boolean): number {
  return rslora ? alpha / Math.sqrt(r) : alpha / r;
}
