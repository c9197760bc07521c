// The safetensors reader: round trips of every dtype, lazy chunked reads, offsets past 4 GiB, and a
// clear error (naming the file and tensor) for every kind of corrupt header.
import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DTYPE_BITS, SafetensorsFile, tensorByteLength, writeSafetensors } from "../src/checkpoint/safetensors.js";
import { tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A file with this exact header JSON (not validated on write) and `dataBytes` bytes of data. */
function rawFile(name: string, header: unknown, dataBytes: number, lengthField?: bigint): string {
  const path = join(tmp, name);
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, lengthField ?? BigInt(json.length), true);
  writeFileSync(path, Buffer.concat([prefix, json, new Uint8Array(dataBytes)]));
  return path;
}

function errorOf(path: string): string {
  try {
    SafetensorsFile.open(path).close();
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}

describe("safetensors reader", () => {
  it("round-trips every dtype the format defines, with metadata, in any order", () => {
    const path = join(tmp, "all.safetensors");
    const tensors = Object.keys(DTYPE_BITS).map((dtype, i) => {
      const shape = DTYPE_BITS[dtype] < 8 ? [2, 8] : [3, i + 1];
      const data = new Uint8Array(tensorByteLength(dtype, shape)).map((_, j) => (j * 7 + i) & 255);
      return { name: `t.${dtype}`, dtype, shape, data };
    });
    writeSafetensors(path, tensors, { format: "pt" });
    const f = SafetensorsFile.open(path);
    expect(f.metadata).toEqual({ format: "pt" });
    expect(f.tensors.size).toBe(tensors.length);
    for (const t of tensors) {
      const info = f.get(t.name);
      expect(info.dtype).toBe(t.dtype);
      expect(info.shape).toEqual(t.shape);
      const got = new Uint8Array(info.byteLength);
      f.readInto(t.name, got);
      expect(got).toEqual(t.data);
    }
    f.close();
  });

  it("reads in chunks: any chunk size gives the same bytes", () => {
    const path = join(tmp, "chunks.safetensors");
    const data = new Uint8Array(10_000).map((_, i) => (i * 31) & 255);
    writeSafetensors(path, [{ name: "x", dtype: "U8", shape: [10_000], data }]);
    const f = SafetensorsFile.open(path);
    f.maxChunk = 999;
    const got = new Uint8Array(10_000);
    f.readInto("x", got);
    expect(got).toEqual(data);
  });

  it("reads tensors that lie past 4 GiB in the file (sparse file)", () => {
    const path = join(tmp, "big.safetensors");
    const pad = 5 * 2 ** 30; // 5 GiB of zeros, never written (sparse)
    const header = JSON.stringify({ pad: { dtype: "U8", shape: [pad], data_offsets: [0, pad] }, x: { dtype: "U8", shape: [16], data_offsets: [pad, pad + 16] } });
    const json = new TextEncoder().encode(header);
    const fd = openSync(path, "w");
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(json.length), true);
    writeSync(fd, prefix);
    writeSync(fd, json);
    const x = new Uint8Array(16).map((_, i) => 200 + i);
    ftruncateSync(fd, 8 + json.length + pad + 16);
    writeSync(fd, x, 0, 16, 8 + json.length + pad);
    closeSync(fd);
    const f = SafetensorsFile.open(path);
    expect(f.get("x").offset).toBeGreaterThan(2 ** 32);
    const got = new Uint8Array(16);
    f.readInto("x", got);
    expect(got).toEqual(x);
    f.close();
    rmSync(path);
  });

  const t = (dtype: string, shape: number[], begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });
  const cases: [string, () => string, RegExp][] = [
    ["file shorter than the length field", () => { const p = join(tmp, "tiny.safetensors"); writeFileSync(p, new Uint8Array(5)); return p; }, /too short/],
    ["header length larger than the file", () => rawFile("hlen.safetensors", {}, 0, 1000n), /header length 1000 runs past the end of the \d+-byte file/],
    ["header length over 100 MB", () => rawFile("hbig.safetensors", {}, 0, 200_000_000n), /exceeds the format's limit of 100000000/],
    ["header not JSON", () => rawFile("json.safetensors", "{ not json", 0), /not valid UTF-8 JSON/],
    ["header not an object", () => rawFile("arr.safetensors", "[1, 2]", 0), /not a JSON object/],
    ["unknown dtype", () => rawFile("dt.safetensors", { w: t("Q4_K", [4], 0, 4) }, 4), /tensor "w": unknown dtype "Q4_K"/],
    ["dtype x shape != byte length", () => rawFile("len.safetensors", { w: t("F32", [3], 0, 8) }, 8), /tensor "w": dtype F32 x shape \[3\] is 12 bytes but data_offsets span 8/],
    ["offsets past the data", () => rawFile("oob.safetensors", { w: t("U8", [8], 0, 8) }, 4), /tensor "w": data_offsets \[0, 8\] run past the data buffer of 4 bytes/],
    ["offsets reversed", () => rawFile("rev.safetensors", { w: t("U8", [0], 8, 4) }, 8), /tensor "w": data_offsets \[8, 4\] end before they begin/],
    ["overlapping tensors", () => rawFile("ovl.safetensors", { a: t("U8", [8], 0, 8), b: t("U8", [8], 4, 12) }, 12), /tensor "b" overlaps/],
    ["a hole between tensors", () => rawFile("hole.safetensors", { a: t("U8", [4], 0, 4), b: t("U8", [4], 8, 12) }, 12), /hole in the data buffer before tensor "b"/],
    ["trailing bytes after the last tensor", () => rawFile("trail.safetensors", { a: t("U8", [4], 0, 4) }, 10), /data buffer is 10 bytes but the tensors cover 4/],
    ["bad shape entry", () => rawFile("shape.safetensors", { a: { dtype: "U8", shape: [-1], data_offsets: [0, 0] } }, 0), /tensor "a": shape must be/],
  ];
  for (const [what, make, pattern] of cases) {
    it(`refuses: ${what}`, () => {
      const path = make();
      const msg = errorOf(path);
      expect(msg).toMatch(pattern);
      expect(msg).toContain(path);
    });
  }

  it("refuses a truncated file (a valid file cut short)", () => {
    const path = join(tmp, "cut.safetensors");
    writeSafetensors(path, [{ name: "a", dtype: "F32", shape: [100], data: new Float32Array(100) }]);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    expect(errorOf(path)).toMatch(/tensor "a": data_offsets \[0, 400\] run past the data buffer of 390 bytes \(file truncated\?\)/);
  });

  it("names a missing tensor and the file", () => {
    const path = join(tmp, "one.safetensors");
    writeSafetensors(path, [{ name: "a", dtype: "U8", shape: [1], data: new Uint8Array(1) }]);
    const f = SafetensorsFile.open(path);
    expect(() => f.get("b")).toThrow(`${path}: no tensor named "b"`);
  });
});
