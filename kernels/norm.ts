// RMSNorm. Like RoPE and the router's top-k it touches only activations (a few KB per token), so it
// is a plain loop, vectorized where it is free; n % 4 tails are scalar.
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
