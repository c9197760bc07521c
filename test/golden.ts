// The reference goldens of the dev checkpoint (test/fixtures/dev/README.md) as a small object, for the
// tracing tests. Paths and the reader come from helpers.ts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEV, DEV_CKPT, goldenF32, readTensor } from "./helpers.js";

export const DEV_CHECKPOINT = DEV_CKPT;
export const META = JSON.parse(readFileSync(join(DEV, "meta.json"), "utf8"));

export class Golden {
  has(name: string): boolean {
    return goldenF32().tensors.has(name);
  }

  f32(name: string): Float32Array {
    return this.typed(name, "F32") as Float32Array;
  }

  i32(name: string): Int32Array {
    return this.typed(name, "I32") as Int32Array;
  }

  private typed(name: string, dtype: string) {
    const info = goldenF32().get(name);
    if (info.dtype !== dtype) throw new Error(`${name} is ${info.dtype}, expected ${dtype}`);
    return readTensor(goldenF32(), name);
  }
}

/** The README's tolerance: |a - g| <= 1e-4 + 1e-4 |g| everywhere; returns the first violation or null. */
export function mismatch(actual: ArrayLike<number>, golden: ArrayLike<number>, atol = 1e-4, rtol = 1e-4): string | null {
  if (actual.length !== golden.length) return `length ${actual.length} != ${golden.length}`;
  for (let i = 0; i < golden.length; i++) {
    const a = actual[i], g = golden[i];
    if (!(Math.abs(a - g) <= atol + rtol * Math.abs(g))) return `index ${i}: ${a} vs golden ${g}`;
  }
  return null;
}
