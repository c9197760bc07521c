// MXFP4 expert matrix products, straight from the checkpoint's blocks and scales (no repacking).
//
// Layout (one expert): blocks U8 [rows, nb, 16] and scales U8 [rows, nb], nb = cols / 32. Byte j of a
// 16-byte block holds column 2j in its low nibble and 2j + 1 in its high nibble; a 4-bit code c means
// sign (c & 8) and magnitude [0, .5, 1, 1.5, 2, 3, 4, 6][c & 7], times 2^(scale - 127).
//
// Decoding: one table lookup (swizzle) maps 16 codes to twice their value as i8 (-12..12, integers),
// so the factor 1/2 joins the block scale. The low nibbles give the even columns and the high nibbles
// the odd ones, so the activations are split the same way per 32-block (simd.ts `deinterleave`).
//
// Two precisions:
//  exact: f32 activations; the i8 values are widened to f32 and multiplied-added in f32.
//  fast:  activations quantized per 32-block to int8 with one f32 scale (quant.ts); the products are
//         integer dot products (i16 pairs with `i32x4.dot_i16x8_s` in the baseline build; in the
//         relaxed build i8 x u7 with `relaxed_dot_i8x16_i7x16_add_s`, the weights offset by +12 to be
//         non-negative and the offset removed with the block's precomputed 12 * sum(q)).
// Block sums of four consecutive blocks are reduced together (reduce4) so the per-block scaling is one
// vector multiply-add per four blocks.
//
// Decode (one token) streams each expert matrix once, row after row. Prefill (n tokens routed to the
// expert) decodes each row once into a small scratch row (pre-scaled f32 for exact, integers for fast)
// and dots it with all n tokens, so the expert's weights are read once per batch.
import { e8m0, e8m0x4, hsum, hsumI, lookup, madd, reduce4, reduce4I } from "./simd";

// @ts-ignore: decorator
@inline const RELAXED = ASC_FEATURE_RELAXED_SIMD;
/** Bytes of one quantized 32-block of activations: i16 (baseline) or i8 (relaxed). */
// @ts-ignore: decorator
@inline const QB: usize = RELAXED ? 32 : 64;

// @ts-ignore: decorator
@inline function nib(): v128 {
  return i8x16.splat(0x0f);
}
/** FP4 code -> 2 * value, as i8. */
// @ts-ignore: decorator
@inline function fp4x2(): v128 {
  return i8x16(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
}
/** FP4 code -> 2 * value + 12 (0..24: the unsigned 7-bit operand of the relaxed dot product). */
// @ts-ignore: decorator
@inline function fp4x2p12(): v128 {
  return i8x16(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0);
}
// @ts-ignore: decorator
@inline function lowCodes(b: v128): v128 {
  return v128.and(b, nib());
}
// @ts-ignore: decorator
@inline function highCodes(b: v128): v128 {
  return v128.and(i16x8.shr_u(b, 4), nib());
}
// @ts-ignore: decorator
@inline function cvtLo(v: v128): v128 {
  return f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(v));
}
// @ts-ignore: decorator
@inline function cvtHi(v: v128): v128 {
  return f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(v));
}

// ---- exact: f32 activations ----

/** Partial sums (f32x4) of 2 * FP4 * x over one block; x deinterleaved by 32 at xp. */
// @ts-ignore: decorator
@inline function blockExact(bp: usize, xp: usize): v128 {
  const b = v128.load(bp);
  const lo = lookup(fp4x2(), lowCodes(b)), hi = lookup(fp4x2(), highCodes(b));
  const l0 = i16x8.extend_low_i8x16_s(lo), l1 = i16x8.extend_high_i8x16_s(lo);
  const h0 = i16x8.extend_low_i8x16_s(hi), h1 = i16x8.extend_high_i8x16_s(hi);
  let a = f32x4.mul(cvtLo(l0), v128.load(xp));
  let c = f32x4.mul(cvtHi(l0), v128.load(xp, 16));
  a = madd(cvtLo(l1), v128.load(xp, 32), a);
  c = madd(cvtHi(l1), v128.load(xp, 48), c);
  a = madd(cvtLo(h0), v128.load(xp, 64), a);
  c = madd(cvtHi(h0), v128.load(xp, 80), c);
  a = madd(cvtLo(h1), v128.load(xp, 96), a);
  c = madd(cvtHi(h1), v128.load(xp, 112), c);
  return f32x4.add(a, c);
}

