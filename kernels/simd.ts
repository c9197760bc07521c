// SIMD helpers shared by the kernels. Everything here is inlined; with relaxed SIMD enabled at compile
// time (the second build), `madd` becomes a fused multiply-add and table lookups skip the bounds fix-up
// that plain `i8x16.swizzle` costs on x86 (our indices are always 0..15, so both give the same bytes).

/** a * b + c, lane-wise (fused when the relaxed build runs on hardware with FMA). */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** table[idx[i]] for each byte, idx in 0..15. */
// @ts-ignore: decorator
@inline export function lookup(table: v128, idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i8x16.relaxed_swizzle(table, idx);
  return i8x16.swizzle(table, idx);
}

/** The four lane sums of each of d0..d3, as one vector [sum d0, sum d1, sum d2, sum d3] (i32 lanes). */
// @ts-ignore: decorator
@inline export function sum4(d0: v128, d1: v128, d2: v128, d3: v128): v128 {
  const a = i32x4.add(i32x4.shuffle(d0, d1, 0, 4, 1, 5), i32x4.shuffle(d0, d1, 2, 6, 3, 7));
  const b = i32x4.add(i32x4.shuffle(d2, d3, 0, 4, 1, 5), i32x4.shuffle(d2, d3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(a, b, 0, 1, 4, 5), i32x4.shuffle(a, b, 2, 3, 6, 7));
}

/** The sum of the four f32 lanes. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** 2^(s-127) of one E8M0 byte, built from its bits (s = 0 gives 0 instead of the denormal 2^-127). */
// @ts-ignore: decorator
@inline export function e8m0(s: u32): f32 {
  return reinterpret<f32>(s << 23);
}

/** Splits the 4k floats at src into evens then odds for each group of `group` (8 or 32) floats:
 * [x0 x2 x4 ... x1 x3 x5 ...], the order in which the weight kernels decode their columns.
 * The last cols % group floats are copied as they are. */
export function deinterleave(dst: usize, src: usize, rows: i32, cols: i32, group: i32): void {
  const full = cols - cols % group;
  const half = <usize>group << 1; // bytes of group/2 floats
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>r * cols << 2), d = dst + (<usize>r * cols << 2);
    for (let c = 0; c < full; c += group) {
      const sp = s + (<usize>c << 2), dp = d + (<usize>c << 2);
      for (let j = 0; j < group; j += 8) {
        const a = v128.load(sp + (<usize>j << 2)), b = v128.load(sp + (<usize>j << 2), 16);
        v128.store(dp + (<usize>j << 1), i32x4.shuffle(a, b, 0, 2, 4, 6));
        v128.store(dp + half + (<usize>j << 1), i32x4.shuffle(a, b, 1, 3, 5, 7));
      }
    }
    for (let c = full; c < cols; c++) store<f32>(d + (<usize>c << 2), load<f32>(s + (<usize>c << 2)));
  }
}
