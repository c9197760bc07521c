// Rotary position embedding applied to the queries or keys (the host computes the cos/sin tables). A
// plain loop over activations, vectorized over the pairs; half % 4 tails are scalar.

/** Rotates each head of x [T, heads * d] in place, pairs (i, i + d/2); cos, sin [T, d/2]. */
export function rope(x: usize, cos: usize, sin: usize, T: i32, heads: i32, d: i32): void {
  const half = d >> 1, h4 = half & ~3;
  for (let t = 0; t < T; t++) {
    const ct = cos + (<usize>(t * half) << 2), st = sin + (<usize>(t * half) << 2);
    for (let h = 0; h < heads; h++) {
      const p = x + (<usize>((t * heads + h) * d) << 2), p2 = p + (<usize>half << 2);
      for (let i = 0; i < h4; i += 4) {
        const o = <usize>i << 2;
        const c = v128.load(ct + o), s = v128.load(st + o);
        const x1 = v128.load(p + o), x2 = v128.load(p2 + o);
        v128.store(p + o, f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s)));
        v128.store(p2 + o, f32x4.add(f32x4.mul(x2, c), f32x4.mul(x1, s)));
      }
      for (let i = h4; i < half; i++) {
        const o = <usize>i << 2;
        const c = load<f32>(ct + o), s = load<f32>(st + o);
        const x1 = load<f32>(p + o), x2 = load<f32>(p2 + o);
        store<f32>(p + o, x1 * c - x2 * s);
        store<f32>(p2 + o, x2 * c + x1 * s);
      }
    }
  }
}
