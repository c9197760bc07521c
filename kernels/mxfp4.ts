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
// Decode (one token for the expert) streams the expert's rows once, two rows per pass, with integer
// dot products (i16 weights from the table, widened) against an integer form of the activations:
//  exact: f32 activations split exactly into two i16 per value (quant.ts `split`, ~31 bits per
//         32-block): two dot products per block, f32 sums; within ~1e-7 of an all-f32 kernel.
//  fast:  activations quantized per 32-block (quant.ts `quantize`): one dot product per block
//         (i16 pairs with `i32x4.dot_i16x8_s` in the baseline build; in the relaxed build i8 x u7 with
//         `relaxed_dot_i8x16_i7x16_add_s`, the weights offset by +12 to be non-negative and the offset
//         removed with the block's precomputed 12 * sum(q)).
// Prefill (n > 1 tokens routed to the expert) is gemm.ts with f32 activations in both precisions: it
// decodes each weight once per call and is compute-bound on the f32 products, so int8 would not help.
import { e8m0, hsum, lookup, madd } from "./simd";
import { C_FP4X2, C_FP4X2P12, C_NIBBLE } from "./consts";
import { gemm, MXFP4 } from "./gemm";


// @ts-ignore: decorator
@inline const RELAXED = ASC_FEATURE_RELAXED_SIMD;
/** Bytes of one quantized 32-block of activations: i16 (baseline) or i8 (relaxed). */
// @ts-ignore: decorator
@inline const QB: usize = RELAXED ? 32 : 64;

/** Integer partial sums (i32x4) of one block: weights from codes, activations quantized at xq. */
// @ts-ignore: decorator
@inline function blockFast(bp: usize, xq: usize, nib: v128, table: v128): v128 {
  const b = v128.load(bp);
  const lo = lookup(table, v128.and(b, nib)), hi = lookup(table, v128.and(i16x8.shr_u(b, 4), nib));
  if (RELAXED) {
    // table: 2 * value + 12, non-negative as the second operand must be
    return i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xq), lo,
      i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(xq, 16), hi, i32x4.splat(0)));
  }
  const a = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), v128.load(xq)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), v128.load(xq, 16)));
  const c = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), v128.load(xq, 32)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), v128.load(xq, 48)));
  return i32x4.add(a, c);
}

// ---- decode: two rows per pass, one block per step ----
// One block per loop step keeps few vectors live (TurboFan hoists loads, so wider steps spill), two
// rows share the activation loads, and each block's partial sums are scaled and added at once.

/**
 * res[0], res[1] = rows (b0, s0) and (b1, s1) dotted with activations split exactly into two i16
 * (quant.ts `split`: xq [nb][hi 32, lo 32], block scales xs): integer products, f32 sums.
 */
