// The ordinary tokens of o200k_harmony as a byte trie, for computing which tokens a grammar state
// allows. The trie is stored in preorder (a node's subtree is the run of nodes after it), so walking it
// from a DFA state is one pass over flat arrays: each node's state is its parent's state after its
// byte, and a dead state skips the whole subtree. Tokens sharing a prefix share that work.
import { getTokenizer, TEXT_TOKEN_COUNT, type Tokenizer } from "../tokenizer/tokenizer.js";
import { UNKNOWN, type LazyDfa } from "./dfa.js";

/** The tokens a state allows, each with the fewest bytes that finish the text after it. */
export interface TokenTable {
  ids: Int32Array;
  dists: Int32Array;
  /** the largest of `dists` (when the budget covers it, every id is allowed) */
  maxDist: number;
  /** when most tokens are allowed (inside a string): the ordinary tokens that are not, cheaper to mask */
  excluded?: Int32Array;
}

export class TokenTrie {
  /** nodes in preorder; node 0 is the root (no byte) */
  readonly size: number;
  /** parent node << 8 | the node's byte */
  readonly link: Int32Array;
  /** first node after the subtree */
  readonly end: Int32Array;
  /** the token spelled by the path to the node, or -1 */
  readonly token: Int32Array;
  private readonly scratchState: Int32Array;
  private readonly scratchIds: Int32Array;
  private readonly scratchDist: Int32Array;

  constructor(tokenizer: Tokenizer = getTokenizer(), count = TEXT_TOKEN_COUNT) {
    const spelled: { id: number; s: string }[] = [];
    let bytes = 0;
    for (let id = 0; id < count; id++) {
      const b = tokenizer.tokenBytes(id);
      bytes += b.length;
      let s = "";
      for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
      spelled.push({ id, s });
    }
    // One-byte code units compare like bytes.
    spelled.sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
    const link = new Int32Array(bytes + 1), end = new Int32Array(bytes + 1), token = new Int32Array(bytes + 1).fill(-1);
    let n = 1;
    const path = [0]; // path[d] = node at depth d of the previous token
    let prev = "";
    for (const { id, s } of spelled) {
      let common = 0;
      while (common < prev.length && common < s.length && prev.charCodeAt(common) === s.charCodeAt(common)) common++;
      while (path.length > common + 1) end[path.pop()!] = n;
      for (let d = common; d < s.length; d++) {
        link[n] = (path[path.length - 1] << 8) | s.charCodeAt(d);
        path.push(n++);
      }
      token[path[path.length - 1]] = id;
      prev = s;
    }
    while (path.length > 0) end[path.pop()!] = n;
    this.size = n;
    this.link = link.subarray(0, n);
    this.end = end.subarray(0, n);
    this.token = token.subarray(0, n);
    this.scratchState = new Int32Array(n);
    this.scratchIds = new Int32Array(count);
    this.scratchDist = new Int32Array(count);
  }

  /** Every token whose bytes `dfa` accepts from `state` (not necessarily to the end), with the bytes left. */
  allowed(dfa: LazyDfa, state: number): TokenTable {
    const { link, end, token, size } = this;
    const st = this.scratchState, ids = this.scratchIds, dists = this.scratchDist;
    let trans = dfa.trans, dist = dfa.dist;
    st[0] = state;
    let k = 0, maxDist = 0;
    for (let i = 1; i < size; ) {
      const l = link[i];
      const from = st[l >> 8];
      let s = trans[(from << 8) | (l & 255)];
      if (s === UNKNOWN) {
        s = dfa.compute(from, l & 255);
        trans = dfa.trans;
        dist = dfa.dist;
      }
      if (s < 0) {
        i = end[i]; // DEAD: no token below this node is allowed
        continue;
      }
      st[i] = s;
      const t = token[i];
      if (t >= 0) {
        const d = dist[s];
        ids[k] = t;
        dists[k++] = d;
        if (d > maxDist) maxDist = d;
      }
      i++;
    }
    const table: TokenTable = { ids: ids.slice(0, k), dists: dists.slice(0, k), maxDist };
    if (k > this.scratchIds.length / 2) {
      const allowed = new Uint8Array(this.scratchIds.length);
      for (let i = 0; i < k; i++) allowed[ids[i]] = 1;
      const out: number[] = [];
      for (let t = 0; t < allowed.length; t++) if (!allowed[t]) out.push(t);
      table.excluded = Int32Array.from(out);
    }
    return table;
  }
}

let shared: TokenTrie | undefined;

/** The process-wide trie of o200k_harmony's ordinary tokens, built on first use. */
export function getTokenTrie(): TokenTrie {
  return (shared ??= new TokenTrie());
}
