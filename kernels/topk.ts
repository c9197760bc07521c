// The router's top-k: per token, the k largest expert logits and the softmax over them. E is small
// (32 or 128), so a selection by repeated scans is all it takes.

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
