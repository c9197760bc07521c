import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SafetensorsFile, tensorByteLength, writeSafetensors, writeSafetensorsStreaming, type StreamedTensor } from "../src/checkpoint/safetensors.js";

const dir = mkdtempSync(join(tmpdir(), "gpt-oss-st-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bytes i*31+k of tensor k, produced chunk by chunk. */
function counting(name: string, dtype: string, shape: number[], k: number): StreamedTensor {
  let at = 0;
  return { name, dtype, shape, fill: (out) => { for (let i = 0; i < out.length; i++) out[i] = ((at + i) * 31 + k) & 0xff; at += out.length; } };
}
const whole = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + k) & 0xff);

describe("writeSafetensorsStreaming", () => {
  it("writes the same file as writeSafetensors, whatever the chunk size, odd sizes included", async () => {
    const specs: [string, string, number[]][] = [["a", "U8", [3]], ["b", "BF16", [5, 7]], ["c", "U8", [1000, 3]], ["d", "F32", [2]]];
    const ref = join(dir, "ref.safetensors");
    writeSafetensors(ref, specs.map(([name, dtype, shape], k) => ({ name, dtype, shape, data: whole(tensorByteLength(dtype, shape), k) })), { format: "pt" });
    for (const chunkBytes of [8, 24, 4096, 1 << 20]) {
      const path = join(dir, `s${chunkBytes}.safetensors`);
      let reported = 0;
      const size = await writeSafetensorsStreaming(path, specs.map(([n, d, s], k) => counting(n, d, s, k)), { metadata: { format: "pt" }, chunkBytes, onBytes: (b) => (reported += b) });
      expect(size).toBe(statSync(path).size);
      expect(reported).toBe(size);
      expect(readFileSync(path).equals(readFileSync(ref))).toBe(true);
    }
    const f = SafetensorsFile.open(ref);
    expect(f.get("c").byteLength).toBe(3000);
    f.close();
  });
});

