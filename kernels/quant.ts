// Integer forms of the activations for the MXFP4 decode kernels (mxfp4.ts), per 32-element block, in
// the order those kernels decode columns (evens, then odds, per block).
//
// fast (`quantize`, as llama.cpp's q8_0): d = max|x| / qmax, q = round(x / d) in -qmax..qmax, stored
// as i16 in the baseline build (its dot product is i32x4.dot_i16x8_s; qmax up to 32767 then costs
// nothing) or i8 in the relaxed build (relaxed_dot_i8x16_i7x16_add_s; qmax = 127).
// Per row t and block b: q [n, cols], xs[t, b] = d / 2 (the 1/2 undoes the doubled FP4 table),
// qs[t, b] = 12 * sum(q) (the relaxed build's weight offset).
//
// exact (`split`): x = d2 * (65534 * hi + lo) with hi = round(x / d), d = max|x| / 32767 and lo the
// rounded remainder in units of d2 = d / 65534: two i16 per value, ~31 bits relative to the block's
// largest value, so the products are exact integers and only the final f32 sums round (more precise
// than f32 products for the block's large values, and no less than f32 summation overall).
// Per block: hi [32] i16 then lo [32] i16; xs[t, b] = d2 / 2.

// Adding 1.5 * 2^23 rounds an f32 of magnitude < 2^22 to an integer (ties to even) held in its low
// mantissa bits: two instructions where f32x4.nearest + trunc_sat cost seven in V8.
// @ts-ignore: decorator
@inline const MAGIC: f32 = 12582912;
// @ts-ignore: decorator
@inline function roundI(v: v128): v128 {
  return i32x4.sub(f32x4.add(v, f32x4.splat(MAGIC)), i32x4.splat(0x4b400000));
}
/** The same rounding, as f32. */
// @ts-ignore: decorator
@inline function roundF(v: v128): v128 {
  return f32x4.sub(f32x4.add(v, f32x4.splat(MAGIC)), f32x4.splat(MAGIC));
}

/** max |x| over the 32 floats at p (f32 bit patterns of |x| order like the values). */
// @ts-ignore: decorator
@inline function absMax(p: usize): f32 {
  const m = i32x4.splat(0x7fffffff);
  let a = i32x4.max_s(v128.and(v128.load(p), m), v128.and(v128.load(p, 16), m));
  a = i32x4.max_s(a, i32x4.max_s(v128.and(v128.load(p, 32), m), v128.and(v128.load(p, 48), m)));
  a = i32x4.max_s(a, i32x4.max_s(v128.and(v128.load(p, 64), m), v128.and(v128.load(p, 80), m)));
  a = i32x4.max_s(a, i32x4.max_s(v128.and(v128.load(p, 96), m), v128.and(v128.load(p, 112), m)));
  a = i32x4.max_s(a, i32x4.shuffle(a, a, 2, 3, 0, 1));
  return reinterpret<f32>(max(i32x4.extract_lane(a, 0), i32x4.extract_lane(a, 1)));
}

/** Stores eight i32x4 (32 values in column order) as i16, evens then odds: 64 bytes at d. */
// @ts-ignore: decorator
@inline function store16(d: usize, q0: v128, q1: v128, q2: v128, q3: v128, q4: v128, q5: v128, q6: v128, q7: v128): void {
  v128.store(d, i16x8.narrow_i32x4_s(i32x4.shuffle(q0, q1, 0, 2, 4, 6), i32x4.shuffle(q2, q3, 0, 2, 4, 6)));
  v128.store(d, i16x8.narrow_i32x4_s(i32x4.shuffle(q4, q5, 0, 2, 4, 6), i32x4.shuffle(q6, q7, 0, 2, 4, 6)), 16);
  v128.store(d, i16x8.narrow_i32x4_s(i32x4.shuffle(q0, q1, 1, 3, 5, 7), i32x4.shuffle(q2, q3, 1, 3, 5, 7)), 32);
  v128.store(d, i16x8.narrow_i32x4_s(i32x4.shuffle(q4, q5, 1, 3, 5, 7), i32x4.shuffle(q6, q7, 1, 3, 5, 7)), 48);
}

