// The small per-token kernels: RMSNorm, RoPE and the router's top-k. They touch only activations
// (a few KB per token), so they are plain loops, vectorized where it is free; n % 4 tails are scalar.
import { hsum } from "./simd";

/** out[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * scale  (x, out: [T, n]; may alias) */
export function rmsnorm(out: usize, x: usize, scale: usize, eps: f32, T: i32, n: i32): void {
  const n4 = n & ~3;
  for (let t = 0; t < T; t++) {
    const xr = x + (<usize>(t * n) << 2), orow = out + (<usize>(t * n) << 2);
    let a = f32x4.splat(0), b = f32x4.splat(0);
    let i = 0;
    for (; i + 8 <= n4; i += 8) {
      const u = v128.load(xr + (<usize>i << 2)), w = v128.load(xr + (<usize>i << 2), 16);
      a = f32x4.add(a, f32x4.mul(u, u));
      b = f32x4.add(b, f32x4.mul(w, w));
    }
    for (; i < n4; i += 4) {
      const u = v128.load(xr + (<usize>i << 2));
      a = f32x4.add(a, f32x4.mul(u, u));
    }
    let ss = hsum(f32x4.add(a, b));
    for (i = n4; i < n; i++) {
      const u = load<f32>(xr + (<usize>i << 2));
      ss += u * u;
    }
    const r = <f32>(1 / Math.sqrt(<f64>ss / n + eps));
    const rv = f32x4.splat(r);
    for (i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      v128.store(orow + o, f32x4.mul(f32x4.mul(v128.load(xr + o), rv), v128.load(scale + o)));
    }
    for (i = n4; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(orow + o, load<f32>(xr + o) * r * load<f32>(scale + o));
    }
  }
}

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

/**
 * Per token: the k largest of E logits in descending order (ties to the lower index) and the softmax
 * over those k. logits [T, E]; index i32 [T, k]; weight [T, k].
 */
export function topk(index: usize, weight: usize, logits: usize, T: i32, E: i32, k: i32): void {
  for (let t = 0; t < T; t++) {
    const row = logits + (<usize>(t * E) << 2);
    const ix = index + (<usize>(t * k) << 2), wt = weight + (<usize>(t * k) << 2);
    for (let j = 0; j < k; j++) {
      let best = -1;
      let bv: f32 = 0;
      for (let e = 0; e < E; e++) {
        let taken = false;
        for (let i = 0; i < j; i++) if (load<i32>(ix + (<usize>i << 2)) == e) taken = true;
        if (taken) continue;
        const v = load<f32>(row + (<usize>e << 2));
        if (best < 0 || v > bv) {
          best = e;
          bv = v;
        }
      }
      store<i32>(ix + (<usize>j << 2), best);
    }
    // softmax in f64, rounded once, like the reference (so hooks recomputing it in JS agree bitwise)
    const mx = <f64>load<f32>(row + (<usize>load<i32>(ix) << 2));
    let sum: f64 = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(<f64>load<f32>(row + (<usize>load<i32>(ix + (<usize>j << 2)) << 2)) - mx);
    for (let j = 0; j < k; j++) {
      const e = Math.exp(<f64>load<f32>(row + (<usize>load<i32>(ix + (<usize>j << 2)) << 2)) - mx);
      store<f32>(wt + (<usize>j << 2), <f32>(e / sum));
    }
  }
}
