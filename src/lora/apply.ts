// LoRA adapters in the forward pass, unmerged, as PEFT applies them at inference: the adapted
// projection's output gets s·B(A x) added beside W x + b; for the experts the update runs beside the
// MXFP4 weights for the tokens routed to each expert only, gate_up_proj's before the SwiGLU and
// down_proj's after, weighted like the expert's own output. Never folded into the bf16 weights (that
// rounds the update away: lora-dev/README.md). Several adapters add up.
import type { ModelConfig } from "../checkpoint/config.js";
import type { Kernels } from "../backends/kernels.js";
import type { LoraAdapter, LowRank } from "./weights.js";

export class LoraPass {
  private scratch: { T: number; x: Float32Array; y: Float32Array; add: Float32Array } | null = null;

  constructor(readonly config: ModelConfig, readonly adapters: readonly LoraAdapter[]) {}

  /** qkv [T, qw + 2 kvw] += the q, k and v updates of layer l; x: the attention norm [T, H]. */
  qkv(K: Kernels, l: number, qkv: Float32Array, x: Float32Array, T: number): void {
    const c = this.config, qw = c.numHeads * c.headDim, kvw = c.numKvHeads * c.headDim, width = qw + 2 * kvw;
    for (const a of this.adapters) {
      const al = a.layers[l];
      for (const [w, at] of [[al.q, 0], [al.k, qw], [al.v, qw + kvw]] as const) {
        if (!w) continue;
        const y = this.product(K, x, w, T);
        for (let t = 0; t < T; t++) {
          const o = t * width + at, yo = t * w.rows;
          for (let j = 0; j < w.rows; j++) qkv[o + j] += y[yo + j];
        }
      }
    }
  }

  /** proj [T, H] += the o_proj update of layer l; ctx: the attention output [T, qw]. */
  out(K: Kernels, l: number, proj: Float32Array, ctx: Float32Array, T: number): void {
    for (const a of this.adapters) {
      const w = a.layers[l].out;
      if (!w) continue;
      const y = this.product(K, ctx, w, T);
      for (let i = 0; i < T * w.rows; i++) proj[i] += y[i];
    }
  }

  /**
   * The gate_up_proj update of expert e of layer l for its n routed tokens (x[rows[i]]): [n, 2I], for
   * expertUp to add before the SwiGLU; null when no adapter changes this expert.
   */
  expertUp(K: Kernels, l: number, e: number, x: Float32Array, rows: Int32Array, n: number): Float32Array | null {
    const H = this.config.hiddenSize;
    let add: Float32Array | null = null;
    for (const a of this.adapters) {
      const w = a.layers[l].mlp1?.[e];
      if (!w) continue;
      const s = this.buffers(n);
      if (add === null) {
        for (let i = 0; i < n; i++) s.x.set(x.subarray(rows[i] * H, (rows[i] + 1) * H), i * H); // gather the routed rows
        add = s.add.subarray(0, n * w.rows);
        add.fill(0);
      }
      const y = this.product(K, s.x, w, n);
      for (let i = 0; i < n * w.rows; i++) add[i] += y[i];
    }
    return add;
  }

  /** out[rows[i], :] += weight[i] * (the down_proj update of expert e of layer l)(act[i, :]). */
  expertDown(K: Kernels, l: number, e: number, out: Float32Array, act: Float32Array, rows: Int32Array, weight: Float32Array, n: number): void {
    for (const a of this.adapters) {
      const w = a.layers[l].mlp2?.[e];
      if (!w) continue;
      const y = this.product(K, act, w, n);
      for (let i = 0; i < n; i++) {
        const o = rows[i] * w.rows, yo = i * w.rows, g = weight[i];
        for (let j = 0; j < w.rows; j++) out[o + j] += g * y[yo + j];
      }
    }
  }

  /** B (A x) for n rows of x, in scratch. */
  private product(K: Kernels, x: Float32Array, w: LowRank, n: number): Float32Array {
    const y = this.buffers(n).y.subarray(0, n * w.rows);
    K.lowRank(y, x, w, n);
    return y;
  }

  private buffers(T: number) {
    if (!this.scratch || this.scratch.T < T) {
      const c = this.config, H = c.hiddenSize, qw = c.numHeads * c.headDim;
      const widest = Math.max(H, qw, c.numKvHeads * c.headDim, 2 * c.intermediateSize);
      this.scratch = { T, x: new Float32Array(T * H), y: new Float32Array(T * widest), add: new Float32Array(T * 2 * c.intermediateSize) };
    }
    return this.scratch;
  }
}
