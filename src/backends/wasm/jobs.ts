// One kernel call split across threads: the call's description in a small shared control block, and
// the part each thread runs. The calling thread (slice 0) and the worker threads (worker.ts) run the
// same `runSlice` on the same arguments, so a call gives the same bits on any number of threads: every
// output row is computed by exactly one thread, with the same code, and bands start at multiples of 4
// rows, so the kernels group rows exactly as they do for the whole matrix.
import { firstVisible } from "../kernels.js";
import type { KernelExports } from "./heap.js";

/** Operations a thread can run a slice of. */
export const OP = {
  /** bf16 matrix x vector: [out, x, w, bias, rows, cols] */
  matvec: 1,
  /** bf16 matrix x matrix: [out, x, w, bias, rows, cols, T, panels] (a 4 KiB panel per thread) */
  matmul: 2,
  /** MXFP4 gate/up + SwiGLU: [act, x, xs, qs, blocks, scales, bias, I, cols, n, limit*, alpha*, fast, scratch, scratchStride, add]
   * (add: 0, or a LoRA update [n, 2I] added before the SwiGLU) */
  up: 3,
  /** MXFP4 down: [y, a, as, qs, blocks, scales, bias, rows, cols, n, weight, fast, scratch, scratchStride] */
  down: 4,
  /** streaming read probe: [ptr, floats]; each thread's sum in the result slots */
  stream: 5,
  /** attention of one query: [out, q, k, v, n, sinks, nq, nkv, d, scores] (n floats of scores per thread) */
  attention: 7,
  /** causal attention of a chunk of queries: [out, q, k, v, T, cached, window, pos0, first0, sinks, nq, nkv, d, scores]
   * (k, v: the cached rows from position first0, then the chunk's; scores: cached + T floats per thread) */
  attendChunk: 8,
  /** int8 copy x quantized vector (kernels/q8.ts): [out, xq, xs, sums, codes, scales, rows, cols] */
  q8matvec: 9,
  /** bf16 rows into the int8 layout: [codes, scales, w, rows, cols, groups] (groups of four rows) */
  q8pack: 10,
  /** worker threads leave their loop */
  stop: 6,
} as const;

/** Argument indices that hold f32 values (the others are u32: pointers and sizes). */
export const FLOAT_ARGS: Readonly<Record<number, readonly number[]>> = { [OP.up]: [10, 11] };

// Control block layout (Int32 slots).
/** bumped by the caller for each job; workers wait for it to change */
export const SEQ = 0;
/** workers still running the current job; the last one to finish wakes the caller */
export const PENDING = 1;
export const OPCODE = 2;
/** which heap (memory) the job runs in */
export const HEAP = 3;
/** threads taking part (the caller is thread 0) */
export const THREADS = 4;
/** workers whose slice threw (they post the message on their port) */
export const FAILED = 5;
export const ARGS = 8;
export const MAX_ARGS = 24;
/** one f32 result per thread (stream) */
export const RESULTS = ARGS + MAX_ARGS;
export const MAX_THREADS = 256;
export const CONTROL_BYTES = 4 * (RESULTS + MAX_THREADS);

/** Bytes of the prefill kernel's panel (gemm.ts): one per thread. */
export const PANEL_BYTES = 4096;

/** Rows [start, end) of thread `tid` of n: equal bands, starts at multiples of `align`. */
export function band(rows: number, tid: number, n: number, align: number): [number, number] {
  const size = Math.ceil(rows / n / align) * align;
  const start = Math.min(rows, tid * size);
  return [start, Math.min(rows, start + size)];
}