/** One row (blocks at bp, scales at sp) dotted with f32 x. */
// @ts-ignore: decorator
@inline function rowExact(bp: usize, sp: usize, xp: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  let b = 0;
  for (; b + 4 <= nb; b += 4) {
    const p = bp + (<usize>b << 4), q = xp + (<usize>b << 7);
    acc = madd(reduce4(blockExact(p, q), blockExact(p + 16, q + 128), blockExact(p + 32, q + 256), blockExact(p + 48, q + 384)),
      e8m0x4(sp + b), acc);
  }
  let s = hsum(acc);
  for (; b < nb; b++) s += hsum(blockExact(bp + (<usize>b << 4), xp + (<usize>b << 7))) * e8m0(load<u8>(sp + b));
  return s * 0.5;
}

/** Decodes one row to f32, scaled, in the deinterleaved column order: [cols] at dst. */
function decodeRowF32(dst: usize, bp: usize, sp: usize, nb: i32): void {
  for (let b = 0; b < nb; b++) {
    const s = f32x4.splat(e8m0(load<u8>(sp + b)) * 0.5);
    const v = v128.load(bp + (<usize>b << 4));
    const lo = lookup(fp4x2(), lowCodes(v)), hi = lookup(fp4x2(), highCodes(v));
    const l0 = i16x8.extend_low_i8x16_s(lo), l1 = i16x8.extend_high_i8x16_s(lo);
    const h0 = i16x8.extend_low_i8x16_s(hi), h1 = i16x8.extend_high_i8x16_s(hi);
    const d = dst + (<usize>b << 7);
    v128.store(d, f32x4.mul(cvtLo(l0), s));
    v128.store(d, f32x4.mul(cvtHi(l0), s), 16);
    v128.store(d, f32x4.mul(cvtLo(l1), s), 32);
    v128.store(d, f32x4.mul(cvtHi(l1), s), 48);
    v128.store(d, f32x4.mul(cvtLo(h0), s), 64);
    v128.store(d, f32x4.mul(cvtHi(h0), s), 80);
    v128.store(d, f32x4.mul(cvtLo(h1), s), 96);
    v128.store(d, f32x4.mul(cvtHi(h1), s), 112);
  }
}

/** f32 dot product of n (a multiple of 32) floats. */
// @ts-ignore: decorator
@inline function dotF32(w: usize, x: usize, n: i32): f32 {
  let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
  for (let i = 0; i < n; i += 16) {
    const o = <usize>i << 2;
    a = madd(v128.load(w + o), v128.load(x + o), a);
    b = madd(v128.load(w + o, 16), v128.load(x + o, 16), b);
    c = madd(v128.load(w + o, 32), v128.load(x + o, 32), c);
    d = madd(v128.load(w + o, 48), v128.load(x + o, 48), d);
  }
  return hsum(f32x4.add(f32x4.add(a, b), f32x4.add(c, d)));
}

// ---- fast: int8 activations ----

/** Integer partial sums (i32x4) of one block: weights from codes, activations quantized at xq. */
// @ts-ignore: decorator
@inline function blockFast(bp: usize, xq: usize): v128 {
  const b = v128.load(bp);
  if (RELAXED) {
    const lo = lookup(fp4x2p12(), lowCodes(b)), hi = lookup(fp4x2p12(), highCodes(b));
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xq), lo,
      i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xq, 16), hi, i32x4.splat(0)));
  }
  const lo = lookup(fp4x2(), lowCodes(b)), hi = lookup(fp4x2(), highCodes(b));
  const a = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), v128.load(xq)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), v128.load(xq, 16)));
  const c = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), v128.load(xq, 32)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), v128.load(xq, 48)));
  return i32x4.add(a, c);
}

