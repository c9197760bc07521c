// The int8 form of the dense bf16 matrices a token step streams (attention qkv and out, the
// unembedding), which `fast` with 8-bit activations reads instead of bf16: 1.125 bytes per weight
// against bf16's 2. Loaded in `fast`, the model holds only this form (the bf16 bytes are not kept).
//
// Layout (`q8Pack`): rows padded with zeros to a multiple of 4; each group of four rows is
// block-interleaved like the MXFP4 kernel layout: codes [groups][nb][4 rows][32] u8 and scales
// [groups][nb][4 rows] bf16, nb = cols / 32: 34 bytes per 32 weights, as llama.cpp's q8_0 (whose scale
// is f16). A scale s is 2 m / 63 rounded to bf16, m = max |w| over the 32-block (the 2 undoes the 1/2
// that `quantize` folds into its activation scales for the MXFP4 table); a code is round(2 w / s) + 64,
// in 1..127 (7 bits, so it is the unsigned operand of `relaxed_dot_i8x16_i7x16_s`): w ~ (code - 64) s / 2.
// Each block's 32 codes are stored evens then odds, the column order in which quant.ts `quantize`
// stores the activations.
//
// Matmul (`q8Matmul`, decode and prefill): four rows per pass, one integer dot product per 32-block and
// row against the quantized activations (int8 in the relaxed build, int16 in the baseline), the four
// rows' block sums reduced together, the +64 offset removed with the block's 64 * sum(q) (`sums`, from
// the host).
import { madd, sum4 } from "./simd";
import { store8 } from "./quant";

/** Integer partial sums (i32x4) of one row's block (32 codes at c) with the quantized activations at q. */
// @ts-ignore: decorator
@inline function rowBlock(c: usize, q: usize): v128 {
  const lo = v128.load(c), hi = v128.load(c, 16);
  if (ASC_FEATURE_RELAXED_SIMD) {
    // i16 pair sums of i8 x u7 products: at most 2 * 127 * 127 = 32258, no saturation; widened at once
    return i32x4.add(i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(q), lo)),
      i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(q, 16), hi)));
  }
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(lo), v128.load(q)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(lo), v128.load(q, 16))),
    i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(hi), v128.load(q, 32)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(hi), v128.load(q, 48))));
}

/**
 * out[t, r] = W[r] . x[t] for r < rows (a band: codes and scales point at its first group) and t < n.
 * x as quant.ts `quantize` leaves it: xq [n][nb][32] (i8 relaxed, i16 baseline), xs [n][nb]; sums
 * [n][nb] i32 = 64 * sum(q). out rows are `ostride` floats apart. Each group of four rows stays in the
 * cache while every token passes over it, so prefill reads the weights once (decode is n = 1).
 */
export function q8Matmul(out: usize, xq: usize, xs: usize, sums: usize, codes: usize, scales: usize, rows: i32, cols: i32,
  n: i32, ostride: i32): void {
  const nb = cols >> 5;
  const qb: usize = ASC_FEATURE_RELAXED_SIMD ? 32 : 64; // bytes of one quantized activation block
  for (let r = 0; r < rows; r += 4) {
    const cg = codes + <usize>(r >> 2) * nb * 128, sg = scales + <usize>(r >> 2) * nb * 8;
    for (let t = 0; t < n; t++) {
      const xt = xq + <usize>t * nb * qb, st = <usize>t * nb << 2;
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const c = cg + (<usize>b << 7), q = xt + <usize>b * qb;
        const d = i32x4.sub(sum4(rowBlock(c, q), rowBlock(c + 32, q), rowBlock(c + 64, q), rowBlock(c + 96, q)),
          v128.load32_splat(sums + st + (<usize>b << 2)));
        const ws = i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(sg + (<usize>b << 3))), 16); // four bf16 scales as f32
        acc = madd(f32x4.convert_i32x4_s(d), f32x4.mul(ws, v128.load32_splat(xs + st + (<usize>b << 2))), acc);
      }
      const o = out + ((<usize>t * ostride + r) << 2);
      if (r + 4 <= rows) {
        v128.store(o, acc);
      } else {
        store<f32>(o, f32x4.extract_lane(acc, 0));
        if (r + 1 < rows) store<f32>(o, f32x4.extract_lane(acc, 1), 4);
        if (r + 2 < rows) store<f32>(o, f32x4.extract_lane(acc, 2), 8);
      }
    }
  }
}

