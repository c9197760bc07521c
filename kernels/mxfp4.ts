// MXFP4 expert matrix products, straight from the checkpoint's blocks and scales.
//
// Checkpoint layout (one expert): blocks U8 [rows, nb, 16] and scales U8 [rows, nb], nb = cols / 32.
// Byte j of a 16-byte block holds column 2j in its low nibble and 2j + 1 in its high nibble; a 4-bit
// code c means sign (c & 8) and magnitude [0, .5, 1, 1.5, 2, 3, 4, 6][c & 7], times 2^(scale - 127).
//
// Kernel layout (`interleave4`, applied once at load): each group of four rows is block-interleaved,
// blocks [nb][4 rows][16] and scales [nb][4 rows], so a pass over four rows reads one sequential
// stream (64 bytes of blocks and one u32 of scales per step) instead of four streams 1440 bytes
// apart, which the hardware prefetchers follow badly. The last rows % 4 rows stay row-major.
//
// Decoding: one table lookup (swizzle) maps 16 codes to twice their value as i8 (-12..12, integers),
// so the factor 1/2 joins the block scale. The low nibbles give the even columns and the high nibbles
// the odd ones, so the activations are split the same way per 32-block (simd.ts `deinterleave`).
//
// Decode (one token for the expert) streams the expert's rows once, four rows per pass, with integer
// dot products (i16 weights from the table, widened) against an integer form of the activations:
//  exact: f32 activations split exactly into two i16 per value (quant.ts `split`, ~31 bits per
//         32-block): two dot products per block, exact integer products, f32 sums.
//  fast:  activations quantized per 32-block (quant.ts `quantize`): one dot product per block
//         (i16 pairs with `i32x4.dot_i16x8_s` in the baseline build; in the relaxed build i8 x u7 with
//         `relaxed_dot_i8x16_i7x16_s`, the weights offset by +12 to be non-negative and the offset
//         removed with the block's precomputed 12 * sum(q)).
// Prefill (n > 1 tokens routed to the expert): in the relaxed build with fast, int8 tiles (`tile4Fast`);
// otherwise gemm.ts with f32 activations, which decodes each weight once per call.
import { lookup, madd, sum4 } from "./simd";
import { C_FP4X2, C_FP4X2P12, C_NIBBLE } from "./consts";
import { gemm, MXFP4 } from "./gemm";

// @ts-ignore: decorator
@inline const RELAXED = ASC_FEATURE_RELAXED_SIMD;
/** Bytes of one quantized 32-block of activations: i16 (baseline) or i8 (relaxed). */
// @ts-ignore: decorator
@inline const QB: usize = RELAXED ? 32 : 64;

// ---- decode: four rows per pass, one block per step ----
// Four rows share the activation loads, and their four integer block sums are reduced together into
// one vector [row 0, row 1, row 2, row 3] (`sum4`), so converting, scaling by the block scales and
// accumulating cost one vector instruction each per four rows, and no horizontal sum is left at the
// end. Within a block the integer sums are exact, so the result of a row does not depend on which
// rows it was grouped with (threads may split bands anywhere on a multiple of 4).

/** 2^(s - 127) of one block's scales of a group of four rows (four bytes at p), or of one row four
 * times (`one`: a row-major last row), as f32x4. */
// @ts-ignore: decorator
@inline function scales4(p: usize, one: bool): v128 {
  const v = one ? i32x4.splat(load<u8>(p)) : i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p)));
  return i32x4.shl(v, 23);
}

/** Byte strides of the kernel layout: rows within a group, blocks, scales; `one`: a single row-major
 * row read as four identical rows (the last rows % 4 rows). */
// @ts-ignore: decorator
@inline function rowStride(one: bool): usize { return one ? 0 : 16; }
// @ts-ignore: decorator
@inline function blockStride(one: bool): usize { return one ? 16 : 64; }
// @ts-ignore: decorator
@inline function scaleStride(one: bool): usize { return one ? 1 : 4; }

