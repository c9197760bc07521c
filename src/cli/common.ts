// Pieces shared by the commands that load a model.
import { loadModel, type GptOssModel } from "../model.js";
import { BACKENDS, type Backend } from "../kernels/index.js";
import { UsageError, type FlagSpec, type ParsedArgs } from "./args.js";

export const MODEL_FLAGS: FlagSpec = { model: "string", backend: "string" };

export function backendOf(args: ParsedArgs): Backend {
  const b = (args.flags.backend as string | undefined) ?? "ts";
  if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend must be one of ${BACKENDS.join(", ")}, got "${b}"`);
  return b as Backend;
}

/** Loads --model, reporting progress on stderr when it takes a while. */
export async function loadFromArgs(args: ParsedArgs): Promise<GptOssModel> {
  const dir = args.flags.model;
  if (typeof dir !== "string" || dir === "") throw new UsageError("--model DIR is required");
  return loadModel(dir, { backend: backendOf(args) });
}
