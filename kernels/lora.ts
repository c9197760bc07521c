// A LoRA adapter's low-rank product (src/lora/): out[t] = B (A x[t]) for n rows, from A [rank, cols]
// and Bᵀ [rank, rows] in f32 (the scale already in Bᵀ, src/lora/weights.ts). Both halves stream whole
// rows: u = A x is `rank` dot products, then out = Σ_k u_k Bᵀ[k] adds scaled rows of Bᵀ into an
// output row that stays in L1. Beside the matrix it adapts this is small (rank 16 against thousands of
// rows), so it runs on the calling thread.
import { hsum, madd } from "./simd";

/** out [n, rows] = B (A x) for x [n, cols]; u: rank floats of scratch. */
export function lowRank(out: usize, x: usize, a: usize, b: usize, u: usize, rank: i32, cols: i32, rows: i32, n: i32): void {
  const c8 = cols & ~7, r4 = rows & ~3;
  for (let t = 0; t < n; t++) {
    const xt = x + (<usize>t * cols << 2), ot = out + (<usize>t * rows << 2);
    for (let k = 0; k < rank; k++) {
      const ak = a + (<usize>k * cols << 2);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      for (let c = 0; c < c8; c += 8) {
        const o = <usize>c << 2;
        s0 = madd(v128.load(ak + o), v128.load(xt + o), s0);
        s1 = madd(v128.load(ak + o, 16), v128.load(xt + o, 16), s1);
      }
      let s = hsum(f32x4.add(s0, s1));
      for (let c = c8; c < cols; c++) s += load<f32>(ak + (<usize>c << 2)) * load<f32>(xt + (<usize>c << 2));
      store<f32>(u + (<usize>k << 2), s);
    }
    memory.fill(ot, 0, <usize>rows << 2);
    for (let k = 0; k < rank; k++) {
      const bk = b + (<usize>k * rows << 2), uk = load<f32>(u + (<usize>k << 2)), u4 = f32x4.splat(uk);
      for (let o = 0; o < r4; o += 4) {
        const p = ot + (<usize>o << 2);
        v128.store(p, madd(u4, v128.load(bk + (<usize>o << 2)), v128.load(p)));
      }
      for (let o = r4; o < rows; o++) {
        const p = ot + (<usize>o << 2);
        store<f32>(p, load<f32>(p) + uk * load<f32>(bk + (<usize>o << 2)));
      }
    }
  }
}
