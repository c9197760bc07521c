// Number formats of the checkpoints: bfloat16, float16, and MXFP4 (FP4 E2M1 codes with E8M0 scales).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bf16 is the high half of an f32. */
export function bf16ToF32(bits: number): number {
  u32[0] = bits << 16;
  return f32[0];
}

/** Round-to-nearest-even f32 -> bf16 bits (NaN kept quiet). */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** FP4 (E2M1) value of each 4-bit code; bit 3 is the sign, so code 8 is -0. */
export const FP4_VALUES = new Float32Array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6]);

/** 2^(scale - 127) for every E8M0 byte (255, NaN in the OCP spec, is not special-cased, as in the reference). */
export const E8M0_VALUES = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = Math.fround(2 ** (i - 127));
  return t;
})();

/**
 * Decodes MXFP4 rows: `blocks` [rows, cols/32, 16], `scales` [rows, cols/32] -> out [rows, cols].
 * In each 16-byte group, byte j holds column 2j in its low nibble and column 2j+1 in its high nibble.
 */
export function decodeMxfp4(blocks: Uint8Array, scales: Uint8Array, rows: number, cols: number, out = new Float32Array(rows * cols)): Float32Array {
  const groups = cols / 32;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const s = E8M0_VALUES[scales[r * groups + g]];
      const b = (r * groups + g) * 16;
      const o = r * cols + g * 32;
      for (let j = 0; j < 16; j++) {
        const byte = blocks[b + j];
        out[o + 2 * j] = FP4_VALUES[byte & 15] * s;
        out[o + 2 * j + 1] = FP4_VALUES[byte >> 4] * s;
      }
    }
  }
  return out;
}