function dot2Exact(res: usize, b0: usize, s0: usize, b1: usize, s1: usize, xq: usize, xs: usize, nb: i32): void {
  const nib = v128.load(C_NIBBLE), table = v128.load(C_FP4X2);
  const k = f32x4.splat(65534);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const q = xq + (<usize>b << 7), o = <usize>b << 4;
    const dx = load<f32>(xs + (<usize>b << 2));
    let v = v128.load(b0 + o);
    let lo = lookup(table, v128.and(v, nib)), hi = lookup(table, v128.and(i16x8.shr_u(v, 4), nib));
    let w0 = i16x8.extend_low_i8x16_s(lo), w1 = i16x8.extend_high_i8x16_s(lo);
    let w2 = i16x8.extend_low_i8x16_s(hi), w3 = i16x8.extend_high_i8x16_s(hi);
    let dh = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(q)), i32x4.dot_i16x8_s(w1, v128.load(q, 16))),
      i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(q, 32)), i32x4.dot_i16x8_s(w3, v128.load(q, 48))));
    let dl = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(q, 64)), i32x4.dot_i16x8_s(w1, v128.load(q, 80))),
      i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(q, 96)), i32x4.dot_i16x8_s(w3, v128.load(q, 112))));
    a0 = madd(madd(f32x4.convert_i32x4_s(dh), k, f32x4.convert_i32x4_s(dl)), f32x4.splat(e8m0(load<u8>(s0 + b)) * dx), a0);
    v = v128.load(b1 + o);
    lo = lookup(table, v128.and(v, nib));
    hi = lookup(table, v128.and(i16x8.shr_u(v, 4), nib));
    w0 = i16x8.extend_low_i8x16_s(lo);
    w1 = i16x8.extend_high_i8x16_s(lo);
    w2 = i16x8.extend_low_i8x16_s(hi);
    w3 = i16x8.extend_high_i8x16_s(hi);
    dh = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(q)), i32x4.dot_i16x8_s(w1, v128.load(q, 16))),
      i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(q, 32)), i32x4.dot_i16x8_s(w3, v128.load(q, 48))));
    dl = i32x4.add(i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(q, 64)), i32x4.dot_i16x8_s(w1, v128.load(q, 80))),
      i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(q, 96)), i32x4.dot_i16x8_s(w3, v128.load(q, 112))));
    a1 = madd(madd(f32x4.convert_i32x4_s(dh), k, f32x4.convert_i32x4_s(dl)), f32x4.splat(e8m0(load<u8>(s1 + b)) * dx), a1);
  }
  store<f32>(res, hsum(a0));
  store<f32>(res, hsum(a1), 4);
}

/** The same with quantized activations (xq, block scales xs, relaxed offsets qs). */
function dot2Fast(res: usize, b0: usize, s0: usize, b1: usize, s1: usize, xq: usize, xs: usize, qs: usize, nb: i32): void {
  const nib = v128.load(C_NIBBLE), table = v128.load(RELAXED ? C_FP4X2P12 : C_FP4X2);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const q = xq + <usize>b * QB, o = <usize>b << 4;
    const dx = load<f32>(xs + (<usize>b << 2));
    let d0 = blockFast(b0 + o, q, nib, table), d1 = blockFast(b1 + o, q, nib, table);
    if (RELAXED) {
      const off = v128.load32_zero(qs + (<usize>b << 2)); // 12 * sum(q), in lane 0
      d0 = i32x4.sub(d0, off);
      d1 = i32x4.sub(d1, off);
    }
    a0 = madd(f32x4.convert_i32x4_s(d0), f32x4.splat(e8m0(load<u8>(s0 + b)) * dx), a0);
    a1 = madd(f32x4.convert_i32x4_s(d1), f32x4.splat(e8m0(load<u8>(s1 + b)) * dx), a1);
  }
  store<f32>(res, hsum(a0));
  store<f32>(res, hsum(a1), 4);
}

// ---- the expert kernels ----

// @ts-ignore: decorator
@inline function swiglu(g: f32, l: f32, limit: f32, alpha: f32): f32 {
  g = min(g, limit);
  l = max(-limit, min(l, limit));
  return g / (1 + Mathf.exp(-alpha * g)) * (l + 1);
}

/** out[t, r] = bias[r] for t < n, r < rows; out rows are `stride` floats apart. */
function fillBias(out: usize, bias: usize, rows: i32, n: i32, stride: i32): void {
  for (let t = 0; t < n; t++) memory.copy(out + (<usize>(t * stride) << 2), bias, <usize>rows << 2);
}

/**
 * Gate/up projection of one expert with the clamped SwiGLU fused: for each of n tokens t and each
 * j < I, act[t, j] = swiglu(row 2j . x[t] + bias[2j], row 2j+1 . x[t] + bias[2j+1]).
 * Pointers are already offset to the expert. x: for n == 1, quant.ts's form (exact: `split`, fast:
 * `quantize`, with xs and qs); for n > 1, f32 [n, cols] deinterleaved by 32. act rows are `astride`
 * floats apart (>= I: a thread computes a band of a wider output). scratch: n * 2I * 4 + 4096 bytes.
 */
