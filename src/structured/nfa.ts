// A byte-level automaton with empty moves (an NFA), built piece by piece by the schema compiler, then
// frozen into flat arrays with, for every state, the fewest bytes that still reach the end.
//
// Pieces are added "from a state": each builder call takes the state where its text starts and returns
// the state where it ends, so sequences are plain chaining and alternatives share their start and end.
import { GptOssError } from "../util/errors.js";
import type { ByteSequence } from "./utf8.js";

export class SchemaTooLargeError extends GptOssError {
  constructor(message: string) {
    super(message);
  }
}

/** States a compiled schema may have (each maxItems / maxLength step copies part of the automaton). */
export const MAX_NFA_STATES = 2_000_000;

/** A frozen NFA: moves on byte ranges and empty moves, both in CSR form (a state's moves are contiguous). */
export interface Nfa {
  readonly states: number;
  readonly start: number;
  readonly accept: number;
  readonly moveStart: Int32Array; // [states + 1]
  readonly moveLo: Uint8Array; // [moves]
  readonly moveHi: Uint8Array; // [moves]
  readonly moveTo: Int32Array; // [moves]
  readonly epsStart: Int32Array; // [states + 1]
  readonly epsTo: Int32Array; // [empty moves]
  /** fewest bytes from each state to `accept`; UNREACHABLE where it cannot be reached */
  readonly dist: Int32Array; // [states]
}

export const UNREACHABLE = 0x7fffffff;

export class NfaBuilder {
  private count = 0;
  // Moves as flat lists (from, lo, hi, to), empty moves as (from, to).
  private readonly mFrom: number[] = [];
  private readonly mLo: number[] = [];
  private readonly mHi: number[] = [];
  private readonly mTo: number[] = [];
  private readonly eFrom: number[] = [];
  private readonly eTo: number[] = [];
  /** shared tails of byte sequences: "to|ranges" -> the state that reads them */
  private readonly tails = new Map<string, number>();

  state(): number {
    if (this.count >= MAX_NFA_STATES) {
      throw new SchemaTooLargeError(`the schema needs more than ${MAX_NFA_STATES} automaton states; lower its maxItems, maxLength or nesting`);
    }
    return this.count++;
  }

  move(from: number, lo: number, hi: number, to: number): void {
    this.mFrom.push(from);
    this.mLo.push(lo);
    this.mHi.push(hi);
    this.mTo.push(to);
  }

  empty(from: number, to: number): void {
    this.eFrom.push(from);
    this.eTo.push(to);
  }

  /** The bytes of `text` (UTF-8) from `from`; returns the end state. */
  literal(from: number, text: string | readonly number[]): number {
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    let at = from;
    for (const b of bytes) {
      const next = this.state();
      this.move(at, b, b, next);
      at = next;
    }
    return at;
  }

  /** One byte in any of `ranges`, from `from` to `to`. */
  byteSet(from: number, ranges: readonly (readonly [number, number])[], to: number): void {
    for (const [lo, hi] of ranges) this.move(from, lo, hi, to);
  }

  /** A UTF-8 sequence from `from` to `to`; states after the first byte are shared between callers. */
  sequence(from: number, seq: ByteSequence, to: number): void {
    const [lo, hi] = seq[0];
    this.move(from, lo, hi, seq.length === 1 ? to : this.tail(seq.slice(1), to));
  }

  private tail(seq: ByteSequence, to: number): number {
    const key = `${to}|${seq.map(([lo, hi]) => `${lo}-${hi}`).join(",")}`;
    let s = this.tails.get(key);
    if (s === undefined) {
      s = this.state();
      this.tails.set(key, s);
      this.sequence(s, seq, to);
    }
    return s;
  }

  /** Freezes the automaton and measures, for every state, the fewest bytes left to `accept`. */
  finish(start: number, accept: number): Nfa {
    const n = this.count;
    const csr = (from: number[], m: number) => {
      const at = new Int32Array(n + 1);
      for (let i = 0; i < m; i++) at[from[i] + 1]++;
      for (let s = 0; s < n; s++) at[s + 1] += at[s];
      const order = new Int32Array(m);
      const fill = at.slice(0, n);
      for (let i = 0; i < m; i++) order[fill[from[i]]++] = i;
      return { at, order };
    };
    const moves = csr(this.mFrom, this.mFrom.length);
    const moveLo = new Uint8Array(moves.order.length), moveHi = new Uint8Array(moves.order.length), moveTo = new Int32Array(moves.order.length);
    moves.order.forEach((i, k) => {
      moveLo[k] = this.mLo[i];
      moveHi[k] = this.mHi[i];
      moveTo[k] = this.mTo[i];
    });
    const eps = csr(this.eFrom, this.eFrom.length);
    const epsTo = Int32Array.from(eps.order, (i) => this.eTo[i]);
    return { states: n, start, accept, moveStart: moves.at, moveLo, moveHi, moveTo, epsStart: eps.at, epsTo, dist: this.distances(accept) };
  }

  /** Breadth-first search backwards from `accept`: an empty move costs 0 bytes, a move 1 (0-1 BFS). */
  private distances(accept: number): Int32Array {
    const n = this.count;
    const dist = new Int32Array(n).fill(UNREACHABLE);
    // Reverse adjacency: into each state, from which states, at what cost.
    const inbound: number[][] = Array.from({ length: n }, () => []);
    for (let i = 0; i < this.mFrom.length; i++) inbound[this.mTo[i]].push(this.mFrom[i] * 2 + 1);
    for (let i = 0; i < this.eFrom.length; i++) inbound[this.eTo[i]].push(this.eFrom[i] * 2);
    const deque = new Int32Array(2 * n + 2 * (this.mFrom.length + this.eFrom.length) + 2);
    let head = n + this.eFrom.length + 1, tail = head;
    deque[tail++] = accept;
    dist[accept] = 0;
    while (head < tail) {
      const s = deque[head++];
      for (const e of inbound[s]) {
        const from = e >> 1, d = dist[s] + (e & 1);
        if (d >= dist[from]) continue;
        dist[from] = d;
        if (e & 1) deque[tail++] = from;
        else deque[--head] = from;
      }
    }
    return dist;
  }
}