/**
 * One block of one row against quantized activations at xq, as partial sums: relaxed build, i16x8
 * (pair sums of i8 x u7 products, with the +12 offset of the weights); baseline, i32x4.
 */
// @ts-ignore: decorator
@inline function blockFast(bp: usize, xq: usize, nib: v128, table: v128): v128 {
  const b = v128.load(bp);
  const lo = lookup(table, v128.and(b, nib)), hi = lookup(table, v128.and(i16x8.shr_u(b, 4), nib));
  if (RELAXED) {
    // table: 2 * value + 12, non-negative as the second operand must be. Each i16 lane is at most
    // 2 * 127 * 24 = 6096 in magnitude, 12192 after adding the low and high nibbles.
    return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xq), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xq, 16), hi));
  }
  const a = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), v128.load(xq)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), v128.load(xq, 16)));
  const c = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), v128.load(xq, 32)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), v128.load(xq, 48)));
  return i32x4.add(a, c);
}

/** sum4 for four blockFast results: in the relaxed build the i16 pair sums are first folded once in
 * i16 (at most 24384, no overflow), then widened with one pmaddwd per two rows instead of per row. */
// @ts-ignore: decorator
@inline function sum4Fast(d0: v128, d1: v128, d2: v128, d3: v128): v128 {
  if (!RELAXED) return sum4(d0, d1, d2, d3);
  const a = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i32x4.shuffle(d0, d1, 0, 4, 1, 5), i32x4.shuffle(d0, d1, 2, 6, 3, 7)));
  const b = i32x4.extadd_pairwise_i16x8_s(i16x8.add(i32x4.shuffle(d2, d3, 0, 4, 1, 5), i32x4.shuffle(d2, d3, 2, 6, 3, 7)));
  return i32x4.add(i32x4.shuffle(a, b, 0, 1, 4, 5), i32x4.shuffle(a, b, 2, 3, 6, 7));
}

/** The two integer partial sums (hi, lo) of one block of one row against exactly split activations at q. */
// @ts-ignore: decorator
@inline function blockExact(bp: usize, q: usize, nib: v128, table: v128, lo32: bool): v128 {
  const v = v128.load(bp);
  const lo = lookup(table, v128.and(v, nib)), hi = lookup(table, v128.and(i16x8.shr_u(v, 4), nib));
  const o: usize = lo32 ? 64 : 0;
  return i32x4.add(i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), v128.load(q + o)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), v128.load(q + o, 16))),
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), v128.load(q + o, 32)),
      i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), v128.load(q + o, 48))));
}

/**
 * The four rows of the group at b0 (scales s0; `one`: one row-major row four times) dotted with
 * activations split exactly into two i16 (quant.ts `split`: xq [nb][hi 32, lo 32], block scales xs):
 * [4] f32.
 */
function dot4Exact(b0: usize, s0: usize, one: bool, xq: usize, xs: usize, nb: i32): v128 {
  const rowB = rowStride(one), blockB = blockStride(one), blockS = scaleStride(one);
  const nib = v128.load(C_NIBBLE), table = v128.load(C_FP4X2);
  const k = f32x4.splat(65534);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const q = xq + (<usize>b << 7), o = b0 + <usize>b * blockB;
    const dh = sum4(blockExact(o, q, nib, table, false), blockExact(o + rowB, q, nib, table, false),
      blockExact(o + 2 * rowB, q, nib, table, false), blockExact(o + 3 * rowB, q, nib, table, false));
    const dl = sum4(blockExact(o, q, nib, table, true), blockExact(o + rowB, q, nib, table, true),
      blockExact(o + 2 * rowB, q, nib, table, true), blockExact(o + 3 * rowB, q, nib, table, true));
    const d = madd(f32x4.convert_i32x4_s(dh), k, f32x4.convert_i32x4_s(dl));
    acc = madd(d, f32x4.mul(scales4(s0 + <usize>b * blockS, one), v128.load32_splat(xs + (<usize>b << 2))), acc);
  }
  return acc;
}

