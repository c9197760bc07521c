// Picks a kernel backend by name. The model only ever sees the `Kernels` interface.
import type { Kernels } from "./kernels.js";
import { referenceKernels } from "./reference.js";

export type Backend = "ts" | "wasm";
export const BACKENDS: readonly Backend[] = ["ts", "wasm"];

export async function createKernels(backend: Backend): Promise<Kernels> {
  switch (backend) {
    case "ts":
      return referenceKernels;
    case "wasm":
      throw new Error("the wasm backend is not built yet; use --backend ts");
    default:
      throw new Error(`unknown backend "${backend as string}" (expected one of: ${BACKENDS.join(", ")})`);
  }
}
