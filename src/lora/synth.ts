// A random LoRA adapter in PEFT's exact on-disk format, for a model config: what the tests, the cost
// measurement and the examples use where no trained adapter is at hand. Unlike a freshly initialised
// PEFT adapter (lora_B = 0) its lora_B is random, so it changes the model.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelConfig } from "../checkpoint/config.js";
import { f32ToBf16 } from "../checkpoint/numerics.js";
import { writeSafetensors, type TensorToWrite } from "../checkpoint/safetensors.js";
import { Xoshiro128 } from "../util/prng.js";
import { CONFIG_FILE, WEIGHTS_FILE } from "./adapter.js";
import { ATTENTION_MODULES } from "./targets.js";

export interface SynthAdapterOptions {
  /** rank (default 16) */
  r?: number;
  /** lora_alpha (default 2r: scale 2) */
  alpha?: number;
  useRslora?: boolean;
  /** attention modules adapted on every layer (default all four); [] for none */
  targetModules?: string[];
  /** layers whose experts are adapted (default none) */
  expertLayers?: number[];
  /** which expert parameters those are (default both) */
  expertParams?: ("gate_up_proj" | "down_proj")[];
  /** tensor dtype (default F32) */
  dtype?: "F32" | "BF16";
  /** standard deviation of lora_B's entries (default 0.02) */
  bStd?: number;
  /** base_model_name_or_path (default null) */
  baseModel?: string | null;
  seed?: number;
}

/** Writes adapter_config.json and adapter_model.safetensors into `dir`. */
export function synthesizeAdapter(dir: string, c: ModelConfig, options: SynthAdapterOptions = {}): void {
  const r = options.r ?? 16, E = c.numExperts, H = c.hiddenSize, I = c.intermediateSize;
  const qw = c.numHeads * c.headDim, kvw = c.numKvHeads * c.headDim;
  const modules = options.targetModules ?? [...ATTENTION_MODULES];
  const expertLayers = options.expertLayers ?? [];
  const params = options.expertParams ?? ["gate_up_proj", "down_proj"];
  const rng = new Xoshiro128(options.seed ?? 1);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
  const dtype = options.dtype ?? "F32";
  const tensors: TensorToWrite[] = [];
  const add = (name: string, shape: number[], value: () => number) => {
    const n = shape[0] * shape[1];
    const data = dtype === "F32" ? Float32Array.from({ length: n }, value) : Uint16Array.from({ length: n }, () => f32ToBf16(value()));
    tensors.push({ name: `base_model.model.${name}`, dtype, shape, data });
  };
  // lora_A as PEFT initialises it (Kaiming-uniform: within ±1/sqrt(in)); lora_B small and random.
  const pair = (prefix: string, rank: number, cols: number, rows: number) => {
    const bound = 1 / Math.sqrt(cols), std = options.bStd ?? 0.02;
    add(`${prefix}.lora_A.weight`, [rank, cols], () => (2 * rng.float() - 1) * bound);
    add(`${prefix}.lora_B.weight`, [rows, rank], () => std * normal());
  };
  const shapes: Record<string, [number, number]> = { q_proj: [H, qw], k_proj: [H, kvw], v_proj: [H, kvw], o_proj: [qw, H] };
  for (let l = 0; l < c.numLayers; l++) {
    for (const m of modules) pair(`model.layers.${l}.self_attn.${m}`, r, ...shapes[m]);
    if (expertLayers.includes(l)) {
      // Two parameters of one module: PEFT nests the wrappers, gate_up_proj's inside.
      const inner = params.length === 2 ? ".base_layer" : "";
      if (params.includes("gate_up_proj")) pair(`model.layers.${l}.mlp.experts${inner}`, r * E, H, 2 * I);
      if (params.includes("down_proj")) pair(`model.layers.${l}.mlp.experts`, r * E, I, H);
    }
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, WEIGHTS_FILE), tensors, { format: "pt" });
  const config = {
    alpha_pattern: {}, base_model_name_or_path: options.baseModel ?? null, bias: "none", fan_in_fan_out: false, inference_mode: true,
    init_lora_weights: true, layers_pattern: null, layers_to_transform: null, lora_alpha: options.alpha ?? 2 * r, lora_bias: false,
    lora_dropout: 0.0, modules_to_save: null, peft_type: "LORA", r, rank_pattern: {}, revision: null,
    target_modules: modules.length > 0 ? modules : null,
    target_parameters: expertLayers.flatMap((l) => params.map((p) => `${l}.mlp.experts.${p}`)),
    task_type: "CAUSAL_LM", use_dora: false, use_rslora: options.useRslora ?? false,
  };
  writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(config, null, 2) + "\n");
}
