// Picks a kernel backend by name. The model only ever sees the `Kernels` interface.
import type { Kernels } from "./kernels.js";
import { referenceKernels } from "./reference.js";
import { PRECISIONS, WasmKernels, type Precision } from "./wasm/backend.js";
import { chooseSimd, type SimdLevel } from "./wasm/heap.js";

export type Backend = "ts" | "wasm";
export const BACKENDS: readonly Backend[] = ["ts", "wasm"];
export { PRECISIONS, type Precision, type SimdLevel };

/** The WebAssembly builds this runtime accepts: "simd128" always, "relaxed-simd" where it validates. */
export function simdLevels(): SimdLevel[] {
  return chooseSimd().level === "relaxed-simd" ? ["simd128", "relaxed-simd"] : ["simd128"];
}

/** The default backend of the API and the CLI. */
export const DEFAULT_BACKEND: Backend = "wasm";
/**
 * The default precision of the API and the CLI (`forward` always defaults to "exact"). `fast` passes
 * its own tolerance test (test/precision.test.ts) but stays opt-in: it moves the logits (16-bit
 * activations a little, 8-bit ones a lot where the dev model's experts are near-tied) beyond the
 * exactness the rest of the suite checks on the default path (KV cache == recomputation at 1e-4, the
 * float64 cross-check). See README "Precision" and docs/kernels.md.
 */
export const DEFAULT_PRECISION: Precision = "exact";

/**
 * The precision of the commands people talk to the model with (chat, run, serve, bench, demo): `fast`
 * where this runtime runs the relaxed-SIMD build (its loss is bounded and tested: docs/kernels.md
 * "Precision"), else `exact` (on the baseline build `fast` buys too little to be worth a default).
 * Raw continuation, forward, trace, profile and the API keep DEFAULT_PRECISION: reference checks rely on it.
 */
export function defaultChatPrecision(): Precision {
  return simdLevels().includes("relaxed-simd") ? "fast" : "exact";
}

export interface KernelOptions {
  /**
   * wasm only: "exact" (f32 activations, as the reference) or "fast" (integer activations for the
   * MXFP4 expert matmuls; see README "Precision"). The ts backend is always exact.
   */
  precision?: Precision;
  /** wasm only: force a build ("simd128" or "relaxed-simd"); by default the best one the runtime validates */
  simd?: SimdLevel;
  /** wasm fast only: 8 to use int8 activations on the baseline build too (it defaults to 16, see wasm/backend.ts) */
  fastBits?: 8 | 16;
  /**
   * wasm only: threads for the large kernel calls, the calling one included (default 1; "auto" = the
   * number of cores). Results are bit-identical to one thread. Call `dispose()` when done (idle
   * workers never keep the process alive, and are stopped when the kernels are garbage-collected).
   */
  threads?: number | "auto";
  /** wasm only: most weight bytes per WebAssembly memory (default 4 GiB - 256 MiB; tests set it low) */
  weightBytesPerMemory?: number;
  /** wasm only: calls reading fewer weight bytes run on one thread (default 256 KiB; tests set 0) */
  parallelMinBytes?: number;
  /** wasm only: how long idle workers spin before sleeping, in ms (default 2) */
  spinMs?: number;
}

export async function createKernels(backend: Backend, options: KernelOptions = {}): Promise<Kernels> {
  if (options.precision !== undefined && !PRECISIONS.includes(options.precision)) {
    throw new Error(`unknown precision "${options.precision as string}" (expected one of: ${PRECISIONS.join(", ")})`);
  }
  switch (backend) {
    case "ts":
      return referenceKernels;
    case "wasm":
      return WasmKernels.create(options);
    default:
      throw new Error(`unknown backend "${backend as string}" (expected one of: ${BACKENDS.join(", ")})`);
  }
}