/** The same with quantized activations (xq, block scales xs, relaxed offsets qs). */
function dot4Fast(b0: usize, s0: usize, one: bool, xq: usize, xs: usize, qs: usize, nb: i32): v128 {
  const rowB = rowStride(one), blockB = blockStride(one), blockS = scaleStride(one);
  const nib = v128.load(C_NIBBLE), table = v128.load(RELAXED ? C_FP4X2P12 : C_FP4X2);
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const q = xq + <usize>b * QB, o = b0 + <usize>b * blockB;
    let d = sum4Fast(blockFast(o, q, nib, table), blockFast(o + rowB, q, nib, table),
      blockFast(o + 2 * rowB, q, nib, table), blockFast(o + 3 * rowB, q, nib, table));
    if (RELAXED) d = i32x4.sub(d, v128.load32_splat(qs + (<usize>b << 2))); // 12 * sum(q): the weights' offset
    acc = madd(f32x4.convert_i32x4_s(d), f32x4.mul(scales4(s0 + <usize>b * blockS, one), v128.load32_splat(xs + (<usize>b << 2))), acc);
  }
  return acc;
}

/**
 * Prefill in the relaxed build, fast: the four rows of the group at b0 dotted with n tokens of quantized
 * activations in token-minor order (`transposeQ`: xq [nb][n][32] i8, xs and qs [nb][n]), into
 * acc [n] f32x4 (lane i = row i). Each block
 * of the four rows is decoded once into registers and used for every token, so the weights cost their
 * decode once per call as in gemm.ts, and the products are int8 dot products instead of f32 ones.
 */
function tile4Fast(acc: usize, b0: usize, s0: usize, one: bool, xq: usize, xs: usize, qs: usize, nb: i32, n: i32): void {
  const rowB = rowStride(one), blockB = blockStride(one), blockS = scaleStride(one);
  const nib = v128.load(C_NIBBLE), table = v128.load(C_FP4X2P12);
  memory.fill(acc, 0, <usize>n << 4);
  for (let b = 0; b < nb; b++) {
    const o = b0 + <usize>b * blockB;
    let v = v128.load(o);
    const l0 = lookup(table, v128.and(v, nib)), h0 = lookup(table, v128.and(i16x8.shr_u(v, 4), nib));
    v = v128.load(o + rowB);
    const l1 = lookup(table, v128.and(v, nib)), h1 = lookup(table, v128.and(i16x8.shr_u(v, 4), nib));
    v = v128.load(o + 2 * rowB);
    const l2 = lookup(table, v128.and(v, nib)), h2 = lookup(table, v128.and(i16x8.shr_u(v, 4), nib));
    v = v128.load(o + 3 * rowB);
    const l3 = lookup(table, v128.and(v, nib)), h3 = lookup(table, v128.and(i16x8.shr_u(v, 4), nib));
    const ws = scales4(s0 + <usize>b * blockS, one);
    let q = xq + <usize>b * n * 32, p = <usize>(b * n) << 2, a = acc; // token-minor: block b of every token in a row
    for (let t = 0; t < n; t++) {
      const x0 = v128.load(q), x1 = v128.load(q, 16);
      const d = i32x4.sub(sum4Fast(
        i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, l0), i16x8.relaxed_dot_i8x16_i7x16_s(x1, h0)),
        i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, l1), i16x8.relaxed_dot_i8x16_i7x16_s(x1, h1)),
        i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, l2), i16x8.relaxed_dot_i8x16_i7x16_s(x1, h2)),
        i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, l3), i16x8.relaxed_dot_i8x16_i7x16_s(x1, h3))),
        v128.load32_splat(qs + p));
      v128.store(a, madd(f32x4.convert_i32x4_s(d), f32x4.mul(ws, v128.load32_splat(xs + p)), v128.load(a)));
      q += 32;
      p += 4;
      a += 16;
    }
  }
}

/**
 * The quantized activations (quant.ts `quantize`: xq [n][nb][32] i8, xs and qs [n][nb]) in token-minor
 * order at dst: xq [nb][n][32], then xs [nb][n], then qs [nb][n], so a tile reads the tokens of one
 * block as one short sequential run. dst: `tileScratch` bytes less the accumulators.
 */