/** Stores eight i32x4 (32 values in column order) as bytes, evens then odds: 32 bytes at d; `unsigned`:
 * values 0..255 (q8.ts's offset weight codes), else -128..127. */
// @ts-ignore: decorator
@inline export function store8(d: usize, q0: v128, q1: v128, q2: v128, q3: v128, q4: v128, q5: v128, q6: v128, q7: v128, unsigned: bool): void {
  const E0 = i16x8.narrow_i32x4_s(i32x4.shuffle(q0, q1, 0, 2, 4, 6), i32x4.shuffle(q2, q3, 0, 2, 4, 6));
  const E1 = i16x8.narrow_i32x4_s(i32x4.shuffle(q4, q5, 0, 2, 4, 6), i32x4.shuffle(q6, q7, 0, 2, 4, 6));
  const O0 = i16x8.narrow_i32x4_s(i32x4.shuffle(q0, q1, 1, 3, 5, 7), i32x4.shuffle(q2, q3, 1, 3, 5, 7));
  const O1 = i16x8.narrow_i32x4_s(i32x4.shuffle(q4, q5, 1, 3, 5, 7), i32x4.shuffle(q6, q7, 1, 3, 5, 7));
  v128.store(d, unsigned ? i8x16.narrow_i16x8_u(E0, E1) : i8x16.narrow_i16x8_s(E0, E1));
  v128.store(d, unsigned ? i8x16.narrow_i16x8_u(O0, O1) : i8x16.narrow_i16x8_s(O0, O1), 16);
}

/** qmax: 127 (int8 values) or up to 32767 (baseline build only). */
export function quantize(q: usize, xs: usize, qs: usize, src: usize, n: i32, cols: i32, qmax: f32): void {
  const nb = cols >> 5;
  for (let t = 0; t < n; t++) {
    for (let b = 0; b < nb; b++) {
      const i = t * nb + b;
      const p = src + ((<usize>t * cols + (<usize>b << 5)) << 2);
      const amax = absMax(p);
      const inv = f32x4.splat(amax > 0 ? qmax / amax : 0);
      const q0 = roundI(f32x4.mul(v128.load(p), inv)), q1 = roundI(f32x4.mul(v128.load(p, 16), inv));
      const q2 = roundI(f32x4.mul(v128.load(p, 32), inv)), q3 = roundI(f32x4.mul(v128.load(p, 48), inv));
      const q4 = roundI(f32x4.mul(v128.load(p, 64), inv)), q5 = roundI(f32x4.mul(v128.load(p, 80), inv));
      const q6 = roundI(f32x4.mul(v128.load(p, 96), inv)), q7 = roundI(f32x4.mul(v128.load(p, 112), inv));
      if (ASC_FEATURE_RELAXED_SIMD) {
        store8(q + (<usize>i << 5), q0, q1, q2, q3, q4, q5, q6, q7, false);
      } else {
        store16(q + (<usize>i << 6), q0, q1, q2, q3, q4, q5, q6, q7);
      }
      const sum = i32x4.add(i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)), i32x4.add(i32x4.add(q4, q5), i32x4.add(q6, q7)));
      const s = i32x4.add(sum, i32x4.shuffle(sum, sum, 2, 3, 0, 1));
      store<i32>(qs + (<usize>i << 2), 12 * (i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1)));
      store<f32>(xs + (<usize>i << 2), amax / (2 * qmax));
    }
  }
}

// @ts-ignore: decorator
@inline const HI: f32 = 32767;
// @ts-ignore: decorator
@inline const LO: f32 = 65534;

