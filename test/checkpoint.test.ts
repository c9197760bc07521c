// Both released layouts map to the same weights; every bad checkpoint is refused with a message that
// names the file and what is wrong, before any compute.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import { parseConfig } from "../src/checkpoint/config.js";
import { HF_NAMES, ORIGINAL_NAMES } from "../src/checkpoint/layout.js";
import { loadModel } from "../src/model/model.js";
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from "../src/checkpoint/safetensors.js";
import { DEV_CKPT, DEV_SHARDED, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tokens = [3, 492, 827, 960, 545, 250, 126];

function allTensors(dir: string): Map<string, { dtype: string; shape: number[]; data: Uint8Array }> {
  const f = SafetensorsFile.open(join(dir, "model.safetensors"));
  const out = new Map<string, { dtype: string; shape: number[]; data: Uint8Array }>();
  for (const t of f.tensors.values()) {
    const data = new Uint8Array(t.byteLength);
    f.readInto(t.name, data);
    out.set(t.name, { dtype: t.dtype, shape: t.shape, data });
  }
  f.close();
  return out;
}

/** The dev checkpoint rewritten in the reference's original/ layout (fused qkv, block.N names). */
function writeOriginal(root: string): string {
  const hf = allTensors(DEV_CKPT);
  const cfg = JSON.parse(readFileSync(join(DEV_CKPT, "config.json"), "utf8"));
  const out: TensorToWrite[] = [];
  const put = (name: string, t: { dtype: string; shape: number[]; data: Uint8Array }) => out.push({ name, ...t });
  const concat = (names: string[]) => {
    const parts = names.map((n) => hf.get(n)!);
    const data = new Uint8Array(parts.reduce((s, p) => s + p.data.length, 0));
    let at = 0;
    for (const p of parts) data.set(p.data, (at += p.data.length) - p.data.length);
    return { dtype: "BF16", shape: [parts.reduce((s, p) => s + p.shape[0], 0), ...parts[0].shape.slice(1)], data };
  };
  put(ORIGINAL_NAMES.embedding, hf.get(HF_NAMES.embedding)!);
  put(ORIGINAL_NAMES.norm, hf.get(HF_NAMES.norm)!);
  put(ORIGINAL_NAMES.unembedding, hf.get(HF_NAMES.unembedding)!);
  for (let n = 0; n < cfg.num_hidden_layers; n++) {
    const h = HF_NAMES.layer(n), o = ORIGINAL_NAMES.layer(n);
    put(o.qkv[0], concat(h.qkv));
    put(o.qkvBias[0], concat(h.qkvBias));
    for (const key of ["attnNorm", "out", "outBias", "sinks", "mlpNorm", "gate", "gateBias", "mlp1Blocks", "mlp1Scales", "mlp1Bias", "mlp2Blocks", "mlp2Scales", "mlp2Bias"] as const) {
      put(o[key], hf.get(h[key])!);
    }
  }
  const dir = join(root, "original");
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, "model.safetensors"), out.reverse()); // order in the file must not matter
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    num_hidden_layers: cfg.num_hidden_layers, num_experts: cfg.num_local_experts, experts_per_token: cfg.experts_per_token,
    vocab_size: cfg.vocab_size, hidden_size: cfg.hidden_size, intermediate_size: cfg.intermediate_size, swiglu_limit: cfg.swiglu_limit,
    head_dim: cfg.head_dim, num_attention_heads: cfg.num_attention_heads, num_key_value_heads: cfg.num_key_value_heads,
    sliding_window: cfg.sliding_window, initial_context_length: cfg.initial_context_length, rope_theta: cfg.rope_theta,
    rope_scaling_factor: cfg.rope_scaling.factor, rope_ntk_alpha: cfg.rope_scaling.beta_slow, rope_ntk_beta: cfg.rope_scaling.beta_fast,
  }));
  return root;
}

/** A copy of the single-file dev checkpoint with its config.json and tensors edited. */
function variant(name: string, edit: { config?: (c: any) => void; tensors?: (t: Map<string, { dtype: string; shape: number[]; data: Uint8Array }>) => void }): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(DEV_CKPT, "config.json"), "utf8"));
  edit.config?.(cfg);
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
  if (edit.tensors) {
    const t = allTensors(DEV_CKPT);
    edit.tensors(t);
    writeSafetensors(join(dir, "model.safetensors"), [...t].map(([n, v]) => ({ name: n, ...v })));
  } else {
    copyFileSync(join(DEV_CKPT, "model.safetensors"), join(dir, "model.safetensors"));
  }
  return dir;
}

