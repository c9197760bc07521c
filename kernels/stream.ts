// Streaming read probe: sums `n` f32 values from `ptr` with 128-bit SIMD, four independent accumulators
// so the loop is limited by memory bandwidth, not by add latency. The benchmarks use it to measure the
// machine's own read bandwidth from WebAssembly in the same run as the kernels.
export function streamSum(ptr: usize, n: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = ptr + (<usize>i << 2);
    a0 = f32x4.add(a0, v128.load(p));
    a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32));
    a3 = f32x4.add(a3, v128.load(p, 48));
  }
  const s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  let total = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; i < n; i++) total += load<f32>(ptr + (<usize>i << 2));
  return total;
}
