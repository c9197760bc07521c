// The vocabulary rows of a gpt-oss-mini pack: the fixed rows are the ones training used (values from
// scripts/train-mini/model.py's fixed_rows, seed 0x6D696E69, scale 1.5), and every untrained token's
// unembedding is `shared + embedding @ copy + embedding[spaced] @ pair`, checked against a plain loop.
import { describe, expect, it } from "vitest";
import { expandPackRows, fixedRow, type PackRows } from "../src/checkpoint/mini-rows.js";
import { bf16ToF32, f32ToBf16 } from "../src/checkpoint/numerics.js";

const FIXED = { seed: 0x6d696e69, scale: 1.5 };

describe("gpt-oss-mini pack rows", () => {
  it("computes the fixed rows training used, bit for bit", () => {
    // python3 -c "from model import fixed_rows; print(fixed_rows([0, 1, 200000, 201087], 4))"
    const expected: Record<number, number[]> = {
      0: [1.1831235885620117, 1.0773215293884277, 0.516144871711731, 1.304882287979126],
      1: [1.124930500984192, 1.450566053390503, -0.6942033767700195, 0.3067040741443634],
      200000: [0.9206469058990479, -0.9495018720626831, 0.9879150390625, 1.4723697900772095],
      201087: [-0.6484416723251343, 0.33630600571632385, -1.1312544345855713, -0.31316766142845154],
    };
    for (const [id, row] of Object.entries(expected)) expect(Array.from(fixedRow(Number(id), 4, FIXED))).toEqual(row);
  });

  it("keeps the trained rows and builds every other one from the copy and pair maps", () => {
    const V = 7, H = 3;
    const bf = (xs: number[]) => Uint16Array.from(xs, f32ToBf16);
    const p: PackRows = {
      ids: Int32Array.from([1, 4]),
      embedding: bf([0.5, -1, 2, 1, 0.25, -0.5]),
      unembedding: bf([1, 2, 3, -1, -2, -3, 0.1, 0.2, 0.3]),
      copy: Float32Array.from([1, 0.5, 0, 0, 1, -0.5, 0.25, 0, 1]),
      pair: Float32Array.from([0, 1, 0, 1, 0, 0, 0, 0, 2]),
      pairs: Int32Array.from([2, 4, 6, 0]), // token 2's spaced form is 4 (trained), token 6's is 0 (fixed)
      fixed: FIXED,
    };
    const { embedding, lmHead } = expandPackRows(p, V, H);
    const e16 = new Uint16Array(embedding.buffer), l16 = new Uint16Array(lmHead.buffer);
    const row = (m: Uint16Array, t: number) => Array.from(m.subarray(t * H, (t + 1) * H));
    expect(row(e16, 1)).toEqual(Array.from(p.embedding.subarray(0, 3)));
    expect(row(l16, 4)).toEqual(Array.from(p.unembedding.subarray(3, 6)));

    const e = (t: number) => (t === 1 ? [0.5, -1, 2] : t === 4 ? [1, 0.25, -0.5] : Array.from(fixedRow(t, H, FIXED)));
    const times = (x: number[], m: Float32Array) => [0, 1, 2].map((j) => x.reduce((s, xi, i) => s + xi * m[i * H + j], 0));
    const spaced: Record<number, number> = { 2: 4, 6: 0 };
    for (const t of [0, 2, 3, 5, 6]) {
      expect(row(e16, t)).toEqual(e(t).map(f32ToBf16));
      const shared = (j: number) => bf16ToF32(p.unembedding[2 * H + j]);
      const want = times(e(t), p.copy).map((v, j) => v + shared(j) + (t in spaced ? times(e(spaced[t]), p.pair)[j] : 0));
      // bf16 keeps 8 significant bits: half an ulp of the row's largest value, at most
      const tolerance = Math.max(...want.map(Math.abs)) * 2 ** -8;
      row(l16, t).forEach((b, j) => expect(Math.abs(bf16ToF32(b) - want[j])).toBeLessThanOrEqual(tolerance));
    }
  });
});