describe("layouts", () => {
  it("sharded (with index) and single-file checkpoints give identical logits", async () => {
    const a = (await loadModel(DEV_CKPT)).forward(tokens);
    const b = (await loadModel(DEV_SHARDED)).forward(tokens);
    expect(b).toEqual(a);
  });

  it("the original/ layout (fused qkv, block.N names) gives identical logits, from the folder or its parent", async () => {
    const root = writeOriginal(join(tmp, "orig"));
    const a = (await loadModel(DEV_CKPT)).forward(tokens);
    const viaParent = await loadModel(root);
    expect(viaParent.checkpoint.layout).toBe("original");
    expect(viaParent.forward(tokens)).toEqual(a);
    expect((await loadModel(join(root, "original"))).forward(tokens)).toEqual(a);
  });

  it("loadAsync (several reads in flight, in pieces) places the same bytes as load, with the same progress total", async () => {
    const c = Checkpoint.open(DEV_SHARDED);
    const flat = (w: ReturnType<Checkpoint["load"]>) => [w.embedding.data, w.norm, w.unembedding.data,
      ...w.layers.flatMap((l) => [l.attnNorm, l.qkv.data, l.qkvBias, l.out.data, l.outBias, l.sinks, l.mlpNorm, l.gate.data, l.gateBias,
        l.mlp1.blocks, l.mlp1.scales, l.mlp1Bias, l.mlp2.blocks, l.mlp2.scales, l.mlp2Bias])];
    const sync = flat(c.load());
    let last = 0;
    const async = flat(await c.loadAsync({ concurrency: 3, pieceBytes: 1000, onProgress: (done, total) => void (last = done / total) }));
    c.close();
    expect(last).toBe(1);
    expect(async.length).toBe(sync.length);
    async.forEach((a, i) => expect(Buffer.compare(new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
      new Uint8Array(sync[i].buffer, sync[i].byteOffset, sync[i].byteLength))).toBe(0));
  });

  it("inspect-level facts: layout, tensor count, bytes", () => {
    const c = Checkpoint.open(DEV_SHARDED);
    expect(c.layout).toBe("hf");
    expect(c.files.length).toBe(3);
    expect(c.tensorNames.length).toBe(79);
    expect(c.weightBytes).toBe(449792 + 313344);
    c.close();
  });
});

describe("bad checkpoints are refused with a clear message", () => {
  const refuse = (dir: string, ...parts: (string | RegExp)[]) => {
    let msg = "";
    try {
      Checkpoint.open(dir).close();
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg, "expected an error").not.toBe("");
    for (const p of parts) expect(msg).toMatch(p);
  };

  it("missing config key", () => refuse(variant("nokey", { config: (c) => delete c.hidden_size }), "config.json", /missing key "hidden_size"/));
  it("inconsistent head counts", () => refuse(variant("heads", { config: (c) => (c.num_key_value_heads = 3) }), /num_attention_heads \(8\) must be a multiple of num_key_value_heads \(3\)/));
  it("layer_types of the wrong length", () => refuse(variant("lt", { config: (c) => c.layer_types.pop() }), /"layer_types" has 3 entries but num_hidden_layers is 4/));
  it("unknown layer type", () => refuse(variant("lt2", { config: (c) => (c.layer_types[1] = "chunked_attention") }), /layer_types\[1\]/));
  it("unknown rope type", () => refuse(variant("rope", { config: (c) => (c.rope_scaling.rope_type = "longrope") }), /unknown rope_scaling.rope_type "longrope"/));
  it("config not JSON", () => {
    const dir = variant("badjson", {});
    writeFileSync(join(dir, "config.json"), "{ nope");
    refuse(dir, "config.json", /not valid JSON/);
  });
  it("not a checkpoint folder", () => refuse(tmp, /no config.json/));
  it("a tensor missing", () =>
    refuse(variant("missing", { tensors: (t) => t.delete("model.layers.2.self_attn.sinks") }), /tensor "model.layers.2.self_attn.sinks" is missing/, "model.safetensors"));
  it("a tensor of the wrong shape for the config", () =>
    refuse(variant("shape", { config: (c) => (c.intermediate_size = 64) }), "model.safetensors", /gate_up_proj_blocks" has shape \[8, 192, 2, 16\]; config.json implies \[8, 128, 2, 16\]/));
  it("a tensor of the wrong dtype", () =>
    refuse(variant("dtype", {
      tensors: (t) => {
        const w = t.get("lm_head.weight")!;
        t.set("lm_head.weight", { dtype: "F16", shape: w.shape, data: w.data });
      },
    }), "model.safetensors", /"lm_head.weight" has dtype F16; expected BF16/));
  it("an index that names a missing shard", () => {
    const dir = join(tmp, "shards");
    mkdirSync(dir);
    for (const f of ["config.json", "model.safetensors.index.json", "model-00000-of-00002.safetensors", "model-00001-of-00002.safetensors"]) {
      copyFileSync(join(DEV_SHARDED, f), join(dir, f));
    }
    refuse(dir, "model.safetensors.index.json", /model-00002-of-00002.safetensors/);
  });

  it("config parsing: the real gpt-oss-20b config reads as expected", () => {
    const real = JSON.parse(readFileSync(join(DEV_CKPT, "config.json"), "utf8"));
    Object.assign(real, { num_hidden_layers: 24, hidden_size: 2880, layer_types: Array.from({ length: 24 }, (_, i) => (i % 2 ? "full_attention" : "sliding_attention")) });
    const c = parseConfig(real, "config.json", "hf");
    expect(c.layerTypes[0]).toBe("sliding_attention");
    expect(c.rope).toMatchObject({ type: "yarn", factor: 32, betaFast: 32, betaSlow: 1, originalMaxPositionEmbeddings: 4096, truncate: false });
  });
});
