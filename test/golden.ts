// The reference goldens of the dev checkpoint (test/fixtures/dev/README.md) as a small object, for the
// tracing tests; reading and tolerance come from the parity harness (golden-parity.mjs).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Goldens } from "./golden-parity.mjs";
import { DEV, DEV_CKPT, goldenF32 } from "./helpers.js";

export { mismatch } from "./golden-parity.mjs";
export const DEV_CHECKPOINT = DEV_CKPT;
export const META = JSON.parse(readFileSync(join(DEV, "meta.json"), "utf8"));

export class Golden {
  private readonly goldens = new Goldens(goldenF32());

  has(name: string): boolean {
    return this.goldens.has(name);
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
    return this.goldens.read(name);
  }
}
