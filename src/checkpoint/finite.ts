// Checks at load of what is cheap to check: values that can only make NaN or Infinity downstream. A
// broken tensor is refused by name at load rather than turn every generated token into garbage later.
// Each check returns what is wrong (for the loader's error, which names the file and tensor), or null.

/** A NaN or infinite value in `values[from, from + n)`: a norm scale, bias or sink widened to f32. */
export function nonFiniteValue(values: Float32Array, from: number, n: number): string | null {
  for (let i = from; i < from + n; i++) {
    const x = values[i];
    if (x - x !== 0) return `holds ${x} at element ${i - from}; weights must be finite`;
  }
  return null;
}

/**
 * The E8M0 scale byte 0xFF, which the OCP microscaling format defines as NaN: every value of its block
 * would be NaN. `shape` is the scales tensor's [experts, rows, blocks].
 */
export function nanScale(scales: Uint8Array, shape: readonly number[]): string | null {
  const at = scales.indexOf(0xff); // a native search: one pass at memory speed
  if (at < 0) return null;
  const [, rows, blocks] = shape;
  const e = Math.floor(at / (rows * blocks)), r = Math.floor(at / blocks) % rows, b = at % blocks;
  return `has the scale byte 0xFF (NaN in E8M0) at expert ${e}, row ${r}, block ${b}; MXFP4 scales must be finite`;
}