function transposeQ(dst: usize, xq: usize, xs: usize, qs: usize, n: i32, nb: i32): void {
  const dxs = dst + (<usize>(n * nb) << 5), dqs = dxs + (<usize>(n * nb) << 2);
  for (let t = 0; t < n; t++) {
    for (let b = 0; b < nb; b++) {
      const s = <usize>(t * nb + b), d = <usize>(b * n + t);
      v128.store(dst + (d << 5), v128.load(xq + (s << 5)));
      v128.store(dst + (d << 5), v128.load(xq + (s << 5), 16), 16);
      store<f32>(dxs + (d << 2), load<f32>(xs + (s << 2)));
      store<i32>(dqs + (d << 2), load<i32>(qs + (s << 2)));
    }
  }
}

/** tile4Fast for rows r..r+3 (a last group of 1 to 3 rows one row at a time, in lanes 0 to 2). */
function tile4(acc: usize, blocks: usize, scales: usize, r: i32, rows: i32, rowB: usize, rowS: usize,
  xq: usize, xs: usize, qs: usize, nb: i32, n: i32): void {
  if (r + 4 <= rows) {
    tile4Fast(acc, blocks + <usize>r * rowB, scales + <usize>r * rowS, false, xq, xs, qs, nb, n);
    return;
  }
  const row = acc + (<usize>n << 4); // scratch for one row's pass
  for (let i = 0; r + i < rows; i++) {
    tile4Fast(row, blocks + <usize>(r + i) * rowB, scales + <usize>(r + i) * rowS, true, xq, xs, qs, nb, n);
    for (let t = 0; t < n; t++) store<f32>(acc + (<usize>t << 4) + (<usize>i << 2), load<f32>(row + (<usize>t << 4)));
  }
}

/** Rows r..r+3 (r a multiple of 4), in the kernel layout. */
// @ts-ignore: decorator
@inline function dot4(blocks: usize, scales: usize, r: i32, rows: i32, rowB: usize, rowS: usize,
  x: usize, xs: usize, qs: usize, nb: i32, fast: bool): v128 {
  if (r + 4 > rows) return dot4Tail(blocks, scales, r, rows, rowB, rowS, x, xs, qs, nb, fast);
  const bp = blocks + <usize>r * rowB, sp = scales + <usize>r * rowS; // a group starts where its first row would
  return fast ? dot4Fast(bp, sp, false, x, xs, qs, nb) : dot4Exact(bp, sp, false, x, xs, nb);
}

