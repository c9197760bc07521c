// Reads the reference goldens of the dev checkpoint (test/fixtures/dev/README.md) for the tests.
import { readFileSync } from "node:fs";
import { SafetensorsFile } from "../src/safetensors.js";

export const DEV = new URL("./fixtures/dev/", import.meta.url).pathname;
export const DEV_CHECKPOINT = DEV + "checkpoint";
export const META = JSON.parse(readFileSync(DEV + "meta.json", "utf8"));

export class Golden {
  private readonly file = SafetensorsFile.open(DEV + "golden_f32.safetensors");

  has(name: string): boolean {
    return this.file.tensors.has(name);
  }

  f32(name: string): Float32Array {
    return new Float32Array(this.bytes(name, "F32").buffer);
  }

  i32(name: string): Int32Array {
    return new Int32Array(this.bytes(name, "I32").buffer);
  }

  private bytes(name: string, dtype: string): Uint8Array {
    const info = this.file.get(name);
    if (info.dtype !== dtype) throw new Error(`${name} is ${info.dtype}, expected ${dtype}`);
    const out = new Uint8Array(info.byteLength);
    this.file.readInto(name, out);
    return out;
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
