// The vocabulary matrices of a gpt-oss-mini pack, expanded to all 201,088 rows.
//
// Training gives only some tokens a row of their own (the words and numbers of its prompts and replies).
// Every other token keeps a fixed pseudo-random embedding row, computed from its id (`fixedRow`, the same
// function as scripts/train-mini/model.py's fixed_rows), and its unembedding row is built the way training
// built it:
//   lm_head[t] = shared + embedding[t] @ copy + embedding[spaced(t)] @ pair
// where spaced(t) is the token of " " + t's text (" Oslo" for "Oslo"), or nothing. A city name never seen
// in training is then copied like one that was: the copying circuit works on any row.
import { bf16ToF32, f32ToBf16 } from "./numerics.js";

export interface FixedRows {
  seed: number;
  scale: number;
}

export interface PackRows {
  /** Token id of each trained row, ascending. */
  ids: Int32Array;
  /** bf16 [T, H]: the trained rows' embedding. */
  embedding: Uint16Array;
  /** bf16 [T + 1, H]: the trained rows' unembedding, then the shared row. */
  unembedding: Uint16Array;
  /** f32 [H, H] each: the copy and pair maps (row vector times matrix). */
  copy: Float32Array;
  pair: Float32Array;
  /** [P, 2]: (bare id, spaced id). */
  pairs: Int32Array;
  fixed: FixedRows;
}

/** Row `id` of the fixed embedding: uniform in (-scale, scale) from a 32-bit hash of (id, column). */
export function fixedRow(id: number, H: number, { seed, scale }: FixedRows, out = new Float32Array(H)): Float32Array {
  for (let j = 0; j < H; j++) {
    let x = (Math.imul(id, 0x9e3779b1) + Math.imul(j, 0x85ebca77) + seed) >>> 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b) >>> 0;
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35) >>> 0;
    x ^= x >>> 16;
    const u = ((x >>> 8) + 0.5) / 16777216;
    out[j] = (2 * u - 1) * scale;
  }
  return out;
}

/** bf16 bytes of both [V, H] matrices; `progress(done, total)` is called as rows are built. */
export function expandPackRows(p: PackRows, V: number, H: number, progress?: (done: number, total: number) => void): { embedding: Uint8Array; lmHead: Uint8Array } {
  const T = p.ids.length;
  const own = new Int32Array(V).fill(-1);
  p.ids.forEach((id, i) => (own[id] = i));
  const spaced = new Int32Array(V).fill(-1);
  for (let i = 0; i < p.pairs.length; i += 2) spaced[p.pairs[i]] = p.pairs[i + 1];

  // Embedding, f32 for the unembedding's arithmetic and bf16 for the file.
  const e = new Float32Array(V * H);
  const embedding = new Uint16Array(V * H);
  for (let t = 0; t < V; t++) {
    const row = e.subarray(t * H, (t + 1) * H);
    if (own[t] >= 0) {
      for (let j = 0; j < H; j++) row[j] = bf16ToF32(p.embedding[own[t] * H + j]);
      embedding.set(p.embedding.subarray(own[t] * H, (own[t] + 1) * H), t * H);
    } else {
      fixedRow(t, H, p.fixed, row);
      for (let j = 0; j < H; j++) embedding[t * H + j] = f32ToBf16(row[j]);
    }
  }

  // shared + embedding @ copy for every row (the trained ones are replaced below), then the pair term
  const lm = new Float32Array(V * H);
  for (let t = 0; t < V; t++) for (let j = 0; j < H; j++) lm[t * H + j] = bf16ToF32(p.unembedding[T * H + j]);
  addRowsTimes(lm, e, V, H, p.copy, progress);
  for (let t = 0; t < V; t++) if (spaced[t] >= 0) addRowsTimes(lm.subarray(t * H, (t + 1) * H), e.subarray(spaced[t] * H, (spaced[t] + 1) * H), 1, H, p.pair);
  const lmHead = new Uint16Array(V * H);
  for (let t = 0; t < V; t++) {
    if (own[t] >= 0) lmHead.set(p.unembedding.subarray(own[t] * H, (own[t] + 1) * H), t * H);
    else for (let j = 0; j < H; j++) lmHead[t * H + j] = f32ToBf16(lm[t * H + j]);
  }
  return { embedding: new Uint8Array(embedding.buffer), lmHead: new Uint8Array(lmHead.buffer) };
}

/** out[r] += x[r] @ m for `rows` rows of width H, four rows at a time (each weight read once per four). */
function addRowsTimes(out: Float32Array, x: Float32Array, rows: number, H: number, m: Float32Array, progress?: (done: number, total: number) => void): void {
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const o0 = r * H, o1 = o0 + H, o2 = o1 + H, o3 = o2 + H;
    for (let i = 0; i < H; i++) {
      const x0 = x[o0 + i], x1 = x[o1 + i], x2 = x[o2 + i], x3 = x[o3 + i];
      const mi = i * H;
      for (let j = 0; j < H; j++) {
        const w = m[mi + j];
        out[o0 + j] += x0 * w;
        out[o1 + j] += x1 * w;
        out[o2 + j] += x2 * w;
        out[o3 + j] += x3 * w;
      }
    }
    if (progress && r % 20000 === 0) progress(r, rows);
  }
  for (; r < rows; r++) {
    for (let i = 0; i < H; i++) {
      const xi = x[r * H + i], mi = i * H;
      for (let j = 0; j < H; j++) out[r * H + j] += xi * m[mi + j];
    }
  }
  progress?.(rows, rows);
}
