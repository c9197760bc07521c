// Matrix x matrix for prefill, shared by the bf16 matmul and the MXFP4 experts:
//   out[t, r] += sum_c W[r, c] x[t, c]      (t < T, r < rows, c < cols)
//
// The weights are decoded once, KC columns of 4 rows at a time, into a small f32 panel (4 KB, stays
// in L1), and the panel is multiplied with every token in register tiles of 4 rows x 2 tokens
// (8 accumulators, each weight vector used twice and each activation vector four times). The panel
// is stored step-major, [KC / 4][4 rows][4 columns], so the inner loop reads it through one pointer
// with constant offsets (V8 otherwise spends an address computation on every load). Columns are
// blocked by KC so the tokens' block of x (T * KC floats) stays in L2 while the row panels stream by.
// Each weight is decoded once per call, however many tokens there are.
//
// Weight formats (`kind`):
//   BF16:  w = bf16 rows [rows, cols]; x in natural column order; cols % 4 columns are the caller's.
//   MXFP4: w = blocks [rows, cols/32, 16], s = scales [rows, cols/32] in the kernel layout of mxfp4.ts
//          (rows in block-interleaved groups of four); x deinterleaved by 32 (evens then odds per
//          block, the order the codes decode in); cols % 32 == 0.
import { e8m0, hsum, lookup, madd } from "./simd";
import { C_FP4X2, C_NIBBLE } from "./consts";

export const BF16: i32 = 0;
export const MXFP4: i32 = 1;

/** Columns per cache block (a multiple of 32). */
const KC = 256;

/** Panel rows 0..3 of W, columns [k0, k1), as f32 [(k1 - k0) / 4][4 rows][4] at p: columns c..c+3
 * of row i at p + ((c - k0) / 4) * 64 + i * 16. Rows past `rows` are zero. */
function decodePanel(p: usize, kind: i32, w: usize, s: usize, r0: i32, rows: i32, cols: i32, k0: i32, k1: i32): void {
  for (let i = 0; i < 4; i++) {
    const dst = p + (<usize>i << 4);
    const r = r0 + i;
    if (r >= rows) {
      for (let c = k0; c < k1; c += 4) v128.store(dst + (<usize>(c - k0) << 4), f32x4.splat(0));
      continue;
    }
    if (kind == BF16) {
      const src = w + (<usize>r * cols << 1);
      for (let c = k0; c < k1; c += 8) {
        const v = v128.load(src + (<usize>c << 1));
        const d = dst + (<usize>(c - k0) << 4);
        v128.store(d, i32x4.shl(i32x4.extend_low_i16x8_u(v), 16));
        v128.store(d, i32x4.shl(i32x4.extend_high_i16x8_u(v), 16), 64);
      }
    } else {
      const nib = v128.load(C_NIBBLE), table = v128.load(C_FP4X2);
      const nb = cols >> 5;
      // MXFP4 rows are in the kernel layout (mxfp4.ts): groups of four block-interleaved, the last
      // rows % 4 row-major. u: the index of (row r, block b) in 16-byte blocks and in scale bytes.
      const full = r0 + 4 <= rows;
      for (let b = k0 >> 5; b < k1 >> 5; b++) {
        const u = full ? (<usize>r0 * nb + (<usize>b << 2) + i) : <usize>r * nb + b;
        const v = v128.load(w + (u << 4));
        const sc = f32x4.splat(e8m0(load<u8>(s + u)) * 0.5);
        const lo = lookup(table, v128.and(v, nib)), hi = lookup(table, v128.and(i16x8.shr_u(v, 4), nib));
        const l0 = i16x8.extend_low_i8x16_s(lo), l1 = i16x8.extend_high_i8x16_s(lo);
        const h0 = i16x8.extend_low_i8x16_s(hi), h1 = i16x8.extend_high_i8x16_s(hi);
        const d = dst + (<usize>((b << 5) - k0) << 4);
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(l0)), sc));
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(l0)), sc), 64);
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(l1)), sc), 128);
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(l1)), sc), 192);
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h0)), sc), 256);
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h0)), sc), 320);
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h1)), sc), 384);
        v128.store(d, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h1)), sc), 448);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function add4(o: usize, n: i32, a: f32, b: f32, c: f32, d: f32): void {
  store<f32>(o, load<f32>(o) + a);
  if (n > 1) store<f32>(o, load<f32>(o, 4) + b, 4);
  if (n > 2) store<f32>(o, load<f32>(o, 8) + c, 8);
  if (n > 3) store<f32>(o, load<f32>(o, 12) + d, 12);
}

/**
 * out [T, ostride floats] += W x. x: [T, cols] f32. panel: 4 * KC * 4 bytes of scratch.
 * Only columns [0, cols & ~3) are done (bf16 callers add the rest).
 */
export function gemm(out: usize, ostride: i32, x: usize, T: i32, kind: i32, w: usize, s: usize,
  rows: i32, cols: i32, panel: usize): void {
  const c4 = cols & ~3;
  const xs = <usize>cols << 2, os = <usize>ostride << 2;
  for (let k0 = 0; k0 < c4; k0 += KC) {
    const k1 = min(k0 + KC, c4);
    for (let r0 = 0; r0 < rows; r0 += 4) {
      const nr = min(4, rows - r0);
      decodePanel(panel, kind, w, s, r0, rows, cols, k0, k1);
      let t = 0;
      for (; t + 2 <= T; t += 2) {
        const x0 = x + <usize>t * xs + (<usize>k0 << 2), x1 = x0 + xs;
        let a00 = f32x4.splat(0), a10 = f32x4.splat(0), a20 = f32x4.splat(0), a30 = f32x4.splat(0);
        let a01 = f32x4.splat(0), a11 = f32x4.splat(0), a21 = f32x4.splat(0), a31 = f32x4.splat(0);
        const end = panel + (<usize>(k1 - k0) << 4);
        let xa = x0, xb = x1;
        for (let pp = panel; pp < end; pp += 64) {
          const u = v128.load(xa), v = v128.load(xb);
          let wr = v128.load(pp);
          a00 = madd(wr, u, a00);
          a01 = madd(wr, v, a01);
          wr = v128.load(pp, 16);
          a10 = madd(wr, u, a10);
          a11 = madd(wr, v, a11);
          wr = v128.load(pp, 32);
          a20 = madd(wr, u, a20);
          a21 = madd(wr, v, a21);
          wr = v128.load(pp, 48);
          a30 = madd(wr, u, a30);
          a31 = madd(wr, v, a31);
          xa += 16;
          xb += 16;
        }
        const o0 = out + <usize>t * os + (<usize>r0 << 2);
        add4(o0, nr, hsum(a00), hsum(a10), hsum(a20), hsum(a30));
        add4(o0 + os, nr, hsum(a01), hsum(a11), hsum(a21), hsum(a31));
      }
      for (; t < T; t++) {
        const x0 = x + <usize>t * xs + (<usize>k0 << 2);
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        const end = panel + (<usize>(k1 - k0) << 4);
        let xa = x0;
        for (let pp = panel; pp < end; pp += 64) {
          const u = v128.load(xa);
          a0 = madd(v128.load(pp), u, a0);
          a1 = madd(v128.load(pp, 16), u, a1);
          a2 = madd(v128.load(pp, 32), u, a2);
          a3 = madd(v128.load(pp, 48), u, a3);
          xa += 16;
        }
        add4(out + <usize>t * os + (<usize>r0 << 2), nr, hsum(a0), hsum(a1), hsum(a2), hsum(a3));
      }
    }
  }
}