export function mxfp4Up(act: usize, x: usize, xs: usize, qs: usize, blocks: usize, scales: usize, bias: usize,
  I: i32, cols: i32, n: i32, limit: f32, alpha: f32, fast: bool, scratch: usize, astride: i32): void {
  const nb = cols >> 5;
  const rowB = <usize>nb << 4, rowS = <usize>nb;
  if (n == 1) {
    for (let j = 0; j < I; j++) {
      const bg = blocks + <usize>(2 * j) * rowB, sg = scales + <usize>(2 * j) * rowS;
      if (fast) dot2Fast(scratch, bg, sg, bg + rowB, sg + rowS, x, xs, qs, nb);
      else dot2Exact(scratch, bg, sg, bg + rowB, sg + rowS, x, xs, nb);
      const o = bias + (<usize>j << 3);
      store<f32>(act + (<usize>j << 2), swiglu(load<f32>(scratch) + load<f32>(o), load<f32>(scratch, 4) + load<f32>(o, 4), limit, alpha));
    }
    return;
  }
  const h = scratch, panel = scratch + (<usize>(n * 2 * I) << 2);
  fillBias(h, bias, 2 * I, n, 2 * I);
  gemm(h, 2 * I, x, n, MXFP4, blocks, scales, 2 * I, cols, panel);
  for (let t = 0; t < n; t++) {
    const ht = h + (<usize>(t * 2 * I) << 2), at = act + (<usize>(t * astride) << 2);
    for (let j = 0; j < I; j++) {
      store<f32>(at + (<usize>j << 2), swiglu(load<f32>(ht + (<usize>j << 3)), load<f32>(ht + (<usize>j << 3), 4), limit, alpha));
    }
  }
}

/**
 * Down projection of one expert, weighted: y[t, r] = weight[t] * (row r . a[t] + bias[r]) for n tokens,
 * r < rows. a as x in mxfp4Up. y: f32 [n, ystride floats] (ystride >= rows); weight: f32 [n].
 * scratch: 4096 bytes.
 */
export function mxfp4Down(y: usize, a: usize, as: usize, qs: usize, blocks: usize, scales: usize, bias: usize,
  rows: i32, cols: i32, n: i32, weight: usize, fast: bool, scratch: usize, ystride: i32): void {
  const nb = cols >> 5;
  const rowB = <usize>nb << 4, rowS = <usize>nb;
  if (n == 1) {
    const w = load<f32>(weight);
    for (let r = 0; r < rows; r += 2) {
      const r1 = min(r + 1, rows - 1); // an odd last row is paired with itself
      const bp = blocks + <usize>r * rowB, sp = scales + <usize>r * rowS;
      const bq = blocks + <usize>r1 * rowB, sq = scales + <usize>r1 * rowS;
      if (fast) dot2Fast(scratch, bp, sp, bq, sq, a, as, qs, nb);
      else dot2Exact(scratch, bp, sp, bq, sq, a, as, nb);
      store<f32>(y + (<usize>r << 2), w * (load<f32>(scratch) + load<f32>(bias + (<usize>r << 2))));
      if (r1 > r) store<f32>(y + (<usize>r1 << 2), w * (load<f32>(scratch, 4) + load<f32>(bias + (<usize>r1 << 2))));
    }
    return;
  }
  fillBias(y, bias, rows, n, ystride);
  gemm(y, ystride, a, n, MXFP4, blocks, scales, rows, cols, scratch);
  for (let t = 0; t < n; t++) {
    const w = f32x4.splat(load<f32>(weight + (<usize>t << 2)));
    const yt = y + (<usize>(t * ystride) << 2);
    let r = 0;
    for (; r + 4 <= rows; r += 4) v128.store(yt + (<usize>r << 2), f32x4.mul(v128.load(yt + (<usize>r << 2)), w));
    for (; r < rows; r++) store<f32>(yt + (<usize>r << 2), load<f32>(yt + (<usize>r << 2)) * f32x4.extract_lane(w, 0));
  }
}
