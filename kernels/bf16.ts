// bf16-weight matrix products: out[t, r] = sum_c W[r, c] x[t, c] + bias[r].
//
// Layout: W is row-major bf16 [rows, cols] exactly as in the checkpoint (no repacking). The activations
// arrive deinterleaved in groups of 8 (see simd.ts `deinterleave`): [x0 x2 x4 x6 | x1 x3 x5 x7], because
// one 16-byte load of W holds 8 bf16 words and, read as four 32-bit lanes, `lane << 16` is the f32 of
// the even words and `lane & 0xffff0000` the f32 of the odd words: two instructions decode 8 weights.
// The last cols % 8 columns are done in scalar code.
//
// Decode (T = 1) streams W once, four rows at a time (the rows are adjacent, so this is one sequential
// stream that the prefetchers follow). Prefill (T > 1) is gemm.ts, with x in natural order.
import { hsum, madd } from "./simd";
import { C_HIGH16 } from "./consts";
import { BF16, gemm } from "./gemm";

// @ts-ignore: decorator
@inline function even(w: v128): v128 {
  return i32x4.shl(w, 16);
}
// @ts-ignore: decorator
@inline function odd(w: v128, high: v128): v128 {
  return v128.and(w, high);
}
// @ts-ignore: decorator
@inline function bf16(p: usize): f32 {
  return reinterpret<f32>(<u32>load<u16>(p) << 16);
}

/** One row of W (at w) dotted with one deinterleaved x, columns [c0, c1) (c0, c1 multiples of 8). */
// @ts-ignore: decorator
@inline function dot1(w: usize, x: usize, c0: i32, c1: i32): v128 {
  const high = v128.load(C_HIGH16);
  let a = f32x4.splat(0), b = f32x4.splat(0);
  for (let c = c0; c < c1; c += 8) {
    const v = v128.load(w + (<usize>c << 1));
    const xp = x + (<usize>c << 2);
    a = madd(even(v), v128.load(xp), a);
    b = madd(odd(v, high), v128.load(xp, 16), b);
  }
  return f32x4.add(a, b);
}

/** Scalar tail: columns [c0, cols) are in natural order. */
// @ts-ignore: decorator
@inline function tail(w: usize, x: usize, c0: i32, cols: i32): f32 {
  let s: f32 = 0;
  for (let c = c0; c < cols; c++) s += bf16(w + (<usize>c << 1)) * load<f32>(x + (<usize>c << 2));
  return s;
}

/** Decode: out[r] = W[r] . x + bias[r]. x deinterleaved by 8; bias may be 0 (none). */
export function bf16Matvec(out: usize, x: usize, w: usize, bias: usize, rows: i32, cols: i32): void {
  const c8 = cols & ~7;
  const stride = <usize>cols << 1;
  const high = v128.load(C_HIGH16);
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const w0 = w + <usize>r * stride, w1 = w0 + stride, w2 = w1 + stride, w3 = w2 + stride;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    for (let c = 0; c < c8; c += 8) {
      const o = <usize>c << 1, xp = x + (<usize>c << 2);
      const xe = v128.load(xp), xo = v128.load(xp, 16);
      const v0 = v128.load(w0 + o), v1 = v128.load(w1 + o), v2 = v128.load(w2 + o), v3 = v128.load(w3 + o);
      a0 = f32x4.add(a0, madd(even(v0), xe, f32x4.mul(odd(v0, high), xo)));
      a1 = f32x4.add(a1, madd(even(v1), xe, f32x4.mul(odd(v1, high), xo)));
      a2 = f32x4.add(a2, madd(even(v2), xe, f32x4.mul(odd(v2, high), xo)));
      a3 = f32x4.add(a3, madd(even(v3), xe, f32x4.mul(odd(v3, high), xo)));
    }
    const o = out + (<usize>r << 2);
    store<f32>(o, hsum(a0) + tail(w0, x, c8, cols) + (bias ? load<f32>(bias + (<usize>r << 2)) : 0));
    store<f32>(o, hsum(a1) + tail(w1, x, c8, cols) + (bias ? load<f32>(bias + (<usize>r << 2), 4) : 0), 4);
    store<f32>(o, hsum(a2) + tail(w2, x, c8, cols) + (bias ? load<f32>(bias + (<usize>r << 2), 8) : 0), 8);
    store<f32>(o, hsum(a3) + tail(w3, x, c8, cols) + (bias ? load<f32>(bias + (<usize>r << 2), 12) : 0), 12);
  }
  for (; r < rows; r++) {
    const wr = w + <usize>r * stride;
    store<f32>(out + (<usize>r << 2), hsum(dot1(wr, x, 0, c8)) + tail(wr, x, c8, cols) + (bias ? load<f32>(bias + (<usize>r << 2)) : 0));
  }
}

/**
 * Prefill: out[t, r] = W[r] . x[t] + bias[r] for T tokens (gemm.ts). x: [T, cols] in natural order.
 * out: [T, ostride floats] (ostride >= rows: a thread computes a band of rows of a wider output).
 * panel: gemm's scratch.
 */
export function bf16Matmul(out: usize, x: usize, w: usize, bias: usize, rows: i32, cols: i32, T: i32, ostride: i32, panel: usize): void {
  const c4 = cols & ~3;
  const wstride = <usize>cols << 1, xstride = <usize>cols << 2, os = <usize>ostride << 2;
  // Start from the bias and the scalar tail columns; gemm adds the rest.
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < rows; r++) {
      const b: f32 = bias ? load<f32>(bias + (<usize>r << 2)) : 0;
      store<f32>(out + <usize>t * os + (<usize>r << 2), b + tail(w + <usize>r * wstride, x + <usize>t * xstride, c4, cols));
    }
  }
  gemm(out, ostride, x, T, BF16, w, 0, rows, cols, panel);
}

/** out[t, :] = table[tokens[t], :] widened to f32. tokens: i32 [T]. */
export function bf16Embed(out: usize, table: usize, tokens: usize, T: i32, cols: i32): void {
  const c8 = cols & ~7;
  for (let t = 0; t < T; t++) {
    const row = table + <usize>load<i32>(tokens + (<usize>t << 2)) * (<usize>cols << 1);
    const o = out + <usize>t * (<usize>cols << 2);
    for (let c = 0; c < c8; c += 8) {
      const v = v128.load(row + (<usize>c << 1));
      v128.store(o + (<usize>c << 2), i32x4.shl(i32x4.extend_low_i16x8_u(v), 16));
      v128.store(o + (<usize>c << 2), i32x4.shl(i32x4.extend_high_i16x8_u(v), 16), 16);
    }
    for (let c = c8; c < cols; c++) store<f32>(o + (<usize>c << 2), bf16(row + (<usize>c << 1)));
  }
}
