// The NFA made deterministic on demand: a DFA state is the set of NFA states the text so far may be in,
// created the first time a byte leads to it, and each transition is computed once and remembered. Only
// the states that generation (and the token masks) actually visit are ever built.
import { UNREACHABLE, type Nfa } from "./nfa.js";

/** No state: the byte is not allowed there. */
export const DEAD = -1;
/** A transition not computed yet. */
export const UNKNOWN = -2;

export class LazyDfa {
  /** the NFA states of each DFA state: those with moves, and the accepting one (sorted) */
  private readonly sets: Int32Array[] = [];
  private readonly ids = new Map<string, number>();
  /** transitions, flat: trans[state * 256 + byte] = next state, DEAD, or UNKNOWN until computed
   * (reallocated as states are added: read it again after `compute`) */
  trans = new Int32Array(256 * 64).fill(UNKNOWN);
  /** fewest bytes from each DFA state to a complete text */
  dist = new Int32Array(64);
  /** whether the text is complete in each DFA state */
  accepting = new Uint8Array(64);
  readonly start: number;
  // Scratch for closures: a stamp per NFA state marks what the current closure holds.
  private readonly stamp: Int32Array;
  private round = 0;
  private readonly stack: Int32Array;

  constructor(readonly nfa: Nfa) {
    this.stamp = new Int32Array(nfa.states);
    this.stack = new Int32Array(nfa.states);
    const start = this.closure([nfa.start]);
    if (start === DEAD) throw new Error("the schema accepts no text");
    this.start = start;
  }

  get size(): number {
    return this.sets.length;
  }

  /** The state after `byte` from `state`, or DEAD. */
  next(state: number, byte: number): number {
    const t = this.trans[(state << 8) | byte];
    return t !== UNKNOWN ? t : this.compute(state, byte);
  }

  /** Computes and records a transition. */
  compute(state: number, byte: number): number {
    const t = this.target(state, byte);
    this.trans[(state << 8) | byte] = t;
    return t;
  }

  private target(state: number, byte: number): number {
    const { moveStart, moveLo, moveHi, moveTo } = this.nfa;
    const targets: number[] = [];
    for (const s of this.sets[state]) {
      for (let m = moveStart[s]; m < moveStart[s + 1]; m++) {
        if (moveLo[m] <= byte && byte <= moveHi[m]) targets.push(moveTo[m]);
      }
    }
    return targets.length === 0 ? DEAD : this.closure(targets);
  }

  /** The DFA state of everything reachable from `seeds` by empty moves (states that cannot finish dropped). */
  private closure(seeds: number[]): number {
    const { epsStart, epsTo, moveStart, dist, accept } = this.nfa;
    const round = ++this.round;
    const stack = this.stack;
    let sp = 0;
    const kept: number[] = [];
    for (const s of seeds) {
      if (this.stamp[s] !== round) {
        this.stamp[s] = round;
        stack[sp++] = s;
      }
    }
    let best = UNREACHABLE;
    while (sp > 0) {
      const s = stack[--sp];
      if (dist[s] === UNREACHABLE) continue;
      if (moveStart[s + 1] > moveStart[s] || s === accept) {
        kept.push(s);
        if (dist[s] < best) best = dist[s];
      }
      for (let e = epsStart[s]; e < epsStart[s + 1]; e++) {
        const t = epsTo[e];
        if (this.stamp[t] !== round) {
          this.stamp[t] = round;
          stack[sp++] = t;
        }
      }
    }
    if (kept.length === 0) return DEAD;
    kept.sort((a, b) => a - b);
    const key = kept.join(",");
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.ids.set(key, id);
      this.sets.push(Int32Array.from(kept));
      if (id >= this.dist.length) this.grow();
      this.dist[id] = best;
      this.accepting[id] = kept.includes(accept) ? 1 : 0;
    }
    return id;
  }

  private grow(): void {
    const n = this.dist.length * 2;
    const trans = new Int32Array(n * 256).fill(UNKNOWN);
    trans.set(this.trans);
    this.trans = trans;
    const dist = new Int32Array(n);
    dist.set(this.dist);
    this.dist = dist;
    const accepting = new Uint8Array(n);
    accepting.set(this.accepting);
    this.accepting = accepting;
  }
}