/** Runs thread `tid`'s part of the job in `a` (u32 arguments; f32 ones in `f` at the same indices). */
export function runSlice(k: KernelExports, op: number, a: Uint32Array, f: Float32Array, tid: number, n: number, results: Float32Array): void {
  switch (op) {
    case OP.matvec: {
      const [out, x, w, bias, rows, cols] = [a[0], a[1], a[2], a[3], a[4], a[5]];
      const [r0, r1] = band(rows, tid, n, 4);
      if (r1 > r0) k.bf16Matvec(out + 4 * r0, x, w + 2 * cols * r0, bias ? bias + 4 * r0 : 0, r1 - r0, cols);
      return;
    }
    case OP.matmul: {
      const [out, x, w, bias, rows, cols, T, panels] = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
      const [r0, r1] = band(rows, tid, n, 4);
      if (r1 > r0) k.bf16Matmul(out + 4 * r0, x, w + 2 * cols * r0, bias ? bias + 4 * r0 : 0, r1 - r0, cols, T, rows, panels + tid * PANEL_BYTES);
      return;
    }
    case OP.up: {
      // Output column j of act comes from weight rows 2j (gate) and 2j + 1 (linear).
      const [act, x, xs, qs, blocks, scales, bias, I, cols, tokens] = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]];
      const [fast, scratch, stride, add] = [a[12], a[13], a[14], a[15]];
      const [j0, j1] = band(I, tid, n, 4);
      const nb = cols / 32;
      if (j1 > j0) {
        k.mxfp4Up(act + 4 * j0, x, xs, qs, blocks + 2 * j0 * nb * 16, scales + 2 * j0 * nb, bias + 8 * j0, j1 - j0, cols, tokens,
          f[10], f[11], fast, scratch + tid * stride, I, add ? add + 8 * j0 : 0);
      }
      return;
    }
    case OP.down: {
      const [y, x, xs, qs, blocks, scales, bias, rows, cols, tokens, weight, fast, scratch, stride] =
        [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]];
      const [r0, r1] = band(rows, tid, n, 4);
      const nb = cols / 32;
      if (r1 > r0) {
        k.mxfp4Down(y + 4 * r0, x, xs, qs, blocks + r0 * nb * 16, scales + r0 * nb, bias + 4 * r0, r1 - r0, cols, tokens, weight, fast,
          scratch + tid * stride, rows);
      }
      return;
    }
    case OP.attention: {
      // A band of KV heads with the query heads that read them.
      const [out, q, keys, values, positions, sinks, nq, nkv, d, scores] = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]];
      const [g0, g1] = band(nkv, tid, n, 1);
      const group = nq / nkv, h0 = g0 * group;
      if (g1 > g0) {
        k.attention(out + 4 * h0 * d, q + 4 * h0 * d, keys + 4 * g0 * d, values + 4 * g0 * d, positions, sinks + 4 * h0,
          (g1 - g0) * group, g1 - g0, d, scores + 4 * tid * positions, nkv * d);
      }
      return;
    }
    case OP.attendChunk: {
      // Work items (query t, KV head g), dealt round-robin: later queries see more keys, so contiguous
      // bands would be uneven. Each item is computed whole by one thread, so any split gives the same bits.
      const [out, q, keys, values, T, cached, window, pos0, first0, sinks, nq, nkv, d, scores] =
        [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]];
      const group = nq / nkv, qw = nq * d, kvw = nkv * d;
      for (let i = tid; i < T * nkv; i += n) {
        const t = Math.floor(i / nkv), g = i - t * nkv, p = pos0 + t;
        const lo = firstVisible(p, window) - first0; // rows lo .. cached + t
        const h0 = g * group;
        k.attention(out + 4 * (t * qw + h0 * d), q + 4 * (t * qw + h0 * d), keys + 4 * (lo * kvw + g * d), values + 4 * (lo * kvw + g * d),
          cached + t - lo + 1, sinks + 4 * h0, group, 1, d, scores + 4 * tid * (cached + T), kvw);
      }
      return;
    }
    case OP.q8matvec: {
      const [out, xq, xs, sums, codes, scales, rows, cols] = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
      const [r0, r1] = band(rows, tid, n, 4), nb = cols / 32;
      if (r1 > r0) k.q8Matvec(out + 4 * r0, xq, xs, sums, codes + (r0 / 4) * nb * 128, scales + (r0 / 4) * nb * 16, r1 - r0, cols);
      return;
    }
    case OP.q8pack: {
      const [codes, scales, w, rows, cols, groups] = [a[0], a[1], a[2], a[3], a[4], a[5]];
      const [g0, g1] = band(groups, tid, n, 1);
      if (g1 > g0) k.q8Pack(codes, scales, w, rows, cols, g0, g1);
      return;
    }
    case OP.stream: {
      const [ptr, floats] = [a[0], a[1]];
      const [i0, i1] = band(floats, tid, n, 64);
      results[tid] = i1 > i0 ? k.streamSum(ptr + 4 * i0, i1 - i0) : 0;
      return;
    }
    default:
      throw new Error(`unknown kernel job ${op}`);
  }
}
