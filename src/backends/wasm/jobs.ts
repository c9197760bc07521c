// One kernel call split across threads: the call's description in a small shared control block, and
// the part each thread runs. The calling thread (slice 0) and the worker threads (worker.ts) run the
// same `runSlice` on the same arguments, so a call gives the same bits on any number of threads: every
// output row is computed by exactly one thread, with the same code, and bands start at multiples of 4
// rows, so the kernels group rows exactly as they do for the whole matrix.
import { firstVisible } from "../kernels.js";
import type { KernelExports } from "./heap.js";

/**
 * The jobs a thread can run a slice of, each with its arguments named in the order they sit in the
 * control block: the caller writes them there by name (`writeArgs`) and runs its own slice on them,
 * each worker reads them back by name (`readArgs`). Arguments are u32 (pointers into the job's memory,
 * sizes, flags) except those in FLOAT_ARGS.
 */
export const JOB_ARGS = {
  /** bf16 matrix x vector (x in the decode kernel's column order) */
  matvec: ["out", "x", "w", "bias", "rows", "cols"],
  /** bf16 matrix x matrix; panels: PANEL_BYTES per thread */
  matmul: ["out", "x", "w", "bias", "rows", "cols", "T", "panels"],
  /** MXFP4 gate/up + SwiGLU for n tokens; scratch: `stride` bytes per thread; add: 0, or a LoRA update
   * [n, 2I] added before the SwiGLU */
  up: ["act", "x", "xs", "qs", "blocks", "scales", "bias", "I", "cols", "n", "limit", "alpha", "fast", "scratch", "stride", "add"],
  /** MXFP4 down for n tokens, weighted by `weight` [n]; scratch: `stride` bytes per thread */
  down: ["y", "x", "xs", "qs", "blocks", "scales", "bias", "rows", "cols", "n", "weight", "fast", "scratch", "stride"],
  /** causal attention of T queries at positions pos0 ..: each reads the positions before pos0 it sees
   * from the ring (`cap` rows at ringK, ringV; position p in row (p - base) % cap; rows ringStride floats
   * apart, KV heads ringHead floats apart) and the rest from the chunk's rows (keys, values: [T, nkv * d]);
   * scores: attentionScratch(nq / nkv, cached + T) bytes per
   * thread (cached: the most ring rows a query reads) */
  attention: ["out", "q", "ringK", "ringV", "base", "cap", "ringStride", "ringHead", "keys", "values", "T", "cached", "window", "pos0", "sinks", "nq", "nkv", "d", "scores"],
  /** int8 form x n quantized rows (kernels/q8.ts); out [n, rows] */
  q8matmul: ["out", "xq", "xs", "sums", "codes", "scales", "rows", "cols", "n"],
  /** bf16 rows r0 .. r0 + rows - 1 (at w) into the int8 layout */
  q8pack: ["codes", "scales", "w", "cols", "r0", "rows"],
  /** MXFP4 blocks or scales of `experts` matrices into the kernel layout, in place; tmp: `tmpBytes` per thread */
  interleave: ["p", "experts", "rows", "nb", "unit", "tmp", "tmpBytes"],
  /** streaming read probe; each thread's sum in the result slots */
  stream: ["ptr", "floats"],
} as const;

/** Arguments held as f32: only ever handed to a kernel's f32 parameter, which rounds the caller's own
 * value to the same f32 the workers read. */
const FLOAT_ARGS: ReadonlySet<string> = new Set(["limit", "alpha"]);

export type Job = keyof typeof JOB_ARGS;
/** A job's arguments by name. */
export type JobArgs<J extends Job> = { [A in (typeof JOB_ARGS)[J][number]]: number };

/** Opcodes in the control block: a job's place in this list. */
export const JOBS = Object.keys(JOB_ARGS) as Job[];
/** Per job, whether each argument slot holds an f32 (looked up once, not per call). */
const IS_FLOAT = Object.fromEntries(JOBS.map((j) => [j, JOB_ARGS[j].map((a: string) => FLOAT_ARGS.has(a))])) as Record<Job, boolean[]>;
/** The opcode that makes worker threads leave their loop. */
export const STOP = -1;

/** Writes a job's arguments into the argument slots (u32 and f32 views of the same memory). */
export function writeArgs<J extends Job>(job: J, args: JobArgs<J>, u32: Uint32Array, f32: Float32Array): void {
  const names: readonly string[] = JOB_ARGS[job], float = IS_FLOAT[job];
  const values = args as Record<string, number>;
  for (let i = 0; i < names.length; i++) {
    if (float[i]) f32[i] = values[names[i]];
    else u32[i] = values[names[i]];
  }
}

/** Reads a job's arguments back from the argument slots. */
export function readArgs<J extends Job>(job: J, u32: Uint32Array, f32: Float32Array): JobArgs<J> {
  const names: readonly string[] = JOB_ARGS[job], float = IS_FLOAT[job];
  const args: Record<string, number> = {};
  for (let i = 0; i < names.length; i++) args[names[i]] = float[i] ? f32[i] : u32[i];
  return args as JobArgs<J>;
}

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
export const MAX_ARGS = Math.max(...Object.values(JOB_ARGS).map((a) => a.length));
/** one f32 result per thread (stream) */
export const RESULTS = ARGS + MAX_ARGS;
export const MAX_THREADS = 256;
export const CONTROL_BYTES = 4 * (RESULTS + MAX_THREADS);

/** Bytes of the prefill kernel's panel (gemm.ts): one per thread. */
export const PANEL_BYTES = 4096;

/** Scratch bytes of one attention kernel call (kernels/attention.ts) for `group` query heads over n keys:
 * their scores, a block's 64 row pointers, their 1 / denominators. */