/** The last 1 to 3 rows (row-major), one at a time, in lanes 0 to 2. */
function dot4Tail(blocks: usize, scales: usize, r: i32, rows: i32, rowB: usize, rowS: usize,
  x: usize, xs: usize, qs: usize, nb: i32, fast: bool): v128 {
  let res = f32x4.splat(0);
  for (let i = 0; r + i < rows; i++) {
    const bp = blocks + <usize>(r + i) * rowB, sp = scales + <usize>(r + i) * rowS;
    const v = f32x4.extract_lane(fast ? dot4Fast(bp, sp, true, x, xs, qs, nb) : dot4Exact(bp, sp, true, x, xs, nb), 0);
    if (i == 0) res = f32x4.replace_lane(res, 0, v);
    else if (i == 1) res = f32x4.replace_lane(res, 1, v);
    else res = f32x4.replace_lane(res, 2, v);
  }
  return res;
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

/** h + add[t, r] when there is an addend (add != 0: [n, 2 * astride] f32, a LoRA update), else h. */
// @ts-ignore: decorator
@inline function plus(h: f32, add: usize, t: i32, r: i32, astride: i32): f32 {
  return add ? h + load<f32>(add + (<usize>(t * 2 * astride + r) << 2)) : h;
}

/**
 * Gate/up projection of one expert with the clamped SwiGLU fused: for each of n tokens t and each
 * j < I, act[t, j] = swiglu(row 2j . x[t] + bias[2j] + add[t, 2j], row 2j+1 . x[t] + bias[2j+1] + add[t, 2j+1])
 * (add: 0 for none, else [n, 2 * astride] f32 offset like bias: a LoRA adapter's update).
 * Pointers are already offset to the expert. x: quant.ts's form for n == 1 (exact: `split`, fast:
 * `quantize`, with xs and qs) and for n > 1 in the relaxed build's fast (`quantize`); otherwise f32
 * [n, cols] deinterleaved by 32. act rows are `astride` floats apart (>= I: a thread computes a band of
 * a wider output). scratch: n * 2I * 4 + 4096 bytes, and at least n * (32 + 40 nb) + 256 (the relaxed
 * prefill tiles).
 */
export function mxfp4Up(act: usize, x: usize, xs: usize, qs: usize, blocks: usize, scales: usize, bias: usize,
  I: i32, cols: i32, n: i32, limit: f32, alpha: f32, fast: bool, scratch: usize, astride: i32, add: usize): void {
  const nb = cols >> 5;
  const rowB = <usize>nb << 4, rowS = <usize>nb;
  if (n == 1) {
    // weight rows 2j..2j+3 give [gate j, linear j, gate j+1, linear j+1]
    for (let j = 0; j < I; j += 2) {
      const v = dot4(blocks, scales, 2 * j, 2 * I, rowB, rowS, x, xs, qs, nb, fast);
      const o = bias + (<usize>j << 3);
      store<f32>(act + (<usize>j << 2), swiglu(plus(f32x4.extract_lane(v, 0) + load<f32>(o), add, 0, 2 * j, astride),
        plus(f32x4.extract_lane(v, 1) + load<f32>(o, 4), add, 0, 2 * j + 1, astride), limit, alpha));
      if (j + 1 < I) {
        store<f32>(act + (<usize>j << 2), swiglu(plus(f32x4.extract_lane(v, 2) + load<f32>(o, 8), add, 0, 2 * j + 2, astride),
          plus(f32x4.extract_lane(v, 3) + load<f32>(o, 12), add, 0, 2 * j + 3, astride), limit, alpha), 4);
      }
    }
    return;
  }
  if (RELAXED && fast) {
    // scratch: acc [n] f32x4 and as much again for tile4's last rows, then the transposed activations
    const acc = scratch, tq = scratch + (<usize>n << 5);
    transposeQ(tq, x, xs, qs, n, nb);
    const txs = tq + (<usize>(n * nb) << 5), tqs = txs + (<usize>(n * nb) << 2);
    for (let j = 0; j < I; j += 2) {
      tile4(acc, blocks, scales, 2 * j, 2 * I, rowB, rowS, tq, txs, tqs, nb, n);
      const o = bias + (<usize>j << 3);
      for (let t = 0; t < n; t++) {
        const v = v128.load(acc + (<usize>t << 4)), at = act + (<usize>(t * astride + j) << 2);
        store<f32>(at, swiglu(plus(f32x4.extract_lane(v, 0) + load<f32>(o), add, t, 2 * j, astride),
          plus(f32x4.extract_lane(v, 1) + load<f32>(o, 4), add, t, 2 * j + 1, astride), limit, alpha));
        if (j + 1 < I) {
          store<f32>(at, swiglu(plus(f32x4.extract_lane(v, 2) + load<f32>(o, 8), add, t, 2 * j + 2, astride),
            plus(f32x4.extract_lane(v, 3) + load<f32>(o, 12), add, t, 2 * j + 3, astride), limit, alpha), 4);
        }
      }
    }
    return;
  }
  const h = scratch, panel = scratch + (<usize>(n * 2 * I) << 2);
  fillBias(h, bias, 2 * I, n, 2 * I);
  gemm(h, 2 * I, x, n, MXFP4, blocks, scales, 2 * I, cols, panel);
  for (let t = 0; t < n; t++) {
    const ht = h + (<usize>(t * 2 * I) << 2), at = act + (<usize>(t * astride) << 2);
    for (let j = 0; j < I; j++) {
      store<f32>(at + (<usize>j << 2), swiglu(plus(load<f32>(ht + (<usize>j << 3)), add, t, 2 * j, astride),
        plus(load<f32>(ht + (<usize>j << 3), 4), add, t, 2 * j + 1, astride), limit, alpha));
    }
  }
}

/** y[i] = w * (v[i] + bias[i]) for the first min(4, left) lanes of v (rows past the last are not written). */
// @ts-ignore: decorator
@inline function storeWeighted(y: usize, w: f32, v: v128, bias: usize, left: i32): void {
  if (left >= 4) {
    v128.store(y, f32x4.mul(f32x4.splat(w), f32x4.add(v, v128.load(bias))));
    return;
  }
  store<f32>(y, w * (f32x4.extract_lane(v, 0) + load<f32>(bias)));
  if (left > 1) store<f32>(y, w * (f32x4.extract_lane(v, 1) + load<f32>(bias, 4)), 4);
  if (left > 2) store<f32>(y, w * (f32x4.extract_lane(v, 2) + load<f32>(bias, 8)), 8);
}

/**
 * Down projection of one expert, weighted: y[t, r] = weight[t] * (row r . a[t] + bias[r]) for n tokens,
 * r < rows. a as x in mxfp4Up. y: f32 [n, ystride floats] (ystride >= rows); weight: f32 [n].
 * scratch: 4096 bytes, and at least n * (32 + 40 nb) + 256 for n > 1 (the relaxed prefill tiles).
 */
export function mxfp4Down(y: usize, a: usize, as: usize, qs: usize, blocks: usize, scales: usize, bias: usize,
  rows: i32, cols: i32, n: i32, weight: usize, fast: bool, scratch: usize, ystride: i32): void {
  const nb = cols >> 5;
  const rowB = <usize>nb << 4, rowS = <usize>nb;
  if (n == 1) {
    const w = load<f32>(weight);
    for (let r = 0; r < rows; r += 4) {
      const v = dot4(blocks, scales, r, rows, rowB, rowS, a, as, qs, nb, fast);
      storeWeighted(y + (<usize>r << 2), w, v, bias + (<usize>r << 2), rows - r);
    }
    return;
  }
  if (RELAXED && fast) {
    const acc = scratch, tq = scratch + (<usize>n << 5); // as in mxfp4Up
    transposeQ(tq, a, as, qs, n, nb);
    const txs = tq + (<usize>(n * nb) << 5), tqs = txs + (<usize>(n * nb) << 2);
    for (let r = 0; r < rows; r += 4) {
      tile4(acc, blocks, scales, r, rows, rowB, rowS, tq, txs, tqs, nb, n);
      for (let t = 0; t < n; t++) {
        storeWeighted(y + (<usize>(t * ystride + r) << 2), load<f32>(weight + (<usize>t << 2)), v128.load(acc + (<usize>t << 4)),
          bias + (<usize>r << 2), rows - r);
      }
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

/**
 * Rearranges `experts` matrices of `rows` rows x nb units (16 bytes each for blocks, 1 for scales)
 * at p from the checkpoint's row-major order into the kernel layout (see the top), in place. tmp:
 * 4 * nb * unit bytes.
 */
export function interleave4(p: usize, experts: i32, rows: i32, nb: i32, unit: i32, tmp: usize): void {
  const rowBytes = <usize>nb * unit, groupBytes = rowBytes << 2;
  for (let e = 0; e < experts; e++) {
    const m = p + <usize>e * rows * rowBytes;
    for (let g = 0; g + 4 <= rows; g += 4) {
      const src = m + <usize>g * rowBytes;
      memory.copy(tmp, src, groupBytes);
      for (let i = 0; i < 4; i++) {
        const row = tmp + <usize>i * rowBytes;
        if (unit == 16) {
          for (let b = 0; b < nb; b++) v128.store(src + (<usize>(4 * b + i) << 4), v128.load(row + (<usize>b << 4)));
        } else {
          for (let b = 0; b < nb; b++) store<u8>(src + <usize>(4 * b + i), load<u8>(row + <usize>b));
        }
      }
    }
  }
}