/** The same from a row pre-decoded by decodeRowInt (wp: QB bytes per block). */
// @ts-ignore: decorator
@inline function blockFastPre(wp: usize, xq: usize): v128 {
  if (RELAXED) {
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xq), v128.load(wp),
      i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xq, 16), v128.load(wp, 16), i32x4.splat(0)));
  }
  const a = i32x4.add(i32x4.dot_i16x8_s(v128.load(wp), v128.load(xq)), i32x4.dot_i16x8_s(v128.load(wp, 16), v128.load(xq, 16)));
  const c = i32x4.add(i32x4.dot_i16x8_s(v128.load(wp, 32), v128.load(xq, 32)), i32x4.dot_i16x8_s(v128.load(wp, 48), v128.load(xq, 48)));
  return i32x4.add(a, c);
}

/** Decodes one row's codes to the integers blockFastPre reads (scales stay where they are). */
function decodeRowInt(dst: usize, bp: usize, nb: i32): void {
  for (let b = 0; b < nb; b++) {
    const v = v128.load(bp + (<usize>b << 4));
    const d = dst + <usize>b * QB;
    if (RELAXED) {
      v128.store(d, lookup(fp4x2p12(), lowCodes(v)));
      v128.store(d, lookup(fp4x2p12(), highCodes(v)), 16);
    } else {
      const lo = lookup(fp4x2(), lowCodes(v)), hi = lookup(fp4x2(), highCodes(v));
      v128.store(d, i16x8.extend_low_i8x16_s(lo));
      v128.store(d, i16x8.extend_high_i8x16_s(lo), 16);
      v128.store(d, i16x8.extend_low_i8x16_s(hi), 32);
      v128.store(d, i16x8.extend_high_i8x16_s(hi), 48);
    }
  }
}

/**
 * One row dotted with one quantized token: sum over blocks of int_dot * 2^(s-127) * xs[b], where
 * xs holds the activation scales (with the 1/2 of the doubled table folded in) and qs the relaxed
 * build's offsets. `pre` reads a row decoded by decodeRowInt at bp instead of the codes.
 */
// @ts-ignore: decorator
@inline function rowFast(bp: usize, sp: usize, xq: usize, xs: usize, qs: usize, nb: i32, pre: bool): f32 {
  const WB: usize = pre ? QB : 16;
  let acc = f32x4.splat(0);
  let b = 0;
  for (; b + 4 <= nb; b += 4) {
    const p = bp + <usize>b * WB, q = xq + <usize>b * QB;
    let d = pre
      ? reduce4I(blockFastPre(p, q), blockFastPre(p + WB, q + QB), blockFastPre(p + 2 * WB, q + 2 * QB), blockFastPre(p + 3 * WB, q + 3 * QB))
      : reduce4I(blockFast(p, q), blockFast(p + WB, q + QB), blockFast(p + 2 * WB, q + 2 * QB), blockFast(p + 3 * WB, q + 3 * QB));
    if (RELAXED) d = i32x4.sub(d, v128.load(qs + (<usize>b << 2)));
    acc = madd(f32x4.convert_i32x4_s(d), f32x4.mul(e8m0x4(sp + b), v128.load(xs + (<usize>b << 2))), acc);
  }
  let s = hsum(acc);
  for (; b < nb; b++) {
    const p = bp + <usize>b * WB, q = xq + <usize>b * QB;
    let d = hsumI(pre ? blockFastPre(p, q) : blockFast(p, q));
    if (RELAXED) d -= load<i32>(qs + (<usize>b << 2));
    s += <f32>d * (e8m0(load<u8>(sp + b)) * load<f32>(xs + (<usize>b << 2)));
  }
  return s;
}

// ---- the expert kernels ----

// @ts-ignore: decorator
@inline function swiglu(g: f32, l: f32, limit: f32, alpha: f32): f32 {
  g = min(g, limit);
  l = max(-limit, min(l, limit));
  return g / (1 + Mathf.exp(-alpha * g)) * (l + 1);
}

/**
 * Gate/up projection of one expert with the clamped SwiGLU fused: for each of n tokens t and each
 * j < I, act[t, j] = swiglu(row 2j . x[t] + bias[2j], row 2j+1 . x[t] + bias[2j+1]).
 * Pointers are already offset to the expert. x (per precision): exact = f32 [n, cols] deinterleaved
 * by 32; fast = quantized [n, cols] with xs f32 [n, nb] and qs i32 [n, nb] (quant.ts).
 * scratch: 2 decoded rows (prefill only), 8 * cols bytes.
 */
