// JSON numbers as automata. Every number the matcher lets through is finite in JavaScript: at most 15
// integer digits (below 2^53, so integers stay exact), 15 fraction digits and a two-digit exponent.
// Bounds (minimum, maximum, exclusive ones) become digit automata over the allowed range: an integer
// range exactly; a number range as its integers plus the numbers I.F whose whole interval [I, I+1) lies
// inside it (a subset of the range, never a value outside it).
import type { NfaBuilder } from "./nfa.js";

/** Largest magnitude of an integer part: 15 digits. */
export const MAX_INTEGER_PART = 999_999_999_999_999;
const FRACTION_DIGITS = 15;
const EXPONENT_DIGITS = 2;

export interface Bounds {
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

/** An integer (no fraction, no exponent) within `bounds`, from `from` to `to`; false when there is none. */
export function integer(b: NfaBuilder, from: number, to: number, bounds: Bounds = {}): boolean {
  const lo = Math.max(-MAX_INTEGER_PART, lowestInteger(bounds));
  const hi = Math.min(MAX_INTEGER_PART, highestInteger(bounds));
  if (lo > hi) return false;
  integerRange(b, from, to, lo, hi);
  return true;
}

/** A number within `bounds`; without bounds any finite JSON number (with fraction and exponent). False
 * when this matcher writes no number within the bounds. */
export function number(b: NfaBuilder, from: number, to: number, bounds: Bounds = {}): boolean {
  const bounded = [bounds.minimum, bounds.maximum, bounds.exclusiveMinimum, bounds.exclusiveMaximum].some((v) => v !== undefined);
  if (!bounded) {
    const intStart = b.state();
    b.empty(from, intStart);
    b.move(from, 0x2d, 0x2d, intStart);
    const intEnd = b.state();
    b.move(intStart, 0x30, 0x30, intEnd);
    const first = b.state();
    b.move(intStart, 0x31, 0x39, first);
    upTo(b, first, intEnd, MAX_INTEGER_PART.toString().length - 1);
    const fracEnd = b.state();
    b.empty(intEnd, fracEnd);
    const dot = b.state();
    b.move(intEnd, 0x2e, 0x2e, dot);
    const digit = b.state();
    b.move(dot, 0x30, 0x39, digit);
    upTo(b, digit, fracEnd, FRACTION_DIGITS - 1);
    b.empty(fracEnd, to);
    const e = b.state();
    b.move(fracEnd, 0x45, 0x45, e);
    b.move(fracEnd, 0x65, 0x65, e);
    const sign = b.state();
    b.empty(e, sign);
    b.move(e, 0x2b, 0x2b, sign);
    b.move(e, 0x2d, 0x2d, sign);
    const expDigit = b.state();
    b.move(sign, 0x30, 0x39, expDigit);
    upTo(b, expDigit, to, EXPONENT_DIGITS - 1);
    return true;
  }
  let any = false;
  // The integers of the range.
  const lo = Math.max(-MAX_INTEGER_PART, lowestInteger(bounds));
  const hi = Math.min(MAX_INTEGER_PART, highestInteger(bounds));
  if (lo <= hi) {
    integerRange(b, from, to, lo, hi);
    any = true;
  }
  // I.F with I >= 0: the value is in [I, I + 1), so I must meet the lower bound and I + 1 <= the upper one.
  const upper = Math.min(bounds.maximum ?? Infinity, bounds.exclusiveMaximum ?? Infinity);
  const posLo = Math.max(0, lowestInteger(bounds));
  const posHi = Math.min(MAX_INTEGER_PART, Math.floor(upper) - 1);
  if (posLo <= posHi) {
    const dot = b.state();
    nonNegativeRange(b, from, dot, posLo, posHi);
    fraction(b, dot, to);
    any = true;
  }
  // -K.F with K >= 0: the value is in (-(K + 1), -K], so -K must meet the upper bound and -(K + 1) >= the lower one.
  const lower = Math.max(bounds.minimum ?? -Infinity, bounds.exclusiveMinimum ?? -Infinity);
  const negLo = Math.max(0, -highestInteger(bounds));
  const negHi = Math.min(MAX_INTEGER_PART, -Math.ceil(lower) - 1);
  if (negLo <= negHi) {
    const minus = b.state();
    b.move(from, 0x2d, 0x2d, minus);
    const dot = b.state();
    nonNegativeRange(b, minus, dot, negLo, negHi);
    fraction(b, dot, to);
    any = true;
  }
  return any;
}

/** The smallest integer meeting the lower bounds. */
function lowestInteger(b: Bounds): number {
  let lo = -Infinity;
  if (b.minimum !== undefined) lo = Math.max(lo, Math.ceil(b.minimum));
  if (b.exclusiveMinimum !== undefined) lo = Math.max(lo, Math.floor(b.exclusiveMinimum) + 1);
  return lo;
}

/** The largest integer meeting the upper bounds. */
function highestInteger(b: Bounds): number {
  let hi = Infinity;
  if (b.maximum !== undefined) hi = Math.min(hi, Math.floor(b.maximum));
  if (b.exclusiveMaximum !== undefined) hi = Math.min(hi, Math.ceil(b.exclusiveMaximum) - 1);
  return hi;
}

/** "." and 1 to 15 digits. */
function fraction(b: NfaBuilder, from: number, to: number): void {
  const dot = b.state();
  b.move(from, 0x2e, 0x2e, dot);
  const digit = b.state();
  b.move(dot, 0x30, 0x39, digit);
  upTo(b, digit, to, FRACTION_DIGITS - 1);
}

/** Up to `n` more digits from `from`, then `to`. */
function upTo(b: NfaBuilder, from: number, to: number, n: number): void {
  let at = from;
  for (let i = 0; i < n; i++) {
    b.empty(at, to);
    const next = b.state();
    b.move(at, 0x30, 0x39, next);
    at = next;
  }
  b.empty(at, to);
}

/** Integers lo..hi (|values| <= MAX_INTEGER_PART), without leading zeros, negative ones with "-". */
function integerRange(b: NfaBuilder, from: number, to: number, lo: number, hi: number): void {
  if (hi >= 0) nonNegativeRange(b, from, to, Math.max(lo, 0), hi);
  if (lo < 0) {
    const minus = b.state();
    b.move(from, 0x2d, 0x2d, minus);
    nonNegativeRange(b, minus, to, Math.max(1, -hi), -lo);
  }
}

/** Decimal spellings of lo..hi (0 <= lo <= hi), without leading zeros. */
function nonNegativeRange(b: NfaBuilder, from: number, to: number, lo: number, hi: number): void {
  for (let len = String(lo).length; len <= String(hi).length; len++) {
    const first = len === 1 ? 0 : 10 ** (len - 1);
    const a = Math.max(lo, first), z = Math.min(hi, 10 ** len - 1);
    if (a <= z) sameLength(b, from, to, String(a), String(z));
  }
}

/** Digit strings of one length from lo to hi (inclusive), digit by digit. */
function sameLength(b: NfaBuilder, from: number, to: number, lo: string, hi: string): void {
  if (lo.length === 0) {
    b.empty(from, to);
    return;
  }
  const l = lo.charCodeAt(0), h = hi.charCodeAt(0);
  const restLo = lo.slice(1), restHi = hi.slice(1);
  const allZero = /^0*$/.test(restLo), allNine = /^9*$/.test(restHi);
  if (l === h) {
    const next = b.state();
    b.move(from, l, l, next);
    sameLength(b, next, to, restLo, restHi);
    return;
  }
  if (allZero && allNine) {
    const next = b.state();
    b.move(from, l, h, next);
    anyDigits(b, next, to, restLo.length);
    return;
  }
  const first = b.state();
  b.move(from, l, l, first);
  sameLength(b, first, to, restLo, "9".repeat(restLo.length));
  if (h - l >= 2) {
    const middle = b.state();
    b.move(from, l + 1, h - 1, middle);
    anyDigits(b, middle, to, restLo.length);
  }
  const last = b.state();
  b.move(from, h, h, last);
  sameLength(b, last, to, "0".repeat(restHi.length), restHi);
}

/** Exactly n digits. */
function anyDigits(b: NfaBuilder, from: number, to: number, n: number): void {
  let at = from;
  for (let i = 0; i < n; i++) {
    const next = i === n - 1 ? to : b.state();
    b.move(at, 0x30, 0x39, next);
    at = next;
  }
  if (n === 0) b.empty(from, to);
}