export function attentionScratch(group: number, n: number): number {
  return 4 * (group * n + 64 + group);
}

/** Rows [start, end) of thread `tid` of n: equal bands, starts at multiples of `align`. */
export function band(rows: number, tid: number, n: number, align: number): [number, number] {
  const size = Math.ceil(rows / n / align) * align;
  const start = Math.min(rows, tid * size);
  return [start, Math.min(rows, start + size)];
}

/** Runs thread `tid`'s part (of n) of a job (the caller's arguments; a worker's from `readArgs`). */
export function runSlice<J extends Job>(k: KernelExports, job: J, args: JobArgs<J>, tid: number, n: number, results: Float32Array): void {
  switch (job as Job) {
    case "matvec": {
      const { out, x, w, bias, rows, cols } = args as JobArgs<"matvec">;
      const [r0, r1] = band(rows, tid, n, 4);
      if (r1 > r0) k.bf16Matvec(out + 4 * r0, x, w + 2 * cols * r0, bias ? bias + 4 * r0 : 0, r1 - r0, cols);
      return;
    }
    case "matmul": {
      const { out, x, w, bias, rows, cols, T, panels } = args as JobArgs<"matmul">;
      const [r0, r1] = band(rows, tid, n, 4);
      if (r1 > r0) k.bf16Matmul(out + 4 * r0, x, w + 2 * cols * r0, bias ? bias + 4 * r0 : 0, r1 - r0, cols, T, rows, panels + tid * PANEL_BYTES);
      return;
    }
    case "up": {
      // Output column j of act comes from weight rows 2j (gate) and 2j + 1 (linear).
      const { act, x, xs, qs, blocks, scales, bias, I, cols, n: tokens, limit, alpha, fast, scratch, stride, add } = args as JobArgs<"up">;
      const [j0, j1] = band(I, tid, n, 4);
      const nb = cols / 32;
      if (j1 > j0) {
        k.mxfp4Up(act + 4 * j0, x, xs, qs, blocks + 2 * j0 * nb * 16, scales + 2 * j0 * nb, bias + 8 * j0, j1 - j0, cols, tokens,
          limit, alpha, fast, scratch + tid * stride, I, add ? add + 8 * j0 : 0);
      }
      return;
    }
    case "down": {
      const { y, x, xs, qs, blocks, scales, bias, rows, cols, n: tokens, weight, fast, scratch, stride } = args as JobArgs<"down">;
      const [r0, r1] = band(rows, tid, n, 4);
      const nb = cols / 32;
      if (r1 > r0) {
        k.mxfp4Down(y + 4 * r0, x, xs, qs, blocks + r0 * nb * 16, scales + r0 * nb, bias + 4 * r0, r1 - r0, cols, tokens, weight, fast,
          scratch + tid * stride, rows);
      }
      return;
    }
    case "attention": {
      // Work items (query t, KV head g), dealt round-robin: later queries see more keys, so contiguous
      // bands would be uneven. Each item is computed whole by one thread, so any split gives the same bits.
      const { out, q, ringK, ringV, base, cap, ringStride, ringHead, keys, values, T, cached, window, pos0, sinks, nq, nkv, d, scores } = args as JobArgs<"attention">;
      const group = nq / nkv, qw = nq * d, kvw = nkv * d;
      for (let i = tid; i < T * nkv; i += n) {
        const t = Math.floor(i / nkv), g = i - t * nkv, p = pos0 + t;
        const first = firstVisible(p, window), fromChunk = Math.max(first, pos0) - pos0; // first chunk row it sees
        const nr = pos0 - Math.min(first, pos0), start = nr > 0 ? (first - base) % cap : 0; // ring rows, from `start`
        const h0 = g * group, o = 4 * (t * qw + h0 * d), rh = 4 * g * ringHead, c = 4 * (fromChunk * kvw + g * d);
        k.attention(out + o, q + o, ringK + rh, ringV + rh, p - first + 1, sinks + 4 * h0, group, 1, d, scores + tid * attentionScratch(group, cached + T), kvw,
          nr, start, cap, keys + c, values + c, ringStride, ringHead);
      }
      return;
    }
    case "q8matmul": {
      const { out, xq, xs, sums, codes, scales, rows, cols, n: tokens } = args as JobArgs<"q8matmul">;
      const [r0, r1] = band(rows, tid, n, 4), nb = cols / 32;
      if (r1 > r0) {
        k.q8Matmul(out + 4 * r0, xq, xs, sums, codes + (r0 / 4) * nb * 128, scales + (r0 / 4) * nb * 8, r1 - r0, cols, tokens, rows);
      }
      return;
    }
    case "q8pack": {
      const { codes, scales, w, cols, r0, rows } = args as JobArgs<"q8pack">;
      const [i0, i1] = band(rows, tid, n, 1);
      if (i1 > i0) k.q8Pack(codes, scales, w + 2 * cols * i0, cols, r0 + i0, r0 + i1);
      return;
    }
    case "interleave": {
      const { p, experts, rows, nb, unit, tmp, tmpBytes } = args as JobArgs<"interleave">;
      const [e0, e1] = band(experts, tid, n, 1);
      if (e1 > e0) k.interleave4(p + e0 * rows * nb * unit, e1 - e0, rows, nb, unit, tmp + tid * tmpBytes);
      return;
    }
    case "stream": {
      const { ptr, floats } = args as JobArgs<"stream">;
      const [i0, i1] = band(floats, tid, n, 64);
      results[tid] = i1 > i0 ? k.streamSum(ptr + 4 * i0, i1 - i0) : 0;
      return;
    }
    default:
      throw new Error(`unknown kernel job ${String(job)}`);
  }
}
