// Attention of one query position over n visible positions, with per-head sinks (gpt-oss).
//
// Layout: q, out [nq, d]. The n keys (and values) are read where they live, in position order: the
// first `nr` from the KV cache's ring (rows start, start + 1, ... of `cap` rows at k, v, wrapping to
// row 0; ring rows `rstride` floats apart, KV head g at g * rhead floats), the rest from the chunk being
// run (rows 0, 1, ... at ck, cv; `stride` floats apart, KV head g at g * d floats). The wasm backend's
// cache is head-major (rstride = d, rhead = cap * d), so one head's rows are contiguous; rows copied
// from elsewhere are position-major like the chunk's. Query head h reads KV head h / (nq / nkv). Scores are
// q.k / sqrt(d); the sink logit of head h joins only the softmax denominator. scores: scratch of
// (nq / nkv) * n f32, then BLOCK pointers and nq / nkv f32 (`attentionScratch` in
// src/backends/wasm/jobs.ts). A call
// for some of the heads (a thread's share of a chunk) passes pointers offset to its first head, its
// own head counts, and the full row `stride` (>= nkv * d).
//
// The heads sharing a KV head read its rows together, BLOCK keys at a time: a block's keys (or values)
// are read from memory once and stay in L1 while every head of the group uses them, instead of each
// head streaming the whole window (a long window does not fit in the caches). Within a head, keys are
// still taken in order and grouped by their index j (four keys' dot products at once, their partial sums
// reduced together; the softmax's exponentials four at a time, `exp4`; the weighted sum of values 32
// output columns at a time in eight registers, kept in `out` between blocks), so a score and the order
// of every sum do not depend on the blocks or on where the rows live. d % 4 columns and n % 4 keys are
// done in scalar code.
import { hsum, madd } from "./simd";

