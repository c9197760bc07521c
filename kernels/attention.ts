// Attention of one query position over n visible positions, with per-head sinks (gpt-oss).
//
// Layout: q, out [nq, d]. The n keys (and values) are read where they live, in position order: the
// first `nr` from the KV cache's ring (rows start, start + 1, ... of `cap` rows at k, v, wrapping to
// row 0), the rest from the chunk being run (rows 0, 1, ... at ck, cv). Every row is `stride` floats;
// KV head g of a row at g * d floats into it. Query head h reads KV head h / (nq / nkv). Scores are
// q.k / sqrt(d); the sink logit of head h joins only the softmax denominator. scores: scratch of n f32.
// A call for some of the heads (a thread's share of a chunk) passes pointers offset to its first head,
// its own head counts, and the full row `stride` (>= nkv * d).
//
// Vectorized over keys where it pays: four keys' dot products at once (their partial sums reduced
// together, one shuffle network per four keys instead of a horizontal sum per key), the softmax's
// exponentials four at a time (`exp4`), and the weighted sum of values with 32 output columns held in
// eight registers across all keys (instead of loading and storing the output for every key).
// d % 4 columns and n % 4 keys are done in scalar code. Keys are grouped by their index j whatever
// span they come from, so a key's score and the order of every sum do not depend on where rows live.
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

/** Key j's row (k or ring, ck for the chunk): ring rows start.. wrapping at cap for j < nr, then chunk rows. */
// @ts-ignore: decorator
@inline function at(k: usize, ck: usize, j: i32, nr: i32, start: i32, cap: i32, row: usize): usize {
  if (j >= nr) return ck + <usize>(j - nr) * row;
  let r = start + j;
  if (r >= cap) r -= cap;
  return k + <usize>r * row;
}

