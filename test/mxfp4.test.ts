// MXFP4 decoding, bit-exact against the reference decoder's vectors (signed zeros and subnormals included).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import { decodeMxfp4 } from "../src/checkpoint/numerics.js";
import { SafetensorsFile } from "../src/checkpoint/safetensors.js";
import { DEV, DEV_CKPT, FIXTURES, readTensor } from "./helpers.js";

describe("MXFP4 decode", () => {
  const f = SafetensorsFile.open(join(FIXTURES, "mxfp4", "mxfp4_vectors.safetensors"));
  for (const v of ["A", "B", "C"]) {
    it(`vector ${v} is bit-exact`, () => {
      const blocks = readTensor(f, `${v}.blocks`) as Uint8Array;
      const scales = readTensor(f, `${v}.scales`) as Uint8Array;
      const want = readTensor(f, `${v}.dequant_f32`) as Float32Array;
      const shape = f.get(`${v}.dequant_f32`).shape;
      const cols = shape[shape.length - 1];
      const got = decodeMxfp4(blocks, scales, want.length / cols, cols);
      expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
    });
  }

  it("layer 0 experts of the dev checkpoint equal the reference loader's dequantization", () => {
    const ckpt = Checkpoint.open(DEV_CKPT);
    const w = ckpt.load();
    ckpt.close();
    const d = SafetensorsFile.open(join(DEV, "dequant_layer0.safetensors"));
    for (const [key, m] of [["layer0.gate_up_proj.dequant", w.layers[0].mlp1], ["layer0.down_proj.dequant", w.layers[0].mlp2]] as const) {
      const want = readTensor(d, key) as Float32Array;
      const got = decodeMxfp4(m.blocks, m.scales, m.experts * m.rows, m.cols);
      expect(new Uint32Array(got.buffer), key).toEqual(new Uint32Array(want.buffer));
    }
  });
});