/** The four lane sums of each of a..d, as [sum a, sum b, sum c, sum d]. */
// @ts-ignore: decorator
@inline function sum4f(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/**
 * e^x for four lanes (Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, a degree-7 polynomial in r, times
 * 2^n through the exponent bits): within 2 ulp of Mathf.exp for x >= -87 (softmax arguments are <= 0;
 * below -87 the result is ~1e-38, far under anything it is added to).
 */
// @ts-ignore: decorator
@inline function exp4(x: v128): v128 {
  x = f32x4.max(x, f32x4.splat(-87));
  const t = madd(x, f32x4.splat(1.44269504089), f32x4.splat(12582912)); // round(x / ln2) in the low bits
  const n = f32x4.sub(t, f32x4.splat(12582912));
  let r = madd(n, f32x4.splat(-0.693359375), x);
  r = madd(n, f32x4.splat(2.12194440e-4), r);
  let p = madd(f32x4.splat(1.9875691500e-4), r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  p = madd(p, f32x4.mul(r, r), f32x4.add(r, f32x4.splat(1)));
  return i32x4.add(p, i32x4.shl(i32x4.sub(t, i32x4.splat(0x4b400000)), 23));
}

/** Keys (or values) per block: 64 rows of one KV head of gpt-oss are 16 KiB. */
const BLOCK = 64;

/** Key j's row: ring rows start.. (at k, rrow bytes apart) wrapping at cap for j < nr, then chunk rows (at ck). */
// @ts-ignore: decorator
@inline function at(k: usize, ck: usize, j: i32, nr: i32, start: i32, cap: i32, rrow: usize, row: usize): usize {
  if (j >= nr) return ck + <usize>(j - nr) * row;
  let r = start + j;
  if (r >= cap) r -= cap;
  return k + <usize>r * rrow;
}

/** The rows of keys j0 .. j1 - 1 into the pointer table at `ptrs`. */
// @ts-ignore: decorator
@inline function rowsOf(ptrs: usize, k: usize, ck: usize, j0: i32, j1: i32, nr: i32, start: i32, cap: i32, rrow: usize, row: usize): void {
  for (let j = j0; j < j1; j++) store<usize>(ptrs + (<usize>(j - j0) << 2), at(k, ck, j, nr, start, cap, rrow, row));
}

export function attention(out: usize, q: usize, k: usize, v: usize, n: i32, sinks: usize,
  nq: i32, nkv: i32, d: i32, scores: usize, stride: i32, nr: i32, start: i32, cap: i32, ck: usize, cv: usize,
  rstride: i32, rhead: i32): void {
  const group = nq / nkv;
  const row = <usize>stride << 2, rrow = <usize>rstride << 2;
  const d4 = d & ~3, n4 = n & ~3;
  const scale = <f32>1 / Mathf.sqrt(<f32>d);
  const ptrs = scores + (<usize>(group * n) << 2); // the block's row pointers
  const invs = ptrs + (<usize>BLOCK << 2); // per head of the group, 1 / denom
  for (let g = 0; g < nkv; g++) {
    const kvo = <usize>(g * d) << 2, rvo = <usize>(g * rhead) << 2, h0 = g * group;

    // scores of head h0 + e at scores + e * n: q . k_j * scale, four keys at a time
    for (let j0 = 0; j0 < n; j0 += BLOCK) {
      const j1 = min(n, j0 + BLOCK), jn = j0 + ((j1 - j0) & ~3); // j0 is a multiple of 4, so jn = n4 in the last block
      rowsOf(ptrs, k + rvo, ck + kvo, j0, j1, nr, start, cap, rrow, row);
      for (let e = 0; e < group; e++) {
        const qh = q + (<usize>((h0 + e) * d) << 2), sc = scores + (<usize>(e * n) << 2);
        let j = j0;
        for (; j < jn; j += 4) {
          const pj = ptrs + (<usize>(j - j0) << 2);
          const k0 = load<usize>(pj), k1 = load<usize>(pj, 4), k2 = load<usize>(pj, 8), k3 = load<usize>(pj, 12);
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          for (let i = 0; i < d4; i += 4) {
            const o = <usize>i << 2, qv = v128.load(qh + o);
            a0 = madd(qv, v128.load(k0 + o), a0);
            a1 = madd(qv, v128.load(k1 + o), a1);
            a2 = madd(qv, v128.load(k2 + o), a2);
            a3 = madd(qv, v128.load(k3 + o), a3);
          }
          let s = sum4f(a0, a1, a2, a3);
          for (let i = d4; i < d; i++) {
            const qi = load<f32>(qh + (<usize>i << 2)), o = <usize>i << 2;
            s = f32x4.add(s, f32x4.mul(f32x4.splat(qi), f32x4(load<f32>(k0 + o), load<f32>(k1 + o), load<f32>(k2 + o), load<f32>(k3 + o))));
          }
          v128.store(sc + (<usize>j << 2), f32x4.mul(s, f32x4.splat(scale)));
        }
        for (; j < j1; j++) {
          const kj = load<usize>(ptrs + (<usize>(j - j0) << 2));
          let a = f32x4.splat(0);
          for (let i = 0; i < d4; i += 4) a = madd(v128.load(qh + (<usize>i << 2)), v128.load(kj + (<usize>i << 2)), a);
          let s = hsum(a);
          for (let i = d4; i < d; i++) s += load<f32>(qh + (<usize>i << 2)) * load<f32>(kj + (<usize>i << 2));
          store<f32>(sc + (<usize>j << 2), s * scale);
        }
      }
    }

    // per head: scores = e^(scores - mx), mx the largest (the sink included); 1 / denom, denom their
    // sum + e^(sink - mx)
    for (let e = 0; e < group; e++) {
      const h = h0 + e, sc = scores + (<usize>(e * n) << 2);
      const sink = load<f32>(sinks + (<usize>h << 2));
      let mxv = f32x4.splat(sink);
      let j = 0;
      for (; j < n4; j += 4) mxv = f32x4.max(mxv, v128.load(sc + (<usize>j << 2)));
      let mx = max(max(f32x4.extract_lane(mxv, 0), f32x4.extract_lane(mxv, 1)), max(f32x4.extract_lane(mxv, 2), f32x4.extract_lane(mxv, 3)));
      for (; j < n; j++) mx = max(mx, load<f32>(sc + (<usize>j << 2)));
      const mv = f32x4.splat(mx);
      let dv = f32x4.splat(0);
      for (j = 0; j < n4; j += 4) {
        const x = exp4(f32x4.sub(v128.load(sc + (<usize>j << 2)), mv));
        v128.store(sc + (<usize>j << 2), x);
        dv = f32x4.add(dv, x);
      }
      let denom = hsum(dv) + f32x4.extract_lane(exp4(f32x4.splat(sink - mx)), 0);
      for (; j < n; j++) {
        const x = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(sc + (<usize>j << 2)) - mx)), 0);
        store<f32>(sc + (<usize>j << 2), x);
        denom += x;
      }
      store<f32>(invs + (<usize>e << 2), <f32>1 / denom);
      memory.fill(out + (<usize>(h * d) << 2), 0, <usize>d << 2);
    }

    // out += scores[j] v_j block by block, the sums kept in `out` between blocks (32 columns in
    // registers, then 4, then one); then out *= 1 / denom
    for (let j0 = 0; j0 < n; j0 += BLOCK) {
      const j1 = min(n, j0 + BLOCK);
      rowsOf(ptrs, v + rvo, cv + kvo, j0, j1, nr, start, cap, rrow, row);
      for (let e = 0; e < group; e++) {
        const oh = out + (<usize>((h0 + e) * d) << 2), sc = scores + (<usize>(e * n) << 2);
        let c = 0;
        for (; c + 32 <= d4; c += 32) {
          const oc = oh + (<usize>c << 2);
          let o0 = v128.load(oc), o1 = v128.load(oc, 16), o2 = v128.load(oc, 32), o3 = v128.load(oc, 48);
          let o4 = v128.load(oc, 64), o5 = v128.load(oc, 80), o6 = v128.load(oc, 96), o7 = v128.load(oc, 112);
          for (let j = j0; j < j1; j++) {
            const p = v128.load32_splat(sc + (<usize>j << 2)), vj = load<usize>(ptrs + (<usize>(j - j0) << 2)) + (<usize>c << 2);
            o0 = madd(p, v128.load(vj), o0);
            o1 = madd(p, v128.load(vj, 16), o1);
            o2 = madd(p, v128.load(vj, 32), o2);
            o3 = madd(p, v128.load(vj, 48), o3);
            o4 = madd(p, v128.load(vj, 64), o4);
            o5 = madd(p, v128.load(vj, 80), o5);
            o6 = madd(p, v128.load(vj, 96), o6);
            o7 = madd(p, v128.load(vj, 112), o7);
          }
          v128.store(oc, o0);
          v128.store(oc, o1, 16);
          v128.store(oc, o2, 32);
          v128.store(oc, o3, 48);
          v128.store(oc, o4, 64);
          v128.store(oc, o5, 80);
          v128.store(oc, o6, 96);
          v128.store(oc, o7, 112);
        }
        for (; c < d4; c += 4) {
          const oc = oh + (<usize>c << 2);
          let o = v128.load(oc);
          for (let j = j0; j < j1; j++) {
            o = madd(v128.load32_splat(sc + (<usize>j << 2)), v128.load(load<usize>(ptrs + (<usize>(j - j0) << 2)) + (<usize>c << 2)), o);
          }
          v128.store(oc, o);
        }
        for (; c < d; c++) {
          const oc = oh + (<usize>c << 2);
          let o = load<f32>(oc);
          for (let j = j0; j < j1; j++) o += load<f32>(sc + (<usize>j << 2)) * load<f32>(load<usize>(ptrs + (<usize>(j - j0) << 2)) + (<usize>c << 2));
          store<f32>(oc, o);
        }
      }
    }
    for (let e = 0; e < group; e++) {
      const oh = out + (<usize>((h0 + e) * d) << 2), inv = load<f32>(invs + (<usize>e << 2)), iv = f32x4.splat(inv);
      let c = 0;
      for (; c < d4; c += 4) v128.store(oh + (<usize>c << 2), f32x4.mul(v128.load(oh + (<usize>c << 2)), iv));
      for (; c < d; c++) store<f32>(oh + (<usize>c << 2), load<f32>(oh + (<usize>c << 2)) * inv);
    }
  }
}
