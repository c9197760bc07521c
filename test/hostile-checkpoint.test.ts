// Hostile checkpoint folders (issue 14), written here from the dev checkpoint: absurd or lying configs are
// refused before anything is sized from them, a window longer than the context does not size the KV ring,
// and files that are not regular files are refused instead of hanging.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import { CONFIG_LIMITS, ConfigError, parseConfig } from "../src/checkpoint/config.js";
import { loadModel } from "../src/model/model.js";
import { KVCache } from "../src/model/kv-cache.js";
import { DEV_CKPT, DEV_SHARDED, maxAbsDiff, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const devConfig = JSON.parse(readFileSync(join(DEV_CKPT, "config.json"), "utf8")) as Record<string, unknown>;

let folders = 0;
/** A copy of the dev checkpoint with its config changed (`undefined` deletes a key). */
function devWith(changes: Record<string, unknown>): string {
  const dir = join(tmp, `ckpt-${folders++}`);
  mkdirSync(dir);
  copyFileSync(join(DEV_CKPT, "model.safetensors"), join(dir, "model.safetensors"));
  const config: Record<string, unknown> = { ...devConfig, ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === undefined) delete config[k];
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

const openError = (dir: string): Error => {
  try {
    Checkpoint.open(dir).close();
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${dir} opened`);
};

const cli = (...args: string[]) => spawnSync(process.execPath, ["dist/src/cli/main.js", ...args], { encoding: "utf8", timeout: 60_000 });

describe("config sizes", () => {
  it("a billion layers without layer_types: exit 1 naming the file and key, in moments", () => {
    const dir = devWith({ num_hidden_layers: 1e9, layer_types: undefined });
    const r = cli("inspect", "--model", dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(join(dir, "config.json"));
    expect(r.stderr).toMatch(/"num_hidden_layers" must be an integer from 1 to 1024, got 1000000000/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    for (const args of [["forward", "--out", join(tmp, "x.safetensors")], ["generate", "--max-tokens", "1"]]) {
      const g = cli(...args, "--model", dir, "--tokens", "1,2");
      expect(g.status).toBe(1);
      expect(g.stderr).toMatch(/"num_hidden_layers" must be an integer/);
    }
  });

  it("every size past its bound is refused, naming the key", () => {
    for (const key of ["num_hidden_layers", "hidden_size", "intermediate_size", "num_local_experts", "num_experts_per_tok", "num_attention_heads",
      "num_key_value_heads", "head_dim", "vocab_size", "sliding_window", "max_position_embeddings"]) {
      const limit = CONFIG_LIMITS[key];
      for (const bad of [limit + 1, 1e300, 2 ** 53, -1, 0, 1.5, "8", null, [8], true]) {
        expect(() => parseConfig({ ...devConfig, [key]: bad, layer_types: undefined }, "c.json", "hf"), `${key} = ${bad}`)
          .toThrow(new RegExp(`^c\\.json: "${key}" must be an integer from 1 to ${limit}, got `));
      }
    }
    expect(() => parseConfig({ ...devConfig, eos_token_id: 5000 }, "c.json", "hf")).toThrow(/"eos_token_id" 5000 is not a token id of the vocabulary \(0\.\.1023\)/);
    // original/config.json: the context is initial_context_length x rope_scaling_factor
    const original = { num_hidden_layers: 4, num_experts: 8, experts_per_token: 4, vocab_size: 1024, hidden_size: 64, intermediate_size: 96,
      swiglu_limit: 7, head_dim: 16, num_attention_heads: 8, num_key_value_heads: 2, sliding_window: 8, initial_context_length: 4096,
      rope_theta: 150000, rope_scaling_factor: 32, rope_ntk_alpha: 1, rope_ntk_beta: 32 };
    expect(parseConfig(original, "o.json", "original").maxPositionEmbeddings).toBe(131072);
    expect(() => parseConfig({ ...original, initial_context_length: 1e300 }, "o.json", "original")).toThrow(/o\.json: the context, initial_context_length x rope_scaling_factor, is/);
    expect(() => parseConfig({ ...original, initial_context_length: 0 }, "o.json", "original")).toThrow(ConfigError);
  });

  it("the layer count must match the layers the tensors hold, both ways", () => {
    const fewer = openError(devWith({ num_hidden_layers: 2, layer_types: undefined }));
    expect(fewer).toBeInstanceOf(ConfigError);
    expect(fewer.message).toMatch(/config\.json: "num_hidden_layers" is 2, but the tensors hold 4 layers \(up to model\.layers\.3\.input_layernorm\.weight\): the model would run without its last 2$/);
    const more = openError(devWith({ num_hidden_layers: 1000, layer_types: undefined }));
    expect(more.message).toMatch(/config\.json: "num_hidden_layers" is 1000, but the tensors hold 4 layers \(there is no model\.layers\.4\.input_layernorm\.weight\)$/);
  });
});

describe("sliding_window longer than the context", () => {
  it("does not size the KV ring: 4e6 keeps the cache small, 1e9 loads", async () => {
    for (const window of [4e6, 1e9]) {
      const model = await loadModel(devWith({ sliding_window: window }), { backend: "ts" });
      const cache = model.newCache();
      model.transformer.forward([1, 2, 3, 4, 5], cache, { logits: "none" });
      for (const l of cache.layers) expect(l.capacity).toBeLessThanOrEqual(256); // grown to what was used
      const ring = cache.layers.find((l) => l.sliding)!;
      expect(ring.limit).toBe(model.config.maxPositionEmbeddings);
      expect(cache.bytes).toBeLessThan(model.checkpoint.weightBytes);
      model.dispose?.();
    }
  });

  it("a ring that grows before it wraps gives the logits of recomputation", async () => {
    const model = await loadModel(devWith({ sliding_window: 20 }), { backend: "ts" });
    const V = model.config.vocabSize;
    const seq = Array.from({ length: 45 }, (_, i) => (i * 389 + 17) % V);
    const full = model.forward(seq);
    const cache = new KVCache(model.config, 3); // 3 -> 6 -> 12 -> 20 rows, then a ring
    for (let t = 0; t < seq.length; t++) {
      const step = model.transformer.forward([seq[t]], cache);
      expect(maxAbsDiff(step, full.subarray(t * V, (t + 1) * V)), `position ${t}`).toBeLessThan(1e-4);
    }
    for (const l of cache.layers.filter((l) => l.sliding)) expect(l.capacity).toBe(20);
  });
});

describe("files that are not files", () => {
  it("a folder as model.safetensors or config.json is refused by name", () => {
    const dir = devWith({});
    rmSync(join(dir, "model.safetensors"));
    mkdirSync(join(dir, "model.safetensors"));
    expect(openError(dir).message).toBe(`${join(dir, "model.safetensors")}: is a folder; expected a safetensors file`);
    const dir2 = devWith({});
    rmSync(join(dir2, "config.json"));
    mkdirSync(join(dir2, "config.json"));
    expect(openError(dir2).message).toBe(`${join(dir2, "config.json")}: is a folder; expected a file`);
  });

  it.skipIf(process.platform === "win32")("a FIFO as model.safetensors or config.json is refused, not waited on", () => {
    for (const name of ["model.safetensors", "config.json"]) {
      const dir = devWith({});
      rmSync(join(dir, name));
      const made = spawnSync("mkfifo", [join(dir, name)]);
      if (made.status !== 0) return; // no mkfifo here
      const r = cli("inspect", "--model", dir);
      expect(r.error).toBeUndefined(); // not killed by the timeout
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${join(dir, name)}: is a named pipe (FIFO)`);
    }
  });

  it("a shard index whose weight_map value is not a file name says which entry", () => {
    const dir = join(tmp, "sharded");
    mkdirSync(dir);
    for (const f of ["config.json", "model-00000-of-00002.safetensors", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]) {
      copyFileSync(join(DEV_SHARDED, f), join(dir, f));
    }
    const index = JSON.parse(readFileSync(join(DEV_SHARDED, "model.safetensors.index.json"), "utf8"));
    index.weight_map["lm_head.weight"] = 7;
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify(index));
    expect(openError(dir).message).toBe(`${join(dir, "model.safetensors.index.json")}: weight_map["lm_head.weight"] must be a file name (a string), got number`);
  });
});
