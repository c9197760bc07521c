// gpt-oss-mini: the small trained model `npm start` runs, shipped as a compact pack (weights/gpt-oss-mini.pack,
// written by scripts/train-mini/export.py) and unpacked on first use into weights/gpt-oss-mini/ in the
// Hugging Face layout (config.json, generation_config.json, model.safetensors).
//
// The pack is a safetensors file holding every tensor of that layout under its own name, except the two
// vocabulary matrices [201088, H]: almost all their rows are tokens the training never saw, and those rows
// are one shared vector. The pack keeps the used rows plus the shared row (last) and `pack.used_ids`, the
// token id of each used row; unpacking writes the full matrices.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "./config.js";
import { pythonJson } from "./pyjson.js";
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

const VOCAB_TENSORS = ["model.embed_tokens.weight", "lm_head.weight"];
const IDS = "pack.used_ids";
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
    const ids = file.get(IDS);
    if (ids.dtype !== "I32" || ids.shape.length !== 1) throw new PackError(pack, `${IDS} must be I32 [U], got ${ids.dtype} [${ids.shape}]`);
    const used = new Int32Array(ids.shape[0]);
    file.readInto(IDS, new Uint8Array(used.buffer));
    used.forEach((id, i) => {
      if (id < 0 || id >= c.vocabSize || (i > 0 && id <= used[i - 1])) throw new PackError(pack, `${IDS}[${i}] = ${id}: ids must ascend within 0..${c.vocabSize - 1}`);
    });

    const tensors: StreamedTensor[] = [];
    for (const [name, info] of file.tensors) {
      if (name === IDS) continue;
      const bytes = new Uint8Array(info.byteLength);
      file.readInto(name, bytes);
      if (!VOCAB_TENSORS.includes(name)) {
        tensors.push({ name, dtype: info.dtype, shape: info.shape, fill: streamOf(bytes) });
        continue;
      }
      const H = c.hiddenSize;
      if (info.dtype !== "BF16" || info.shape[0] !== used.length + 1 || info.shape[1] !== H) {
        throw new PackError(pack, `${name} must be BF16 [${used.length + 1}, ${H}] (the used rows, then the shared row), got ${info.dtype} [${info.shape}]`);
      }
      tensors.push({ name, dtype: "BF16", shape: [c.vocabSize, H], fill: streamOf(expandRows(bytes, used, c.vocabSize, H)) });
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

/** [V, H] bf16 bytes: row used[i] is packed row i, every other row the shared (last) packed row. */
function expandRows(packed: Uint8Array, used: Int32Array, V: number, H: number): Uint8Array {
  const rowBytes = 2 * H;
  const out = new Uint8Array(V * rowBytes);
  const shared = packed.subarray(used.length * rowBytes, (used.length + 1) * rowBytes);
  for (let r = 0; r < V; r++) out.set(shared, r * rowBytes);
  used.forEach((id, i) => out.set(packed.subarray(i * rowBytes, (i + 1) * rowBytes), id * rowBytes));
  return out;
}

function streamOf(bytes: Uint8Array): (out: Uint8Array) => void {
  let at = 0;
  return (out) => {
    out.set(bytes.subarray(at, at + out.byteLength));
    at += out.byteLength;
  };
}
