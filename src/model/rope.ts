// Rotary position embedding with YaRN scaling, as in the reference: per-pair inverse frequencies blended
// between the original and the 1/factor-scaled ones by a linear ramp over the pair index, and both cos
// and sin multiplied by the "concentration" 0.1 ln(factor) + 1. Computed in float32 like the reference.
import type { RopeConfig } from "../checkpoint/config.js";

const f = Math.fround;

export class Rope {
  /** [d/2] inverse frequency of each pair (i, i + d/2) */
  readonly invFreq: Float32Array;
  /** multiplies cos and sin (so every attention logit picks up its square) */
  readonly concentration: number;

  constructor(readonly headDim: number, cfg: RopeConfig) {
    const half = headDim / 2;
    this.invFreq = new Float32Array(half);
    // freq_i = theta^(2i/d), computed in float32 like `base ** (arange(0, d, 2) / d)`.
    const freq = (i: number) => f(Math.pow(cfg.theta, f((2 * i) / headDim)));
    if (cfg.type !== "yarn") {
      this.concentration = 1;
      for (let i = 0; i < half; i++) this.invFreq[i] = f(1 / freq(i));
      return;
    }
    this.concentration = f(0.1 * Math.log(cfg.factor) + 1);
    const L0 = cfg.originalMaxPositionEmbeddings;
    // The ramp runs from `low` (pairs that rotate beta_fast times over L0) to `high` (beta_slow times).
    let low = (half * Math.log(L0 / (cfg.betaFast * 2 * Math.PI))) / Math.log(cfg.theta);
    let high = (half * Math.log(L0 / (cfg.betaSlow * 2 * Math.PI))) / Math.log(cfg.theta);
    if (cfg.truncate) {
      low = Math.floor(low);
      high = Math.ceil(high);
    }
    for (let i = 0; i < half; i++) {
      const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
      const keep = f(1 - f(ramp)); // 1 = keep the original frequency
      const interpolation = f(1 / f(cfg.factor * freq(i)));
      const extrapolation = f(1 / freq(i));
      this.invFreq[i] = f(f(interpolation * f(1 - keep)) + f(extrapolation * keep));
    }
  }

  /** cos and sin [T, d/2] for positions start .. start + T - 1. */
  table(start: number, T: number, cos: Float32Array, sin: Float32Array): void {
    const half = this.headDim / 2;
    for (let t = 0; t < T; t++) {
      const p = f(start + t);
      for (let i = 0; i < half; i++) {
        const angle = f(p * this.invFreq[i]);
        cos[t * half + i] = f(Math.cos(angle)) * this.concentration;
        sin[t * half + i] = f(Math.sin(angle)) * this.concentration;
      }
    }
  }
}
