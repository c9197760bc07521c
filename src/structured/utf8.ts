// Code point ranges as UTF-8 byte ranges. The matcher reads bytes (tokens are byte strings that may
// split a character), so a set of characters such as [a-zé€] becomes a few sequences of byte ranges:
// [61-7A] | [C3][A9] | [E2][82][AC]. Only well-formed UTF-8 comes out: no surrogates, no overlong forms.

/** A set of code points as sorted, disjoint, inclusive ranges. */
export type CodePointRanges = readonly (readonly [number, number])[];

/** One UTF-8 sequence of 1 to 4 bytes, each byte within its inclusive range. */
export type ByteSequence = [number, number][];

export const MAX_CODE_POINT = 0x10ffff;
const SURROGATES: [number, number] = [0xd800, 0xdfff];

/** Sorted, merged ranges. */
export function normalize(ranges: Iterable<readonly [number, number]>): [number, number][] {
  const sorted = [...ranges].filter(([lo, hi]) => lo <= hi).map(([lo, hi]) => [lo, hi] as [number, number]).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Every code point not in `ranges`. */
export function complement(ranges: CodePointRanges): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

export function intersect(a: CodePointRanges, b: CodePointRanges): [number, number][] {
  const out: [number, number][] = [];
  for (const [alo, ahi] of a) for (const [blo, bhi] of b) {
    const lo = Math.max(alo, blo), hi = Math.min(ahi, bhi);
    if (lo <= hi) out.push([lo, hi]);
  }
  return normalize(out);
}

export function subtract(a: CodePointRanges, b: CodePointRanges): [number, number][] {
  return intersect(a, complement(b));
}

/** UTF-8 byte sequences covering exactly the code points of `ranges` (surrogates dropped). */
export function utf8Sequences(ranges: CodePointRanges): ByteSequence[] {
  const out: ByteSequence[] = [];
  const work = subtract(ranges, [SURROGATES]).reverse();
  while (work.length > 0) {
    const [lo, hi] = work.pop()!;
    // Split where the encoded length changes.
    const lengthEnd = lo <= 0x7f ? 0x7f : lo <= 0x7ff ? 0x7ff : lo <= 0xffff ? 0xffff : MAX_CODE_POINT;
    if (hi > lengthEnd) {
      work.push([lengthEnd + 1, hi], [lo, lengthEnd]);
      continue;
    }
    // Split until every continuation byte position spans a whole 6-bit block or shares its prefix, so
    // the range is the product of one byte range per position.
    const n = encode(lo).length;
    let split = false;
    for (let i = 1; i < n && !split; i++) {
      const m = (1 << (6 * i)) - 1;
      if ((lo & ~m) === (hi & ~m)) continue;
      if ((lo & m) !== 0) {
        work.push([(lo | m) + 1, hi], [lo, lo | m]);
        split = true;
      } else if ((hi & m) !== m) {
        work.push([hi & ~m, hi], [lo, (hi & ~m) - 1]);
        split = true;
      }
    }
    if (split) continue;
    const a = encode(lo), b = encode(hi);
    out.push(a.map((byte, i) => [byte, b[i]]));
  }
  return out;
}

/** The UTF-8 bytes of one code point. */
export function encode(cp: number): number[] {
  if (cp <= 0x7f) return [cp];
  if (cp <= 0x7ff) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp <= 0xffff) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}