/** The exact split (see the top): q [n, nb, 2, 32] i16, xs [n, nb]. */
export function split(q: usize, xs: usize, src: usize, n: i32, cols: i32): void {
  const nb = cols >> 5;
  for (let t = 0; t < n; t++) {
    for (let b = 0; b < nb; b++) {
      const i = t * nb + b;
      const p = src + ((<usize>t * cols + (<usize>b << 5)) << 2);
      const amax = absMax(p);
      const d: f32 = amax / HI;
      const inv = f32x4.splat(amax > 0 ? HI / amax : 0), dv = f32x4.splat(d);
      const invLo = f32x4.splat(amax > 0 ? LO / d : 0);
      const dst = q + (<usize>i << 7);
      // hi = round(x / d); lo = round((x - hi * d) / d2)
      let v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      let v4 = v128.load(p, 64), v5 = v128.load(p, 80), v6 = v128.load(p, 96), v7 = v128.load(p, 112);
      const h0 = roundF(f32x4.mul(v0, inv)), h1 = roundF(f32x4.mul(v1, inv)), h2 = roundF(f32x4.mul(v2, inv)), h3 = roundF(f32x4.mul(v3, inv));
      const h4 = roundF(f32x4.mul(v4, inv)), h5 = roundF(f32x4.mul(v5, inv)), h6 = roundF(f32x4.mul(v6, inv)), h7 = roundF(f32x4.mul(v7, inv));
      store16(dst, i32x4.trunc_sat_f32x4_s(h0), i32x4.trunc_sat_f32x4_s(h1), i32x4.trunc_sat_f32x4_s(h2), i32x4.trunc_sat_f32x4_s(h3),
        i32x4.trunc_sat_f32x4_s(h4), i32x4.trunc_sat_f32x4_s(h5), i32x4.trunc_sat_f32x4_s(h6), i32x4.trunc_sat_f32x4_s(h7));
      v0 = roundI(f32x4.mul(f32x4.sub(v0, f32x4.mul(h0, dv)), invLo));
      v1 = roundI(f32x4.mul(f32x4.sub(v1, f32x4.mul(h1, dv)), invLo));
      v2 = roundI(f32x4.mul(f32x4.sub(v2, f32x4.mul(h2, dv)), invLo));
      v3 = roundI(f32x4.mul(f32x4.sub(v3, f32x4.mul(h3, dv)), invLo));
      v4 = roundI(f32x4.mul(f32x4.sub(v4, f32x4.mul(h4, dv)), invLo));
      v5 = roundI(f32x4.mul(f32x4.sub(v5, f32x4.mul(h5, dv)), invLo));
      v6 = roundI(f32x4.mul(f32x4.sub(v6, f32x4.mul(h6, dv)), invLo));
      v7 = roundI(f32x4.mul(f32x4.sub(v7, f32x4.mul(h7, dv)), invLo));
      store16(dst + 64, v0, v1, v2, v3, v4, v5, v6, v7);
      store<f32>(xs + (<usize>i << 2), d / (2 * LO));
    }
  }
}

/** f32 [n, cols] (deinterleaved by 32, as the prefill kernel reads it) of what `quantize` stored:
 * prefill in `fast` then sees exactly the activations a decode would. */
export function dequantize(dst: usize, q: usize, xs: usize, n: i32, cols: i32): void {
  const nb = cols >> 5;
  for (let i = 0; i < n * nb; i++) {
    const d = f32x4.splat(2 * load<f32>(xs + (<usize>i << 2)));
    const o = dst + (<usize>i << 7);
    for (let j = 0; j < 4; j++) {
      let v: v128;
      if (ASC_FEATURE_RELAXED_SIMD) {
        const b = v128.load64_zero(q + (<usize>i << 5) + (<usize>j << 3));
        v = i16x8.extend_low_i8x16_s(b);
      } else {
        v = v128.load(q + (<usize>i << 6) + (<usize>j << 4));
      }
      v128.store(o + (<usize>j << 5), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(v)), d));
      v128.store(o + (<usize>j << 5), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(v)), d), 16);
    }
  }
}
