// Activation quantization for the `fast` precision, per 32-element block (as llama.cpp's q8_0):
// d = max|x| / qmax, q = round(x / d) in -qmax..qmax (qmax = 127 for int8). Written in the order the MXFP4 kernels decode
// columns (evens, then odds, per block) and in the width their dot product wants: i16 in the baseline
// build (for i32x4.dot_i16x8_s), i8 in the relaxed build (for relaxed_dot_i8x16_i7x16_add_s).
//
// Outputs per row t and block b: q [n, cols] (i16 or i8), xs[t, b] = d / 2 (the 1/2 undoes the doubled
// FP4 table of mxfp4.ts), qs[t, b] = 12 * sum(q) (the relaxed build's weight offset, see mxfp4.ts).

/** Bytes per quantized activation in this build. */
export function quantBytes(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 2;
}

/** qmax: 127 (int8 values; the relaxed build's dot product needs them) or up to 32767 (the baseline
 * build stores i16 anyway, so 16-bit precision costs nothing there). */
export function quantize(q: usize, xs: usize, qs: usize, src: usize, n: i32, cols: i32, qmax: f32): void {
  const nb = cols >> 5;
  for (let t = 0; t < n; t++) {
    for (let b = 0; b < nb; b++) {
      const i = t * nb + b;
      const p = src + ((<usize>t * cols + (<usize>b << 5)) << 2);
      const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      const v4 = v128.load(p, 64), v5 = v128.load(p, 80), v6 = v128.load(p, 96), v7 = v128.load(p, 112);
      let m = f32x4.max(f32x4.max(f32x4.max(f32x4.abs(v0), f32x4.abs(v1)), f32x4.max(f32x4.abs(v2), f32x4.abs(v3))),
        f32x4.max(f32x4.max(f32x4.abs(v4), f32x4.abs(v5)), f32x4.max(f32x4.abs(v6), f32x4.abs(v7))));
      m = f32x4.max(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
      const amax = max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
      const inv = f32x4.splat(amax > 0 ? qmax / amax : 0);
      const q0 = cvt(v0, inv), q1 = cvt(v1, inv), q2 = cvt(v2, inv), q3 = cvt(v3, inv);
      const q4 = cvt(v4, inv), q5 = cvt(v5, inv), q6 = cvt(v6, inv), q7 = cvt(v7, inv);
      // evens and odds of each pair of vectors: columns 0 2 4 6 | 1 3 5 7, and so on
      const e0 = i32x4.shuffle(q0, q1, 0, 2, 4, 6), o0 = i32x4.shuffle(q0, q1, 1, 3, 5, 7);
      const e1 = i32x4.shuffle(q2, q3, 0, 2, 4, 6), o1 = i32x4.shuffle(q2, q3, 1, 3, 5, 7);
      const e2 = i32x4.shuffle(q4, q5, 0, 2, 4, 6), o2 = i32x4.shuffle(q4, q5, 1, 3, 5, 7);
      const e3 = i32x4.shuffle(q6, q7, 0, 2, 4, 6), o3 = i32x4.shuffle(q6, q7, 1, 3, 5, 7);
      const E0 = i16x8.narrow_i32x4_s(e0, e1), E1 = i16x8.narrow_i32x4_s(e2, e3);
      const O0 = i16x8.narrow_i32x4_s(o0, o1), O1 = i16x8.narrow_i32x4_s(o2, o3);
      if (ASC_FEATURE_RELAXED_SIMD) {
        const d = q + (<usize>i << 5);
        v128.store(d, i8x16.narrow_i16x8_s(E0, E1));
        v128.store(d, i8x16.narrow_i16x8_s(O0, O1), 16);
      } else {
        const d = q + (<usize>i << 6);
        v128.store(d, E0);
        v128.store(d, E1, 16);
        v128.store(d, O0, 32);
        v128.store(d, O1, 48);
      }
      const sum = i32x4.add(i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)), i32x4.add(i32x4.add(q4, q5), i32x4.add(q6, q7)));
      const s = i32x4.add(sum, i32x4.shuffle(sum, sum, 2, 3, 0, 1));
      store<i32>(qs + (<usize>i << 2), 12 * (i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1)));
      store<f32>(xs + (<usize>i << 2), amax / (2 * qmax));
    }
  }
}

// @ts-ignore: decorator
@inline function cvt(v: v128, inv: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v, inv)));
}
