// Attention of one query position over n cached positions, with per-head sinks (gpt-oss).
//
// Layout: q, out [nq, d]; k, v [n, stride floats], the visible positions in order (the caller copies
// the window out of its ring); KV head g of position j at k + (j * stride + g * d) floats. Query head h
// reads KV head h / (nq / nkv). Scores are q.k / sqrt(d); the sink logit of head h joins only the
// softmax denominator. scores: scratch of n f32. A thread given a band of KV heads passes pointers
// offset to its first head, its own head counts, and the full row `stride` (>= nkv * d).
// Vectorized over the head dimension (d = 64 in gpt-oss); d % 4 columns are done in scalar code.
import { hsum, madd } from "./simd";

export function attention(out: usize, q: usize, k: usize, v: usize, n: i32, sinks: usize,
  nq: i32, nkv: i32, d: i32, scores: usize, stride: i32): void {
  const group = nq / nkv;
  const row = <usize>stride << 2;
  const d4 = d & ~3;
  const scale = <f32>1 / Mathf.sqrt(<f32>d);
  for (let h = 0; h < nq; h++) {
    const qh = q + (<usize>(h * d) << 2);
    const kvo = <usize>((h / group) * d) << 2;
    const sink = load<f32>(sinks + (<usize>h << 2));
    let mx = sink;
    for (let j = 0; j < n; j++) {
      const kj = k + <usize>j * row + kvo;
      let a = f32x4.splat(0);
      for (let i = 0; i < d4; i += 4) a = madd(v128.load(qh + (<usize>i << 2)), v128.load(kj + (<usize>i << 2)), a);
      let s = hsum(a);
      for (let i = d4; i < d; i++) s += load<f32>(qh + (<usize>i << 2)) * load<f32>(kj + (<usize>i << 2));
      s *= scale;
      store<f32>(scores + (<usize>j << 2), s);
      mx = max(mx, s);
    }
    let denom = Mathf.exp(sink - mx);
    for (let j = 0; j < n; j++) {
      const e = Mathf.exp(load<f32>(scores + (<usize>j << 2)) - mx);
      store<f32>(scores + (<usize>j << 2), e);
      denom += e;
    }
    const oh = out + (<usize>(h * d) << 2);
    memory.fill(oh, 0, <usize>d << 2);
    for (let j = 0; j < n; j++) {
      const p = load<f32>(scores + (<usize>j << 2));
      const pv = f32x4.splat(p);
      const vj = v + <usize>j * row + kvo;
      for (let i = 0; i < d4; i += 4) {
        const o = oh + (<usize>i << 2);
        v128.store(o, madd(pv, v128.load(vj + (<usize>i << 2)), v128.load(o)));
      }
      for (let i = d4; i < d; i++) store<f32>(oh + (<usize>i << 2), load<f32>(oh + (<usize>i << 2)) + p * load<f32>(vj + (<usize>i << 2)));
    }
    const inv = <f32>1 / denom, iv = f32x4.splat(inv);
    for (let i = 0; i < d4; i += 4) v128.store(oh + (<usize>i << 2), f32x4.mul(v128.load(oh + (<usize>i << 2)), iv));
    for (let i = d4; i < d; i++) store<f32>(oh + (<usize>i << 2), load<f32>(oh + (<usize>i << 2)) * inv);
  }
}
