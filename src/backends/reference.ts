// The reference kernels: plain TypeScript, written to be read, and the oracle every faster kernel is
// tested against. Sums run in float64 (JavaScript numbers) and are rounded once when stored.
import { hasBf16, heapAllocator, type Bf16Matrix, type Mxfp4Experts } from "../checkpoint/weights.js";
import { GptOssError } from "../util/errors.js";
import { bf16ToF32, E8M0_VALUES, f32ToBf16, FP4_VALUES } from "../checkpoint/numerics.js";
import { firstVisible, type Kernels } from "./kernels.js";

/** Every bf16 bit pattern's value: decoding by table beats bit tricks in plain JavaScript. */
const BF16 = (() => {
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = bf16ToF32(i);
  return t;
})();

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export const referenceKernels: Kernels = {
  name: "ts",
  allocator: heapAllocator,
  precision: "exact",
  threads: 1,
  preparedBytes: () => 0,
  matmulBytes: (w) => w.data.byteLength,

  embed(out, table, tokens) {
    const H = table.cols;
    for (let t = 0; t < tokens.length; t++) {
      const row = tokens[t] * H;
      for (let i = 0; i < H; i++) out[t * H + i] = BF16[table.data[row + i]];
    }
  },

  rmsnorm(out, x, scale, eps, T, n) {
    for (let t = 0; t < T; t++) {
      const o = t * n;
      let ss = 0;
      for (let i = 0; i < n; i++) ss += x[o + i] * x[o + i];
      const r = 1 / Math.sqrt(ss / n + eps);
      for (let i = 0; i < n; i++) out[o + i] = x[o + i] * r * scale[i];
    }
  },

  matmul(out, x, w, bias, T) {
    const { rows, cols, data } = w;
    if (!hasBf16(w)) throw new GptOssError(`matmul: this [${rows}, ${cols}] matrix is held only in another backend's form (loaded in \`fast\`); the ts backend reads bf16`);
    for (let t = 0; t < T; t++) {
      const xo = t * cols;
      for (let r = 0; r < rows; r++) {
        const wo = r * cols;
        let s = 0;
        for (let c = 0; c < cols; c++) s += BF16[data[wo + c]] * x[xo + c];
        out[t * rows + r] = s + (bias ? bias[r] : 0);
      }
    }
  },

  rope(x, cos, sin, T, heads, d) {
    const half = d / 2;
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < heads; h++) {
        const o = (t * heads + h) * d;
        for (let i = 0; i < half; i++) {
          const c = cos[t * half + i], s = sin[t * half + i];
          const x1 = x[o + i], x2 = x[o + half + i];
          x[o + i] = x1 * c - x2 * s;
          x[o + half + i] = x2 * c + x1 * s;
        }
      }
    }
  },

  attention(out, { q, k, v, pos0, T }, cache, sinks, { nq, nkv, headDim: d }) {
    // Each query as a decode step would see it: the cache's rows, then the chunk's own, in order.
    const kvw = nkv * d, first0 = firstVisible(pos0, cache.window);
    const cached = pos0 - first0, n = cached + T;
    const keys = new Float32Array(n * kvw), values = new Float32Array(n * kvw);
    cache.read(first0, pos0, keys, values);
    keys.set(k.subarray(0, T * kvw), cached * kvw);
    values.set(v.subarray(0, T * kvw), cached * kvw);
    for (let t = 0; t < T; t++) {
      const p = pos0 + t, qt = q.subarray(t * nq * d);
      attendOne(out.subarray(t * nq * d), qt, keys, values, firstVisible(p, cache.window) - first0, p - first0, sinks, nq, nkv, d);
    }
    cache.store(pos0, T, k, v);
  },

  topk(index, weight, logits, T, E, k) {
    for (let t = 0; t < T; t++) {
      const row = logits.subarray(t * E, (t + 1) * E);
      const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => row[b] - row[a] || a - b);
      const top = order.slice(0, k);
      const max = row[top[0]];
      let sum = 0;
      for (const e of top) sum += Math.exp(row[e] - max);
      top.forEach((e, j) => {
        index[t * k + j] = e;
        weight[t * k + j] = Math.exp(row[e] - max) / sum;
      });
    }
  },

  expertUp(act, x, w, bias, expert, rows, n, limit, alpha, add) {
    const H = w.cols, I = w.rows / 2;
    const b = bias.subarray(expert * w.rows, (expert + 1) * w.rows);
    const plus = (i: number, r: number, h: number) => (add ? h + add[i * w.rows + r] : h);
    for (let i = 0; i < n; i++) {
      const xi = x.subarray(rows[i] * H, (rows[i] + 1) * H);
      for (let j = 0; j < I; j++) {
        const g = Math.min(plus(i, 2 * j, mxfp4Dot(w, expert, 2 * j, xi) + b[2 * j]), limit);
        const l = Math.max(-limit, Math.min(plus(i, 2 * j + 1, mxfp4Dot(w, expert, 2 * j + 1, xi) + b[2 * j + 1]), limit));
        act[i * I + j] = g * sigmoid(alpha * g) * (l + 1);
      }
    }
  },

  expertDown(out, act, w, bias, expert, rows, weight, n) {
    const H = w.rows, I = w.cols;
    for (let i = 0; i < n; i++) {
      const a = act.subarray(i * I, (i + 1) * I);
      for (let r = 0; r < H; r++) {
        out[rows[i] * H + r] += weight[i] * (mxfp4Dot(w, expert, r, a) + bias[expert * H + r]);
      }
    }
  },

  lowRank(out, x, w, n) {
    const { rank, cols, rows, a, b } = w;
    const u = new Float64Array(rank);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < rank; k++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += a[k * cols + c] * x[i * cols + c];
        u[k] = s;
      }
      for (let o = 0; o < rows; o++) {
        let s = 0;
        for (let k = 0; k < rank; k++) s += b[k * rows + o] * u[k];
        out[i * rows + o] = s;
      }
    }
  },
};

