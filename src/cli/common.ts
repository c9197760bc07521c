// Pieces shared by the commands that load a model.
import { loadModel, type GptOssModel, type LoadOptions, type LoraSpec } from "../model/model.js";
import { BACKENDS, DEFAULT_BACKEND, DEFAULT_PRECISION, PRECISIONS, type Backend, type Precision } from "../backends/index.js";
import { resolveModelDir } from "../hub/cache.js";
import { Progress } from "../util/progress.js";
import { UsageError, type FlagSpec, type ParsedArgs } from "./args.js";

/** --lora DIR (repeatable) and --lora-scale S (for the --lora before it). */
export const LORA_FLAGS: FlagSpec = { lora: "list", "lora-scale": "list" };

/** Help text of --lora and --lora-scale. */
export const LORA_FLAGS_HELP = `  --lora DIR            apply a LoRA adapter (a Hugging Face PEFT folder); repeatable: all apply together
  --lora-scale S        scale of the --lora just before it: S times its trained scale (default 1)`;

export const MODEL_FLAGS: FlagSpec = { model: "string", backend: "string", precision: "string", threads: "string", ...LORA_FLAGS };

/** The adapters of --lora DIR [--lora-scale S] ..., in order. */
export function loraOf(args: ParsedArgs): LoraSpec[] {
  const specs: LoraSpec[] = [];
  for (const { name, value } of args.sequence) {
    if (name === "lora") {
      if (value === "") throw new UsageError("--lora needs an adapter folder");
      specs.push({ path: value });
    } else if (name === "lora-scale") {
      const last = specs[specs.length - 1];
      if (!last) throw new UsageError("--lora-scale must follow the --lora it scales");
      if (last.scale !== undefined) throw new UsageError(`--lora ${last.path} has two --lora-scale values`);
      const s = Number(value);
      if (value.trim() === "" || !Number.isFinite(s)) throw new UsageError(`--lora-scale: invalid value ${JSON.stringify(value)}`);
      last.scale = s;
    }
  }
  return specs;
}

/** Weights below this load in about a second: no progress report. */
const PROGRESS_MIN_BYTES = 64 << 20;

/** --backend wasm|ts (default wasm) */
export function backendOf(args: ParsedArgs, fallback: Backend = DEFAULT_BACKEND): Backend {
  const b = (args.flags.backend as string | undefined) ?? fallback;
  if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend must be one of ${BACKENDS.join(", ")}, got "${b}"`);
  return b as Backend;
}

/** --precision exact|fast (the wasm backend's; the ts backend is always exact) */
export function precisionOf(args: ParsedArgs, fallback: Precision = DEFAULT_PRECISION): Precision {
  const p = (args.flags.precision as string | undefined) ?? fallback;
  if (!(PRECISIONS as readonly string[]).includes(p)) throw new UsageError(`--precision must be one of ${PRECISIONS.join(", ")}, got "${p}"`);
  return p as Precision;
}

/** --threads N (default: undefined, the number of cores) */
export function threadsOf(args: ParsedArgs): number | undefined {
  const v = args.flags.threads;
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !/^\d+$/.test(v.trim()) || n < 1 || n > 256) {
    throw new UsageError(`--threads must be a whole number from 1 to 256, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Reports the load on stderr: a bar on a terminal, a line per 10% elsewhere; nothing for small models. */
export function loadProgress(label = "loading"): Pick<LoadOptions, "onProgress"> & { finish(): void } {
  let bar: Progress | null = null;
  return {
    onProgress: (done, total) => {
      if (bar === null && total >= PROGRESS_MIN_BYTES) bar = new Progress(label, total);
      bar?.update(done);
    },
    finish: () => bar?.finish(),
  };
}

/** The folder of --model (required): a path, or a Hub id found in the Hugging Face cache or weights/. */
export function modelDirOf(args: ParsedArgs): string {
  const model = args.flags.model;
  if (typeof model !== "string" || model === "") throw new UsageError("--model DIR is required");
  return resolveModelDir(model);
}

/** Loads --model with --backend, --precision (default `precision` when the flag is absent) and --threads,
 * reporting progress on stderr for large models. */
export async function loadFromArgs(args: ParsedArgs, precision: Precision = DEFAULT_PRECISION, backend: Backend = DEFAULT_BACKEND): Promise<GptOssModel> {
  const dir = modelDirOf(args);
  const progress = loadProgress();
  const model = await loadModel(dir, {
    backend: backendOf(args, backend), precision: precisionOf(args, precision), threads: threadsOf(args), onProgress: progress.onProgress,
    lora: loraOf(args),
  });
  progress.finish();
  return model;
}
