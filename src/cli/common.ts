// Pieces shared by the commands that load a model.
import { loadModel, type GptOssModel } from "../model.js";
import { BACKENDS, DEFAULT_BACKEND, DEFAULT_PRECISION, PRECISIONS, type Backend, type Precision } from "../kernels/index.js";
import { UsageError, type FlagSpec, type ParsedArgs } from "./args.js";

export const MODEL_FLAGS: FlagSpec = { model: "string", backend: "string", precision: "string" };

/** --backend wasm|ts (default wasm) */
export function backendOf(args: ParsedArgs): Backend {
  const b = (args.flags.backend as string | undefined) ?? DEFAULT_BACKEND;
  if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend must be one of ${BACKENDS.join(", ")}, got "${b}"`);
  return b as Backend;
}

/** --precision exact|fast (the wasm backend's; the ts backend is always exact) */
export function precisionOf(args: ParsedArgs, fallback: Precision = DEFAULT_PRECISION): Precision {
  const p = (args.flags.precision as string | undefined) ?? fallback;
  if (!(PRECISIONS as readonly string[]).includes(p)) throw new UsageError(`--precision must be one of ${PRECISIONS.join(", ")}, got "${p}"`);
  return p as Precision;
}

/** Loads --model with --backend and --precision (default `precision` when the flag is absent). */
export async function loadFromArgs(args: ParsedArgs, precision: Precision = DEFAULT_PRECISION): Promise<GptOssModel> {
  const dir = args.flags.model;
  if (typeof dir !== "string" || dir === "") throw new UsageError("--model DIR is required");
  return loadModel(dir, { backend: backendOf(args), precision: precisionOf(args, precision) });
}