export function attention(out: usize, q: usize, k: usize, v: usize, n: i32, sinks: usize,
  nq: i32, nkv: i32, d: i32, scores: usize, stride: i32, nr: i32, start: i32, cap: i32, ck: usize, cv: usize): void {
  const group = nq / nkv;
  const row = <usize>stride << 2;
  const d4 = d & ~3, n4 = n & ~3;
  const scale = <f32>1 / Mathf.sqrt(<f32>d);
  const n0 = nr > 0 ? min(nr, cap - start) : 0, v0 = v + <usize>start * row; // the ring's first span
  for (let h = 0; h < nq; h++) {
    const qh = q + (<usize>(h * d) << 2);
    const kvo = <usize>((h / group) * d) << 2;
    const sink = load<f32>(sinks + (<usize>h << 2));

    // scores[j] = q . k_j * scale, four keys at a time; mx = the largest (the sink included)
    let mxv = f32x4.splat(sink);
    let j = 0;
    for (; j < n4; j += 4) {
      const k0 = at(k, ck, j, nr, start, cap, row) + kvo, k1 = at(k, ck, j + 1, nr, start, cap, row) + kvo;
      const k2 = at(k, ck, j + 2, nr, start, cap, row) + kvo, k3 = at(k, ck, j + 3, nr, start, cap, row) + kvo;
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
      s = f32x4.mul(s, f32x4.splat(scale));
      v128.store(scores + (<usize>j << 2), s);
      mxv = f32x4.max(mxv, s);
    }
    let mx = max(max(f32x4.extract_lane(mxv, 0), f32x4.extract_lane(mxv, 1)), max(f32x4.extract_lane(mxv, 2), f32x4.extract_lane(mxv, 3)));
    for (; j < n; j++) {
      const kj = at(k, ck, j, nr, start, cap, row) + kvo;
      let a = f32x4.splat(0);
      for (let i = 0; i < d4; i += 4) a = madd(v128.load(qh + (<usize>i << 2)), v128.load(kj + (<usize>i << 2)), a);
      let s = hsum(a);
      for (let i = d4; i < d; i++) s += load<f32>(qh + (<usize>i << 2)) * load<f32>(kj + (<usize>i << 2));
      s *= scale;
      store<f32>(scores + (<usize>j << 2), s);
      mx = max(mx, s);
    }

    // scores[j] = e^(scores[j] - mx); denom = their sum + e^(sink - mx)
    const mv = f32x4.splat(mx);
    let dv = f32x4.splat(0);
    for (j = 0; j < n4; j += 4) {
      const e = exp4(f32x4.sub(v128.load(scores + (<usize>j << 2)), mv));
      v128.store(scores + (<usize>j << 2), e);
      dv = f32x4.add(dv, e);
    }
    let denom = hsum(dv) + f32x4.extract_lane(exp4(f32x4.splat(sink - mx)), 0);
    for (; j < n; j++) {
      const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(scores + (<usize>j << 2)) - mx)), 0);
      store<f32>(scores + (<usize>j << 2), e);
      denom += e;
    }

    // out = sum_j scores[j] v_j / denom: 32 columns at a time in registers, then 4, then one; the
    // values in their three spans (ring from `start`, ring from row 0, chunk), in key order
    const oh = out + (<usize>(h * d) << 2);
    const inv = f32x4.splat(<f32>1 / denom);
    let c = 0;
    for (; c + 32 <= d4; c += 32) {
      let o0 = f32x4.splat(0), o1 = f32x4.splat(0), o2 = f32x4.splat(0), o3 = f32x4.splat(0);
      let o4 = f32x4.splat(0), o5 = f32x4.splat(0), o6 = f32x4.splat(0), o7 = f32x4.splat(0);
      j = 0;
      for (let s = 0; s < 3; s++) {
        const end = s == 0 ? n0 : s == 1 ? nr : n;
        let vj = (s == 0 ? v0 : s == 1 ? v : cv) + kvo + (<usize>c << 2);
        for (; j < end; j++, vj += row) {
          const p = v128.load32_splat(scores + (<usize>j << 2));
          o0 = madd(p, v128.load(vj), o0);
          o1 = madd(p, v128.load(vj, 16), o1);
          o2 = madd(p, v128.load(vj, 32), o2);
          o3 = madd(p, v128.load(vj, 48), o3);
          o4 = madd(p, v128.load(vj, 64), o4);
          o5 = madd(p, v128.load(vj, 80), o5);
          o6 = madd(p, v128.load(vj, 96), o6);
          o7 = madd(p, v128.load(vj, 112), o7);
        }
      }
      const oc = oh + (<usize>c << 2);
      v128.store(oc, f32x4.mul(o0, inv));
      v128.store(oc, f32x4.mul(o1, inv), 16);
      v128.store(oc, f32x4.mul(o2, inv), 32);
      v128.store(oc, f32x4.mul(o3, inv), 48);
      v128.store(oc, f32x4.mul(o4, inv), 64);
      v128.store(oc, f32x4.mul(o5, inv), 80);
      v128.store(oc, f32x4.mul(o6, inv), 96);
      v128.store(oc, f32x4.mul(o7, inv), 112);
    }
    for (; c < d4; c += 4) {
      let o = f32x4.splat(0);
      j = 0;
      for (let s = 0; s < 3; s++) {
        const end = s == 0 ? n0 : s == 1 ? nr : n;
        let vj = (s == 0 ? v0 : s == 1 ? v : cv) + kvo + (<usize>c << 2);
        for (; j < end; j++, vj += row) o = madd(v128.load32_splat(scores + (<usize>j << 2)), v128.load(vj), o);
      }
      v128.store(oh + (<usize>c << 2), f32x4.mul(o, inv));
    }
    for (; c < d; c++) {
      let o: f32 = 0;
      j = 0;
      for (let s = 0; s < 3; s++) {
        const end = s == 0 ? n0 : s == 1 ? nr : n;
        let vj = (s == 0 ? v0 : s == 1 ? v : cv) + kvo + (<usize>c << 2);
        for (; j < end; j++, vj += row) o += load<f32>(scores + (<usize>j << 2)) * load<f32>(vj);
      }
      store<f32>(oh + (<usize>c << 2), o * f32x4.extract_lane(inv, 0));
    }
  }
}
