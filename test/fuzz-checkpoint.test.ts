// Fuzzing the two parsers a checkpoint goes through first (issue 14): thousands of mutated safetensors
// files and configs, seeded. Each must be refused with the project's own error (SafetensorsError,
// ConfigError, CheckpointError), never another exception, or accepted with its invariants holding.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Checkpoint, CheckpointError } from "../src/checkpoint/checkpoint.js";
import { CONFIG_LIMITS, ConfigError, parseConfig } from "../src/checkpoint/config.js";
import { encodeSafetensorsHeader, SafetensorsError, SafetensorsFile, tensorByteLength, writeSafetensors } from "../src/checkpoint/safetensors.js";
import { DEV_CKPT, FIXTURES, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const int = (n: number) => Math.floor(rand() * n);
const pick = <T,>(list: readonly T[]): T => list[int(list.length)];

/** Values a hostile file might hold where a size, a name or a list is expected. */
const HOSTILE = [0, -1, 1, 2, 7, 8, 31, 32, 1.5, -0.5, 1e9, 1e300, -1e300, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, Number.MAX_VALUE,
  "", "8", "F32", "BF16", "sliding_attention", "yarn", null, true, false, [], [1], [1, 2], [-1, 5], ["a"], [null], {}, { a: 1 },
  Array.from({ length: 2000 }, (_, i) => i)];

function expectOwnError(e: unknown, classes: (new (...args: never[]) => Error)[], what: string): void {
  if (!classes.some((c) => e instanceof c)) {
    throw new Error(`${what}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
  }
}

describe("safetensors header fuzz", () => {
  const tensors = [
    { name: "a", dtype: "F32", shape: [2, 3], data: new Float32Array(6).fill(1.5) },
    { name: "b.weight", dtype: "BF16", shape: [4], data: new Uint16Array(4).fill(0x3f80) },
    { name: "c", dtype: "U8", shape: [5, 1], data: new Uint8Array(5).fill(7) },
    { name: "empty", dtype: "I8", shape: [0, 3], data: new Uint8Array(0) },
  ];
  const base = join(tmp, "base.safetensors");
  writeSafetensors(base, tensors, { format: "pt" });
  const valid = new Uint8Array(readFileSync(base));
  const headerOf = () => JSON.parse(new TextDecoder().decode(encodeSafetensorsHeader(tensors, { format: "pt" }).prefix.subarray(8)));
  const dataBytes = valid.subarray(8 + Number(new DataView(valid.buffer).getBigUint64(0, true)));

  /** A file from a changed header: its JSON, a length prefix (usually right), then the data. */
  function withHeader(header: unknown, lengthDelta = 0): Uint8Array {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + dataBytes.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, json.length + lengthDelta)), true);
    out.set(json, 8);
    out.set(dataBytes, 8 + json.length);
    return out;
  }

  function mutate(): Uint8Array {
    switch (int(6)) {
      case 0: { // flip bytes anywhere
        const b = valid.slice();
        for (let k = 1 + int(8); k > 0; k--) b[int(b.length)] = int(256);
        return b;
      }
      case 1: // truncate
        return valid.slice(0, int(valid.length));
      case 2: { // trailing bytes
        const b = new Uint8Array(valid.length + 1 + int(64));
        b.set(valid);
        return b;
      }
      case 3: { // any length prefix
        const b = valid.slice();
        const v = pick([0n, 1n, 7n, BigInt(int(2 ** 20)), 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, BigInt(valid.length)]);
        new DataView(b.buffer).setBigUint64(0, v, true);
        return b;
      }
      default: { // a field of the header changed, an entry added or deleted
        const h = headerOf();
        for (let k = 1 + int(3); k > 0; k--) {
          const names = Object.keys(h);
          const name = pick(names);
          const r = int(5);
          if (r === 0) delete h[name];
          else if (r === 1) h[pick(["x", "__metadata__", "a", "__proto__", ""])] = pick(HOSTILE);
          else if (r === 2) h[name] = pick(HOSTILE);
          else if (typeof h[name] === "object" && h[name] !== null) h[name][pick(["dtype", "shape", "data_offsets", "extra"])] = pick(HOSTILE);
          else if (h[name]?.data_offsets) h[name].data_offsets = [int(200) - 10, int(200) - 10];
        }
        return withHeader(h, pick([0, 0, 0, -1, 1, -8]));
      }
    }
  }

  it("refuses thousands of mutated files with SafetensorsError, or opens them whole", () => {
    const path = join(tmp, "fuzz.safetensors");
    let opened = 0;
    for (let run = 0; run < 2000; run++) {
      const bytes = mutate();
      writeFileSync(path, bytes);
      let file: SafetensorsFile;
      try {
        file = SafetensorsFile.open(path);
      } catch (e) {
        expectOwnError(e, [SafetensorsError], `run ${run}`);
        continue;
      }
      opened++;
      try {
        for (const t of file.tensors.values()) {
          expect(t.offset + t.byteLength).toBeLessThanOrEqual(bytes.length);
          expect(t.byteLength).toBe(tensorByteLength(t.dtype, t.shape));
          file.readInto(t.name, new Uint8Array(t.byteLength));
        }
      } finally {
        file.close();
      }
    }
    expect(opened).toBeGreaterThan(0); // some mutations leave a valid file (a flipped byte in the data)
  });
});

describe("config fuzz", () => {
  const hf = JSON.parse(readFileSync(join(DEV_CKPT, "config.json"), "utf8"));
  const hf20b = JSON.parse(readFileSync(join(FIXTURES, "gpt-oss-20b-hf", "config.json"), "utf8"));
  const original = { num_hidden_layers: 4, num_experts: 8, experts_per_token: 4, vocab_size: 1024, hidden_size: 64, intermediate_size: 96,
    swiglu_limit: 7, head_dim: 16, num_attention_heads: 8, num_key_value_heads: 2, sliding_window: 8, initial_context_length: 4096,
    rope_theta: 150000, rope_scaling_factor: 32, rope_ntk_alpha: 1, rope_ntk_beta: 32 };
  const keysOf = (o: Record<string, unknown>) => [...Object.keys(o), "layer_types", "rope_scaling", "eos_token_id", "swiglu_alpha"];

  function mutate(base: Record<string, unknown>): Record<string, unknown> {
    const c = structuredClone(base) as Record<string, any>;
    for (let k = 1 + int(3); k > 0; k--) {
      const key = pick(keysOf(base));
      const r = int(6);
      if (r === 0) delete c[key];
      else if (r === 1 && isObject(c.rope_scaling)) c.rope_scaling[pick(["factor", "beta_fast", "beta_slow", "original_max_position_embeddings", "rope_type", "truncate"])] = pick(HOSTILE);
      else if (r === 2) c.layer_types = Array.from({ length: int(8) }, () => pick(["sliding_attention", "full_attention", "other", 3]));
      else if (r === 3 && typeof c[key] === "number") c[key] = c[key] * pick([2, 3, 0.5, 1e6, -1]) + pick([0, 1, -1]);
      else c[key] = pick(HOSTILE);
    }
    return c;
  }

  function checkInvariants(c: ReturnType<typeof parseConfig>): void {
    const sizes: [string, number][] = [["num_hidden_layers", c.numLayers], ["hidden_size", c.hiddenSize], ["intermediate_size", c.intermediateSize],
      ["num_experts", c.numExperts], ["num_attention_heads", c.numHeads], ["num_key_value_heads", c.numKvHeads], ["head_dim", c.headDim],
      ["vocab_size", c.vocabSize], ["sliding_window", c.slidingWindow], ["max_position_embeddings", c.maxPositionEmbeddings]];
    for (const [key, v] of sizes) {
      expect(Number.isInteger(v) && v >= 1 && v <= CONFIG_LIMITS[key], `${key} = ${v}`).toBe(true);
    }
    expect(c.layerTypes).toHaveLength(c.numLayers);
    expect(c.expertsPerToken).toBeLessThanOrEqual(c.numExperts);
    expect(c.numHeads % c.numKvHeads).toBe(0);
    for (const v of [c.rmsNormEps, c.swigluLimit, c.swigluAlpha, c.rope.theta, c.rope.factor, c.rope.originalMaxPositionEmbeddings]) expect(Number.isFinite(v)).toBe(true);
    for (const id of c.eosTokenIds) expect(id >= 0 && id < c.vocabSize).toBe(true);
  }

  it("parses thousands of mutated configs or refuses them with ConfigError", () => {
    let accepted = 0;
    for (let run = 0; run < 4000; run++) {
      const [base, kind] = pick([[hf, "hf"], [hf20b, "hf"], [original, "original"]] as const);
      const raw = mutate(base);
      let config;
      try {
        config = parseConfig(raw, "config.json", kind);
      } catch (e) {
        expectOwnError(e, [ConfigError], `run ${run}: ${JSON.stringify(raw).slice(0, 400)}`);
        continue;
      }
      accepted++;
      checkInvariants(config);
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it("opens a checkpoint folder under mutated configs only to refuse with the project's errors", () => {
    const dir = join(tmp, "ckpt");
    mkdirSync(dir);
    copyFileSync(join(DEV_CKPT, "model.safetensors"), join(dir, "model.safetensors"));
    let opened = 0;
    for (let run = 0; run < 600; run++) {
      const raw = mutate(hf);
      writeFileSync(join(dir, "config.json"), JSON.stringify(raw));
      try {
        Checkpoint.open(dir).close();
        opened++;
      } catch (e) {
        expectOwnError(e, [ConfigError, CheckpointError, SafetensorsError], `run ${run}: ${JSON.stringify(raw).slice(0, 400)}`);
      }
    }
    expect(opened).toBeGreaterThan(0); // e.g. a deleted key with a default, or an unused one
  });
});

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
