// gpt-oss-mini: the small trained model `npm start` runs, shipped as a compact pack (weights/gpt-oss-mini.pack,
// written by scripts/train-mini/export.py) and unpacked on first use into weights/gpt-oss-mini/ in the
// Hugging Face layout (config.json, generation_config.json, model.safetensors).
//
// The pack is a safetensors file holding every tensor of that layout under its own name, except the two
// vocabulary matrices [201088, H]: almost all their rows are tokens the training never saw. The pack keeps
// the trained rows (`pack.used_ids` names their tokens) and what builds every other row (mini-rows.ts);
// unpacking writes the full matrices.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "./config.js";
import { pythonJson } from "./pyjson.js";
import { expandPackRows, type FixedRows } from "./mini-rows.js";
import { SafetensorsFile, writeSafetensorsStreaming, type StreamedTensor } from "./safetensors.js";
import { GptOssError } from "../util/errors.js";

/** The package's weights/ folder, from src/checkpoint (tests) or dist/src/checkpoint (built). */
const WEIGHTS = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, here.includes(`${sep}dist${sep}`) ? "../../../weights" : "../../weights");
})();
/** The pack and the folder it unpacks into, inside the package wherever it is run from. */
export const MINI_PACK = join(WEIGHTS, "gpt-oss-mini.pack");
export const MINI_MODEL = join(WEIGHTS, "gpt-oss-mini");

const EMBEDDING = "model.embed_tokens.weight";
const LM_HEAD = "lm_head.weight";
const IDS = "pack.used_ids";
const PACK_ONLY = [IDS, "pack.copy", "pack.pair", "pack.pairs"];
const FLOAT_KEYS = new Set(["attention_dropout", "initializer_range", "rms_norm_eps", "swiglu_limit", "beta_fast", "beta_slow", "factor"]);
const GENERATION_CONFIG = { bos_token_id: 199998, do_sample: true, eos_token_id: [200002, 199999], pad_token_id: 199999 };

export class PackError extends GptOssError {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

/** Writes the Hugging Face folder of a pack. config.json comes last, so an interrupted run leaves no
 * folder that looks complete. */
export async function unpackMini(pack = MINI_PACK, outDir = MINI_MODEL): Promise<void> {
  const file = SafetensorsFile.open(pack);
  try {
    const rawConfig = file.metadata?.config;
    if (rawConfig === undefined) throw new PackError(pack, `no "config" in the metadata: not a gpt-oss-mini pack`);
    const config = JSON.parse(rawConfig) as Record<string, unknown>;
    const c = parseConfig(config, `${pack} (metadata "config")`, "hf");
    const rawFixed = file.metadata?.fixed_rows;
    if (rawFixed === undefined) throw new PackError(pack, `no "fixed_rows" in the metadata: a pack of an older layout, retrain or take the repository's`);
    const fixed = JSON.parse(rawFixed) as FixedRows;
    if (!Number.isInteger(fixed.seed) || !(fixed.scale > 0)) throw new PackError(pack, `metadata "fixed_rows" must hold an integer seed and a positive scale, got ${rawFixed}`);
    const H = c.hiddenSize, V = c.vocabSize;
    /** A tensor's bytes, after checking its dtype and shape (-1: any size). */
    const read = (name: string, dtype: string, shape: number[]): ArrayBuffer => {
      const info = file.get(name);
      if (info.dtype !== dtype || info.shape.length !== shape.length || info.shape.some((d, i) => shape[i] >= 0 && d !== shape[i])) {
        throw new PackError(pack, `${name} must be ${dtype} [${shape.map((d) => (d < 0 ? "?" : d))}], got ${info.dtype} [${info.shape}]`);
      }
      const bytes = new Uint8Array(info.byteLength);
      file.readInto(name, bytes);
      return bytes.buffer;
    };
    const ids = new Int32Array(read(IDS, "I32", [-1]));
    ids.forEach((id, i) => {
      if (id < 0 || id >= V || (i > 0 && id <= ids[i - 1])) throw new PackError(pack, `${IDS}[${i}] = ${id}: ids must ascend within 0..${V - 1}`);
    });
    const T = ids.length;
    const pairs = new Int32Array(read("pack.pairs", "I32", [-1, 2]));
    pairs.forEach((id, i) => {
      if (id < 0 || id >= V) throw new PackError(pack, `pack.pairs[${i >> 1}] holds ${id}, not a token id of 0..${V - 1}`);
    });
    const rows = expandPackRows({
      ids, pairs, fixed,
      embedding: new Uint16Array(read(EMBEDDING, "BF16", [T, H])),
      unembedding: new Uint16Array(read(LM_HEAD, "BF16", [T + 1, H])),
      copy: new Float32Array(read("pack.copy", "F32", [H, H])),
      pair: new Float32Array(read("pack.pair", "F32", [H, H])),
    }, V, H, (done, total) => process.stderr.write(`\r  vocabulary rows ${done}/${total}${done === total ? "\n" : ""}`));

    const tensors: StreamedTensor[] = [];
    for (const [name, info] of file.tensors) {
      if (PACK_ONLY.includes(name)) continue;
      if (name === EMBEDDING || name === LM_HEAD) {
        tensors.push({ name, dtype: "BF16", shape: [V, H], fill: streamOf(name === EMBEDDING ? rows.embedding : rows.lmHead) });
        continue;
      }
      const bytes = new Uint8Array(info.byteLength);
      file.readInto(name, bytes);
      tensors.push({ name, dtype: info.dtype, shape: info.shape, fill: streamOf(bytes) });
    }

    mkdirSync(outDir, { recursive: true });
    const configPath = join(outDir, "config.json");
    if (existsSync(configPath)) unlinkSync(configPath);
    const partial = join(outDir, "model.safetensors.partial");
    await writeSafetensorsStreaming(partial, tensors, { metadata: { format: "pt" } });
    renameSync(partial, join(outDir, "model.safetensors"));
    writeFileSync(join(outDir, "generation_config.json"), pythonJson(GENERATION_CONFIG, { indent: 2, sortKeys: true }) + "\n");
    writeFileSync(configPath, pythonJson(config, { indent: 2, sortKeys: true, floatKeys: FLOAT_KEYS }) + "\n");
  } finally {
    file.close();
  }
}

/** weights/gpt-oss-mini, unpacked from the pack the first time (and again when the pack has changed:
 * the folder records the hash of the pack it came from). */
export async function ensureMiniModel(dir = MINI_MODEL, pack = MINI_PACK): Promise<string> {
  if (!existsSync(pack)) throw new PackError(pack, "missing: the gpt-oss-mini pack ships with the repository (scripts/train-mini/README.md retrains it)");
  const id = createHash("sha256").update(readFileSync(pack)).digest("hex");
  const stamp = join(dir, "pack.sha256");
  if (!existsSync(join(dir, "config.json")) || !existsSync(stamp) || readFileSync(stamp, "utf8").trim() !== id) {
    console.error(`unpacking gpt-oss-mini into ${dir} ...`);
    await unpackMini(pack, dir);
    writeFileSync(stamp, `${id}\n`);
  }
  return dir;
}

function streamOf(bytes: Uint8Array): (out: Uint8Array) => void {
  let at = 0;
  return (out) => {
    out.set(bytes.subarray(at, at + out.byteLength));
    at += out.byteLength;
  };
}