export function mxfp4Up(act: usize, x: usize, xs: usize, qs: usize, blocks: usize, scales: usize, bias: usize,
  I: i32, cols: i32, n: i32, limit: f32, alpha: f32, fast: bool, scratch: usize): void {
  const nb = cols >> 5;
  const rowB = <usize>nb << 4, rowS = <usize>nb;
  const xstride: usize = fast ? <usize>nb * QB : <usize>cols << 2;
  const sstride = <usize>nb << 2;
  const rowD: usize = fast ? <usize>nb * QB : <usize>cols << 2; // one decoded row in scratch
  for (let j = 0; j < I; j++) {
    const bg = blocks + <usize>(2 * j) * rowB, sg = scales + <usize>(2 * j) * rowS;
    const bl = bg + rowB, sl = sg + rowS;
    const biasG = load<f32>(bias + (<usize>j << 3)), biasL = load<f32>(bias + (<usize>j << 3), 4);
    if (n == 1) {
      const g = fast ? rowFast(bg, sg, x, xs, qs, nb, false) : rowExact(bg, sg, x, nb);
      const l = fast ? rowFast(bl, sl, x, xs, qs, nb, false) : rowExact(bl, sl, x, nb);
      store<f32>(act + (<usize>j << 2), swiglu(g + biasG, l + biasL, limit, alpha));
      continue;
    }
    if (fast) {
      decodeRowInt(scratch, bg, nb);
      decodeRowInt(scratch + rowD, bl, nb);
    } else {
      decodeRowF32(scratch, bg, sg, nb);
      decodeRowF32(scratch + rowD, bl, sl, nb);
    }
    for (let t = 0; t < n; t++) {
      const xt = x + <usize>t * xstride;
      let g: f32, l: f32;
      if (fast) {
        const xst = xs + <usize>t * sstride, qst = qs + <usize>t * sstride;
        g = rowFast(scratch, sg, xt, xst, qst, nb, true);
        l = rowFast(scratch + rowD, sl, xt, xst, qst, nb, true);
      } else {
        g = dotF32(scratch, xt, cols);
        l = dotF32(scratch + rowD, xt, cols);
      }
      store<f32>(act + ((<usize>t * I + j) << 2), swiglu(g + biasG, l + biasL, limit, alpha));
    }
  }
}

/**
 * Down projection of one expert, weighted: y[t, r] = weight[t] * (row r . a[t] + bias[r]) for n tokens,
 * r < rows. a as x in mxfp4Up. y: f32 [n, rows]; weight: f32 [n]. scratch: one decoded row.
 */
export function mxfp4Down(y: usize, a: usize, as: usize, qs: usize, blocks: usize, scales: usize, bias: usize,
  rows: i32, cols: i32, n: i32, weight: usize, fast: bool, scratch: usize): void {
  const nb = cols >> 5;
  const rowB = <usize>nb << 4, rowS = <usize>nb;
  const astride: usize = fast ? <usize>nb * QB : <usize>cols << 2;
  const sstride = <usize>nb << 2;
  for (let r = 0; r < rows; r++) {
    const bp = blocks + <usize>r * rowB, sp = scales + <usize>r * rowS;
    const br = load<f32>(bias + (<usize>r << 2));
    if (n == 1) {
      const s = fast ? rowFast(bp, sp, a, as, qs, nb, false) : rowExact(bp, sp, a, nb);
      store<f32>(y + (<usize>r << 2), load<f32>(weight) * (s + br));
      continue;
    }
    if (fast) decodeRowInt(scratch, bp, nb);
    else decodeRowF32(scratch, bp, sp, nb);
    for (let t = 0; t < n; t++) {
      const at = a + <usize>t * astride;
      const s = fast
        ? rowFast(scratch, sp, at, as + <usize>t * sstride, qs + <usize>t * sstride, nb, true)
        : dotF32(scratch, at, cols);
      store<f32>(y + ((<usize>t * rows + r) << 2), load<f32>(weight + (<usize>t << 2)) * (s + br));
    }
  }
}
