// Reading and checking PEFT LoRA adapter folders (src/lora/): the dev fixtures as PEFT wrote them, PEFT's
// target matching and scales, the per-expert slicing, and a refusal naming file and key for every kind
// of adapter this engine cannot apply exactly.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import type { ModelConfig } from "../src/checkpoint/config.js";
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from "../src/checkpoint/safetensors.js";
import { openAdapter } from "../src/lora/adapter.js";
import { AdapterError } from "../src/lora/config.js";
import { synthesizeAdapter } from "../src/lora/synth.js";
import { loadAdapter } from "../src/lora/weights.js";
import { DEV_CKPT, LORA_DEV, readTensor, tempDir } from "./helpers.js";
const tmp = tempDir("gpt-oss-ts-lora-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ckpt = Checkpoint.open(DEV_CKPT);
const dev: ModelConfig = ckpt.config;
ckpt.close();

let copies = 0;
/** A copy of a fixture adapter with its config and tensors changed. */
function variant(name: string, config: (j: Record<string, unknown>) => void = () => {},
  tensors?: (ts: TensorToWrite[]) => TensorToWrite[]): string {
  const dir = join(tmp, `${name}-${copies++}`);
  cpSync(join(LORA_DEV, "adapters", name), dir, { recursive: true });
  const file = join(dir, "adapter_config.json");
  const j = JSON.parse(readFileSync(file, "utf8"));
  config(j);
  writeFileSync(file, JSON.stringify(j));
  if (tensors) {
    const st = SafetensorsFile.open(join(dir, "adapter_model.safetensors"));
    const list = [...st.tensors.values()].map((t) => {
      const data = new Uint8Array(t.byteLength);
      st.readInto(t.name, data);
      return { name: t.name, dtype: t.dtype, shape: t.shape, data } as TensorToWrite;
    });
    st.close();
    writeSafetensors(join(dir, "adapter_model.safetensors"), tensors(list));
  }
  return dir;
}

const refusal = (dir: string, c: ModelConfig = dev) => {
  try {
    openAdapter(dir, c);
  } catch (e) {
    expect(e).toBeInstanceOf(AdapterError);
    return (e as Error).message;
  }
  throw new Error("the adapter was accepted");
};

describe("the dev fixtures", () => {
  it.each([
    ["r4", 2, ["layer 1 gate_up_proj", "layer 1 down_proj"]],
    ["r4_rslora", 4, ["layer 0 gate_up_proj", "layer 2 down_proj"]],
    ["r8_bf16", 1, ["layer 3 gate_up_proj", "layer 3 down_proj"]],
  ])("%s: every tensor tied to its module, scale %d", (name, scale, experts) => {
    const plan = openAdapter(join(LORA_DEV, "adapters", name), dev, DEV_CKPT);
    expect(plan.warnings).toEqual([]);
    expect(plan.pairs.filter((p) => p.name.endsWith("_proj") && p.name.length === 6).length).toBe(16); // q/k/v/o x 4 layers
    expect(plan.pairs.filter((p) => p.name === "gate_up_proj" || p.name === "down_proj").map((p) => `layer ${p.layer} ${p.name}`).sort()).toEqual([...experts].sort());
    expect(new Set(plan.pairs.map((p) => p.scale))).toEqual(new Set([scale]));
    const r = plan.config.r;
    // f32 in memory: attention (r*in + r*out) per pair, experts E times that
    const attn = 4 * r * (64 + 128 + 2 * (64 + 32) + 128 + 64);
    const expertBytes = experts.map((e) => (e.endsWith("gate_up_proj") ? 64 + 192 : 96 + 64) * 4 * r * 8).reduce((a, b) => a + b, 0);
    expect(plan.bytes).toBe(4 * attn + expertBytes);
  });

  it("cuts out each expert's pair as PEFT's einsum does: A rows contiguous, B columns strided, scale folded into B", () => {
    const dir = join(LORA_DEV, "adapters", "r4");
    const adapter = loadAdapter(openAdapter(dir, dev), dev);
    const file = SafetensorsFile.open(join(dir, "adapter_model.safetensors"));
    const A = readTensor(file, "base_model.model.model.layers.1.mlp.experts.base_layer.lora_A.weight") as Float32Array; // gate_up [32, 64]
    const B = readTensor(file, "base_model.model.model.layers.1.mlp.experts.base_layer.lora_B.weight") as Float32Array; // [192, 32]
    const qB = readTensor(file, "base_model.model.model.layers.2.self_attn.q_proj.lora_B.weight") as Float32Array; // [128, 4]
    file.close();
    const r = 4, E = 8;
    for (const e of [0, 3, 7]) {
      const p = adapter.layers[1].mlp1![e];
      expect([p.rank, p.cols, p.rows]).toEqual([4, 64, 192]);
      for (const [k, c] of [[0, 0], [2, 17], [3, 63]]) expect(p.a[k * 64 + c]).toBe(A[(e * r + k) * 64 + c]);
      for (const [k, o] of [[0, 0], [1, 5], [3, 191]]) expect(p.b[k * 192 + o]).toBe(Math.fround(2 * B[o * r * E + k * E + e]));
    }
    const q = adapter.layers[2].q!;
    expect(q.b[3 * 128 + 100]).toBe(Math.fround(2 * qB[100 * 4 + 3]));
    expect(adapter.layers[0].mlp1).toBeUndefined();
    expect(adapter.summary).toBe("q_proj, k_proj, v_proj, o_proj on layers 0-3; experts.gate_up_proj, experts.down_proj on layer 1");
    expect(loadAdapter(openAdapter(dir, dev), dev, undefined, 0.5).layers[2].q!.b[3 * 128 + 100]).toBe(Math.fround(qB[100 * 4 + 3]));
  });

  it("reads names without the base_model.model. prefix, and regular-expression and all-linear targets", () => {
    const bare = variant("r4", () => {}, (ts) => ts.map((t) => ({ ...t, name: t.name.replace(/^base_model\.model\./, "") })));
    expect(openAdapter(bare, dev).pairs.length).toBe(18);
    const regex = variant("r4", (j) => void (j.target_modules = "model\\.layers\\.\\d+\\.self_attn\\.(q|k|v|o)_proj"));
    expect(openAdapter(regex, dev).pairs.length).toBe(18);
    const all = variant("r4", (j) => void (j.target_modules = "all-linear"));
    expect(openAdapter(all, dev).pairs.length).toBe(18);
    // rank_pattern / alpha_pattern: the scale of the matching module changes
    const alpha = variant("r4", (j) => void (j.alpha_pattern = { "layers\\.2\\.self_attn\\.q_proj": 2 }));
    const pairs = openAdapter(alpha, dev).pairs;
    expect(pairs.find((p) => p.layer === 2 && p.name === "q_proj")!.scale).toBe(0.5);
    expect(pairs.find((p) => p.layer === 1 && p.name === "q_proj")!.scale).toBe(2);
  });
});

describe("refusals name the file and the key", () => {
  it.each([
    ["use_dora", true, /adapter_config\.json: "use_dora" is true: DoRA/],
    ["fan_in_fan_out", true, /adapter_config\.json: "fan_in_fan_out" is true/],
    ["lora_bias", true, /adapter_config\.json: "lora_bias" is true/],
    ["modules_to_save", ["lm_head"], /adapter_config\.json: "modules_to_save" is \["lm_head"\]/],
    ["bias", "all", /adapter_config\.json: "bias" is "all"/],
    ["peft_type", "PREFIX_TUNING", /adapter_config\.json: "peft_type" is "PREFIX_TUNING": only LoRA/],
    ["r", 0, /adapter_config\.json: "r" must be a whole number/],
    ["layers_pattern", "h", /adapter_config\.json: "layers_pattern"/],
  ])("%s = %j", (key, value, message) => {
    expect(refusal(variant("r4", (j) => void (j[key] = value)))).toMatch(message);
  });

  it("targets that match nothing, or match what this engine does not adapt", () => {
    expect(refusal(variant("r4", (j) => void (j.target_modules = ["gate_proj", "up_proj"])))).toMatch(/"target_modules" \["gate_proj","up_proj"\] matches no module/);
    expect(refusal(variant("r4", (j) => void (j.target_modules = ["q_proj", "lm_head"])))).toMatch(/"target_modules" adapts lm_head: LoRA on the output layer is not implemented/);
    expect(refusal(variant("r4", (j) => void (j.target_modules = ["self_attn"])))).toMatch(/"target_modules" matches "model\.layers\.0\.self_attn", which is not a linear layer/);
    expect(refusal(variant("r4", (j) => void (j.target_parameters = ["7.mlp.experts.gate_up_proj"])))).toMatch(/"target_parameters" entry "7\.mlp\.experts\.gate_up_proj" matches no parameter of this model \(4 layers/);
    expect(refusal(variant("r4", (j) => void (j.target_parameters = ["mlp.router.weight"])))).toMatch(/adapts parameter "model\.layers\.0\.mlp\.router\.weight", which this engine does not adapt/);
    expect(refusal(variant("r4", (j) => void ((j.target_modules = []), (j.target_parameters = []))))).toMatch(/both empty/);
    // an unused entry beside used ones is what PEFT accepts (a Llama-style list): a warning
    const plan = openAdapter(variant("r4", (j) => void (j.target_modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj"])), dev);
    expect(plan.warnings.join("\n")).toMatch(/"target_modules" entries \["gate_proj"\] match no module of this model \(ignored, as PEFT does\)/);
  });

  it("tensors and targets that do not correspond", () => {
    const noO = variant("r4", () => {}, (ts) => ts.filter((t) => !t.name.includes("layers.2.self_attn.o_proj.lora_A")));
    expect(refusal(noO)).toMatch(/adapter_model\.safetensors: no lora_A for model\.layers\.2\.self_attn\.o_proj, which .*adapter_config\.json targets/);
    const onlyQ = variant("r4", (j) => void (j.target_modules = ["q_proj"]));
    expect(refusal(onlyQ)).toMatch(/tensor "base_model\.model\.model\.layers\.0\.self_attn\.k_proj\.lora_A\.weight" adapts model\.layers\.0\.self_attn\.k_proj, which .* does not target/);
    const noExperts = variant("r4", (j) => void (j.target_parameters = []));
    expect(refusal(noExperts)).toMatch(/adapts the experts of layer 1, but .*"target_parameters" does not target them/);
    const junk = variant("r4", () => {}, (ts) => [...ts, { name: "base_model.model.lm_head.lora_A.weight", dtype: "F32", shape: [4, 64], data: new Float32Array(256) }]);
    expect(refusal(junk)).toMatch(/tensor "base_model\.model\.lm_head\.lora_A\.weight" adapts lm_head/);
    const dora = variant("r4", () => {}, (ts) => [...ts, { name: "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", dtype: "F32", shape: [128], data: new Float32Array(128) }]);
    expect(refusal(dora)).toMatch(/lora_magnitude_vector" is a DoRA magnitude vector/);
  });

  it("shapes that do not fit the model", () => {
    // the dev adapters on a model of other widths
    const wider: ModelConfig = { ...dev, hiddenSize: 96 };
    expect(refusal(join(LORA_DEV, "adapters", "r4"), wider)).toMatch(/"base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight" \[4, 64\] and .* do not fit model\.layers\.0\.self_attn\.q_proj of this model, which needs lora_A \[4, 96\] and lora_B \[128, 4\]/);
    const rank = variant("r4", (j) => void (j.r = 8));
    expect(refusal(rank)).toMatch(/q_proj\.lora_A\.weight" has rank 4, but .*adapter_config\.json gives model\.layers\.0\.self_attn\.q_proj rank 8/);
    const transposed = variant("r4", () => {}, (ts) => ts.map((t) => (t.name.includes("layers.0.self_attn.q_proj") ? { ...t, shape: [t.shape[1], t.shape[0]] } : t)));
    expect(refusal(transposed)).toMatch(/do not fit model\.layers\.0\.self_attn\.q_proj .* \(these look transposed\)/);
    const experts = variant("r4", () => {}, (ts) => ts.map((t) => (t.name.includes("layers.1.mlp.experts.lora_B") ? { ...t, shape: [32, 64], data: t.data } : t)));
    expect(refusal(experts)).toMatch(/the expert pairs of layer 1 .* do not fit this model's experts/);
  });

  it("expert pairs in the swapped layout; where the shapes cannot tell, a warning says how the file was read", () => {
    // gate_up_proj swapped: lora_A [r*E, 2I], lora_B [H, r*E] (H = 64, I = 96, r*E = 32)
    const swapped = variant("r4_rslora", () => {}, (ts) => ts.map((t) => {
      if (t.name.endsWith("layers.0.mlp.experts.lora_A.weight")) return { ...t, shape: [32, 192], data: new Float32Array(32 * 192) };
      if (t.name.endsWith("layers.0.mlp.experts.lora_B.weight")) return { ...t, shape: [64, 32], data: new Float32Array(64 * 32) };
      return t;
    }));
    expect(refusal(swapped)).toMatch(/adapter_model\.safetensors: the expert pairs of layer 0 .* have in and out features swapped/);
    // a model whose hidden size equals the expert width: down_proj reads the same either way
    const square: ModelConfig = { ...dev, intermediateSize: 64 };
    const dir = join(tmp, "square");
    synthesizeAdapter(dir, square, { r: 2, targetModules: ["q_proj"], expertLayers: [2], expertParams: ["down_proj"] });
    const plan = openAdapter(dir, square);
    expect(plan.warnings.join("\n")).toMatch(/layer 2 down_proj: the hidden size equals the expert width \(64\), so the shapes cannot tell .* read as PEFT's/);
    const both = join(tmp, "square-both");
    synthesizeAdapter(both, square, { r: 2, targetModules: ["q_proj"], expertLayers: [2] }); // gate_up_proj's shapes confirm the layout
    expect(openAdapter(both, square).warnings).toEqual([]);
  });

  it("the base model: a warning when the adapter names another one", () => {
    const other = variant("r4", (j) => void (j.base_model_name_or_path = "openai/gpt-oss-120b"));
    expect(openAdapter(other, dev, DEV_CKPT).warnings.join("\n")).toMatch(/trained on "openai\/gpt-oss-120b" \(base_model_name_or_path\), but the model is .*checkpoint; applying it anyway/);
    const same = variant("r4", (j) => void (j.base_model_name_or_path = "some-org/checkpoint"));
    expect(openAdapter(same, dev, DEV_CKPT).warnings).toEqual([]);
    const hub = join(tmp, "models--openai--gpt-oss-20b", "snapshots", "abc");
    mkdirSync(hub, { recursive: true });
    expect(openAdapter(variant("r4", (j) => void (j.base_model_name_or_path = "openai/gpt-oss-20b")), dev, hub).warnings).toEqual([]);
  });

  it("missing files, bad values", () => {
    expect(refusal(join(tmp, "nowhere"))).toMatch(/nowhere: not a folder/);
    const empty = join(tmp, "empty");
    mkdirSync(empty);
    expect(refusal(empty)).toMatch(/empty\/adapter_config\.json: cannot read/);
    const noWeights = variant("r4");
    rmSync(join(noWeights, "adapter_model.safetensors"));
    expect(refusal(noWeights)).toMatch(/adapter_model\.safetensors: missing/);
    // named pipes would block a read forever (where mkfifo exists)
    for (const file of ["adapter_config.json", "adapter_model.safetensors"]) {
      const dir = variant("r4");
      rmSync(join(dir, file));
      if (spawnSync("mkfifo", [join(dir, file)]).status !== 0) break;
      expect(refusal(dir)).toMatch(new RegExp(`${file.replace(".", "\\.")}: is a named pipe \\(FIFO\\)`));
    }
    const nan = variant("r4", () => {}, (ts) => ts.map((t) => (t.name.endsWith("layers.3.self_attn.v_proj.lora_B.weight") ? { ...t, data: new Float32Array(32 * 4).fill(NaN) } : t)));
    expect(() => loadAdapter(openAdapter(nan, dev), dev)).toThrow(/tensor "base_model\.model\.model\.layers\.3\.self_attn\.v_proj\.lora_B\.weight" holds NaN/);
  });
});
