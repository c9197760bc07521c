// A small, fast, seedable pseudo-random generator for synthetic weights: xoshiro128** (Blackman and
// Vigna), 32-bit words with 32-bit integer arithmetic only, which V8 compiles to a tight loop (about
// 1.5 GB/s here). Not for anything that needs secrecy.

/** 32-bit FNV-1a of a string: turns a (seed, tensor name) pair into an independent stream's seed. */
export function hashString(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Xoshiro128 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private readonly one = new Uint32Array(1);

  /** Seeds the four state words from one 32-bit seed with splitmix32 (never all zero). */
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Named streams: the same (seed, name) always gives the same numbers, whatever else is drawn. */
  static forStream(seed: number, name: string): Xoshiro128 {
    return new Xoshiro128(hashString(name, hashString(String(seed >>> 0))));
  }

  /** Fills `out` with uniform 32-bit words. */
  fill(out: Uint32Array): void {
    let a = this.a, b = this.b, c = this.c, d = this.d;
    for (let i = 0; i < out.length; i++) {
      const r = Math.imul(a, 5);
      out[i] = Math.imul((r << 7) | (r >>> 25), 9);
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
    }
    this.a = a; this.b = b; this.c = c; this.d = d;
  }

  /** A uniform word. */
  next(): number {
    this.fill(this.one);
    return this.one[0];
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }
}
