// Shared test helpers: paths of the copied fixtures and golden readers.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GptOssModel } from "../src/model/model.js";
import { argmax } from "../src/generation/sampling.js";
import { SafetensorsFile } from "../src/checkpoint/safetensors.js";

// The golden tolerance and the reference decode live with the parity harness.
export { toleranceRatio, mismatch, DECODE_PROMPT, GOLDEN_DECODE } from "./golden-parity.mjs";

export const FIXTURES = join(fileURLToPath(new URL(".", import.meta.url)), "fixtures");
export const DEV = join(FIXTURES, "dev");
export const DEV_CKPT = join(DEV, "checkpoint");
export const DEV_SHARDED = join(DEV, "checkpoint_sharded");
/** PEFT LoRA adapters for the dev checkpoint and their goldens (lora-dev/README.md). */
export const LORA_DEV = join(FIXTURES, "lora-dev");

export function readTensor(file: SafetensorsFile, name: string): Float32Array | Int32Array | Uint8Array {
  const t = file.get(name);
  const bytes = new Uint8Array(t.byteLength);
  file.readInto(name, bytes);
  if (t.dtype === "F32") return new Float32Array(bytes.buffer);
  if (t.dtype === "I32") return new Int32Array(bytes.buffer);
  if (t.dtype === "U8") return bytes;
  throw new Error(`test helper cannot read dtype ${t.dtype}`);
}

let golden: SafetensorsFile | null = null;
export function goldenF32(): SafetensorsFile {
  return (golden ??= SafetensorsFile.open(join(DEV, "golden_f32.safetensors")));
}

export function goldenFloat(name: string): Float32Array {
  return readTensor(goldenF32(), name) as Float32Array;
}

export function goldenIds(seq: string): number[] {
  return Array.from(readTensor(goldenF32(), `${seq}.input_ids`) as Int32Array);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function tempDir(prefix = "gpt-oss-ts-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Whether two lists of float arrays hold the same bits (fast: vitest's deep equality walks elements one by one). */
export function sameBits(a: ArrayBufferView[], b: ArrayBufferView[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => Buffer.compare(new Uint8Array(x.buffer, x.byteOffset, x.byteLength),
    new Uint8Array(b[i].buffer, b[i].byteOffset, b[i].byteLength)) === 0);
}

/** Logits of every position of `seq` from an empty context, then of `steps` greedy decode steps after
 * `prompt` with the KV cache: what the multi-memory and thread tests compare bit for bit. */
export function logitsTrail(model: GptOssModel, seq: number[], prompt: number[], steps: number): Float32Array[] {
  const out = [model.forward(seq)];
  const cache = model.newCache();
  let logits = model.transformer.forward(prompt, cache);
  for (let i = 0; i < steps; i++) {
    out.push(logits);
    logits = model.transformer.forward([argmax(logits)], cache);
  }
  return out;
}