/**
 * Attention of one query over rows first .. last of keys, values ([rows, nkv * d], position order).
 * q, out: [nq * d]; query head h reads KV head floor(h / (nq / nkv)).
 */
function attendOne(out: Float32Array, q: Float32Array, keys: Float32Array, values: Float32Array, first: number, last: number,
  sinks: Float32Array, nq: number, nkv: number, d: number): void {
  const group = nq / nkv, kvw = nkv * d, scale = 1 / Math.sqrt(d);
  const n = last - first + 1;
  const scores = new Float64Array(n);
  for (let h = 0; h < nq; h++) {
    const kvh = Math.floor(h / group);
    const qo = h * d;
    let max = sinks[h];
    for (let j = 0; j < n; j++) {
      const ko = (first + j) * kvw + kvh * d;
      let s = 0;
      for (let i = 0; i < d; i++) s += q[qo + i] * keys[ko + i];
      scores[j] = s * scale;
      if (scores[j] > max) max = scores[j];
    }
    let denom = Math.exp(sinks[h] - max); // the sink: in the denominator only, no value
    for (let j = 0; j < n; j++) denom += scores[j] = Math.exp(scores[j] - max);
    for (let i = 0; i < d; i++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += scores[j] * values[(first + j) * kvw + kvh * d + i];
      out[qo + i] = acc / denom;
    }
  }
}

/** Row `row` of expert `e`, decoded from MXFP4, dotted with x. */
function mxfp4Dot(w: Mxfp4Experts, e: number, row: number, x: Float32Array): number {
  const groups = w.cols / 32;
  let s = 0;
  for (let g = 0; g < groups; g++) {
    const u = (e * w.rows + row) * groups + g; // the 32-block's index: in 16-byte blocks, and in scales
    const scale = E8M0_VALUES[w.scales[u]];
    const b = u * 16;
    let gs = 0;
    for (let j = 0; j < 16; j++) {
      const byte = w.blocks[b + j];
      gs += FP4_VALUES[byte & 15] * x[g * 32 + 2 * j] + FP4_VALUES[byte >> 4] * x[g * 32 + 2 * j + 1];
    }
    s += gs * scale;
  }
  return s;
}

// ---- `fast` (8-bit activations): the int8 form of the streamed dense matrices ----
// Not part of the contract (the wasm backend's own form, kernels/q8.ts), but its oracle: what
// `matmul` computes in `fast` from a matrix's int8 form.

/** Rounds to the nearest integer, ties to even (as f32x4.nearest and the kernels' rounding). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Each 32-block of `v` (from `at`) rounded to `levels` steps of its largest magnitude m: the values
 * round(v * levels / m) * m / levels, with the f32 arithmetic of the kernels. */
function quantizeBlock(v: ArrayLike<number>, at: number, out: Float64Array, levels: number): void {
  let m = 0;
  for (let i = 0; i < 32; i++) m = Math.max(m, Math.abs(v[at + i]));
  const inv = m > 0 ? Math.fround(levels / m) : 0;
  for (let i = 0; i < 32; i++) out[at + i] = (roundEven(Math.fround(v[at + i] * inv)) * m) / levels;
}

/** The values of w's int8 form, [rows, cols] (kernels/q8.ts `q8Pack`): each 32-block of a row as 7-bit
 * codes round(w / s) in -63..63 times a step s = m / 63 (m: the block's largest magnitude) rounded to
 * bf16 (the form stores 2 s). cols % 32 == 0. */
export function int8Values(w: Bf16Matrix): Float64Array {
  const v = new Float64Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) {
    for (let o = 0; o < w.cols; o += 32) {
      const at = r * w.cols + o;
      let m = 0;
      for (let i = 0; i < 32; i++) m = Math.max(m, Math.abs(BF16[w.data[at + i]]));
      const s2 = BF16[f32ToBf16(Math.fround((2 * m) / 63))]; // 2 s, as stored
      const inv = s2 > 0 ? Math.fround(2 / s2) : 0;
      for (let i = 0; i < 32; i++) {
        const q = Math.min(63, Math.max(-63, roundEven(Math.fround(BF16[w.data[at + i]] * inv))));
        v[at + i] = (q * s2) / 2;
      }
    }
  }
  return v;
}

/** Activations as `fast` quantizes them (quant.ts `quantize`): each 32-block in `qmax` steps of its
 * largest magnitude (127: int8). x: [n, cols], cols % 32 == 0. */
export function quantizedActivations(x: Float32Array, qmax: number): Float64Array {
  const q = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += 32) quantizeBlock(x, o, q, qmax);
  return q;
}

/** out[t, :] = W x[t, :] + bias in `fast` with 8-bit activations: W's int8 form (`int8Values`) times
 * the quantized activations, summed in float64. x: [T, w.cols], out: [T, w.rows]. */
export function int8Matmul(out: Float32Array, x: Float32Array, w: Bf16Matrix, bias: Float32Array | null, T: number): void {
  const { rows, cols } = w, W = int8Values(w), q = quantizedActivations(x.subarray(0, T * cols), 127);
  for (let t = 0; t < T; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) s += W[r * cols + c] * q[t * cols + c];
      out[t * rows + r] = s + (bias ? bias[r] : 0);
    }
  }
}