/** x rounded to the nearest bf16 (ties to even), as an f32 (x finite and >= 0). */
function bf16Round(x: f32): f32 {
  const b = reinterpret<u32>(x);
  return reinterpret<f32>((b + 0x7fff + ((b >> 16) & 1)) & 0xffff0000);
}

/**
 * Packs bf16 rows r0 .. r1 - 1 of a matrix of `cols` columns (cols % 32 == 0; w points at row r0)
 * into their places in the layout above (codes and scales: the whole form's). Rows are independent,
 * so any split of the rows gives the same bytes. The padding rows of the last group are never
 * written: zero codes with a zero scale add nothing, and their outputs are not stored.
 */
export function q8Pack(codes: usize, scales: usize, w: usize, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const absMask = i32x4.splat(0x7fffffff);
  for (let r = r0; r < r1; r++) {
    const g = r >> 2, i = r & 3;
    for (let b = 0; b < nb; b++) {
      const u = <usize>((g * nb + b) * 4 + i);
      const dst = codes + (u << 5);
      const src = w + ((<usize>(r - r0) * cols + (<usize>b << 5)) << 1);
      // the block's 32 bf16 as eight f32x4 (columns 0-3, 4-7, ...)
      const h0 = v128.load(src), h1 = v128.load(src, 16), h2 = v128.load(src, 32), h3 = v128.load(src, 48);
      const v0 = i32x4.shl(i32x4.extend_low_i16x8_u(h0), 16), v1 = i32x4.shl(i32x4.extend_high_i16x8_u(h0), 16);
      const v2 = i32x4.shl(i32x4.extend_low_i16x8_u(h1), 16), v3 = i32x4.shl(i32x4.extend_high_i16x8_u(h1), 16);
      const v4 = i32x4.shl(i32x4.extend_low_i16x8_u(h2), 16), v5 = i32x4.shl(i32x4.extend_high_i16x8_u(h2), 16);
      const v6 = i32x4.shl(i32x4.extend_low_i16x8_u(h3), 16), v7 = i32x4.shl(i32x4.extend_high_i16x8_u(h3), 16);
      // max |w|: the bit patterns of |w| order like the values (and an integer max is one instruction)
      let a = i32x4.max_s(i32x4.max_s(v128.and(v0, absMask), v128.and(v1, absMask)), i32x4.max_s(v128.and(v2, absMask), v128.and(v3, absMask)));
      a = i32x4.max_s(a, i32x4.max_s(i32x4.max_s(v128.and(v4, absMask), v128.and(v5, absMask)), i32x4.max_s(v128.and(v6, absMask), v128.and(v7, absMask))));
      a = i32x4.max_s(a, i32x4.shuffle(a, a, 2, 3, 0, 1));
      const m = reinterpret<f32>(max(i32x4.extract_lane(a, 0), i32x4.extract_lane(a, 1)));
      const s = bf16Round(2 * m / 63);
      const inv = f32x4.splat(s > 0 ? 2 / s : 0);
      const q0 = code(v0, inv), q1 = code(v1, inv), q2 = code(v2, inv), q3 = code(v3, inv);
      const q4 = code(v4, inv), q5 = code(v5, inv), q6 = code(v6, inv), q7 = code(v7, inv);
      store8(dst, q0, q1, q2, q3, q4, q5, q6, q7, true); // evens then odds, as `quantize` orders the activations
      store<u16>(scales + (u << 1), <u16>(reinterpret<u32>(s) >> 16));
    }
  }
}

/** Codes of four weights: round(w * inv) (ties to even: adding 1.5 * 2^23 leaves the rounded integer in
 * the low mantissa bits, as quant.ts does) clamped to -63..63 (a scale rounded down can give 63.x), plus 64. */
// @ts-ignore: decorator
@inline function code(v: v128, inv: v128): v128 {
  const q = i32x4.sub(f32x4.add(f32x4.mul(v, inv), f32x4.splat(12582912)), i32x4.splat(0x4b400000));
  return i32x4.add(i32x4.min_s(i32x4.max_s(q, i32x4.splat(-63)), i32x4.splat(63)), i32x4.splat(64));
}
