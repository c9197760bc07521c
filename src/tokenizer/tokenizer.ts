// The `o200k_harmony` tokenizer (spec §4): the o200k_base byte-level BPE plus the Harmony special tokens.
//
// The merge ranks come from the `js-tiktoken` package (its `ranks/o200k_base` module ships them, so this
// works offline). The BPE itself is written here rather than taken from js-tiktoken's `Tiktoken` class:
// that class takes ~2.5 s and ~100 MB to build its tables, gives no access to a token's raw bytes (needed
// to stream-decode without splitting a UTF-8 character), and uses JavaScript's `\s`, which differs from
// the Rust regex crate's Unicode whitespace that tiktoken uses (spec §4.1 "Whitespace caveat").
import o200kBase from "js-tiktoken/ranks/o200k_base";

/** Ids of the special tokens the Harmony format uses (spec §4.2). */
export const TOKENS = {
  startoftext: 199998,
  endoftext: 199999,
  return: 200002,
  constrain: 200003,
  channel: 200005,
  start: 200006,
  end: 200007,
  message: 200008,
  call: 200012,
} as const;

/** Rows of the embedding/unembedding matrices: ordinary tokens, specials, and reserved ids. */
export const VOCAB_SIZE = 201088;
/** Ordinary (BPE) tokens are ids 0..199997. */
export const TEXT_TOKEN_COUNT = 199998;

/** Generation stops on these (spec §4.3): `<|return|>` and `<|call|>`; `<|end|>` does not stop a turn. */
export const STOP_TOKENS_FOR_ASSISTANT: readonly number[] = [TOKENS.return, TOKENS.call];
/** A message ends at any of these (`<|return|>`, `<|call|>`, `<|end|>`). */
export const MESSAGE_END_TOKENS: readonly number[] = [TOKENS.return, TOKENS.call, TOKENS.end];

/** Every special token of o200k_harmony, name -> id; ids without a name are `<|reserved_{id}|>`. */
export const SPECIAL_TOKENS: Readonly<Record<string, number>> = (() => {
  const named: Record<number, string> = {
    [TOKENS.startoftext]: "<|startoftext|>",
    [TOKENS.endoftext]: "<|endoftext|>",
    [TOKENS.return]: "<|return|>",
    [TOKENS.constrain]: "<|constrain|>",
    [TOKENS.channel]: "<|channel|>",
    [TOKENS.start]: "<|start|>",
    [TOKENS.end]: "<|end|>",
    [TOKENS.message]: "<|message|>",
    [TOKENS.call]: "<|call|>",
  };
  const table: Record<string, number> = {};
  // 200018 is `<|endofprompt|>` in tiktoken's o200k_base and in the HF files, but reserved in Harmony
  // (spec §7.34); we follow Harmony.
  for (let id = TEXT_TOKEN_COUNT; id < VOCAB_SIZE; id++) table[named[id] ?? `<|reserved_${id}|>`] = id;
  return Object.freeze(table);
})();

// Pre-tokenisation regex of o200k_base (spec §4.1), with the inline `(?i:...)` group spelled out and
// `\s` replaced by the Unicode White_Space set the Rust regex crate uses, for parity with tiktoken.
const WS = "\\t\\n\\v\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
const CONTRACTION = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?";
const UPPERISH = "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]";
const LOWERISH = "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]";
const PIECE_PATTERN = [
  `[^\\r\\n\\p{L}\\p{N}]?${UPPERISH}*${LOWERISH}+${CONTRACTION}`,
  `[^\\r\\n\\p{L}\\p{N}]?${UPPERISH}+${LOWERISH}*${CONTRACTION}`,
  `\\p{N}{1,3}`,
  ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n/]*`,
  `[${WS}]*[\\r\\n]+`,
  `[${WS}]+(?![^${WS}])`,
  `[${WS}]+`,
].join("|");
// matchAll clones a global regex, so one shared instance is safe.
const PIECES = new RegExp(PIECE_PATTERN, "gu");

// Candidate special-token spellings; each hit is checked against SPECIAL_TOKENS. Names contain none of
// `<`, `|`, `>`, so no hit can hide a real special token that overlaps it.
const SPECIAL_CANDIDATE = /<\|[^<>|]*\|>/g;

export interface EncodeOptions {
  /**
   * true: special-token strings in the text (e.g. `<|start|>`) become their special ids (the text is split
   * on them before BPE). false (default): they are ordinary text, as Harmony encodes user content (§7.30).
   */
  allowSpecial?: boolean;
}

export class Tokenizer {
  readonly vocabSize = VOCAB_SIZE;
  readonly name = "o200k_harmony";

  /** token bytes as a "binary string" (one char per byte, 0..255) -> rank; and the reverse */
  private readonly ranks = new Map<string, number>();
  private readonly tokenStrings: string[] = [];
  private readonly specialNames: string[] = [];
  private readonly encoder = new TextEncoder();

  constructor() {
    // The ranks module holds lines "<label> <first rank> <base64 token> <base64 token> ...".
    for (const line of o200kBase.bpe_ranks.split("\n")) {
      if (line === "") continue;
      const fields = line.split(" ");
      let rank = Number.parseInt(fields[1], 10);
      for (let i = 2; i < fields.length; i++, rank++) {
        const bytes = atob(fields[i]); // atob yields exactly the binary string we key on
        this.ranks.set(bytes, rank);
        this.tokenStrings[rank] = bytes;
      }
    }
    if (this.tokenStrings.length !== TEXT_TOKEN_COUNT || this.ranks.size !== TEXT_TOKEN_COUNT) {
      throw new Error(`o200k_base ranks from js-tiktoken: expected ${TEXT_TOKEN_COUNT} tokens, got ${this.ranks.size}`);
    }
    for (const [name, id] of Object.entries(SPECIAL_TOKENS)) this.specialNames[id] = name;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (!options.allowSpecial) {
      this.encodeOrdinaryInto(text, out);
      return out;
    }
    let start = 0;
    for (const m of text.matchAll(SPECIAL_CANDIDATE)) {
      const id = SPECIAL_TOKENS[m[0]];
      if (id === undefined) continue; // looks like a special token but is not one: plain text
      this.encodeOrdinaryInto(text.slice(start, m.index), out);
      out.push(id);
      start = m.index! + m[0].length;
    }
    this.encodeOrdinaryInto(text.slice(start), out);
    return out;
  }

  /** UTF-8 text of the ids; special tokens decode to their names; broken UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    return new TextDecoder().decode(this.decodeBytes(ids));
  }

  /** The raw bytes of the ids (a single token can be part of a UTF-8 character). */
  decodeBytes(ids: readonly number[]): Uint8Array {
    const parts = ids.map((id) => this.tokenBytes(id));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    if (id >= TEXT_TOKEN_COUNT) return this.encoder.encode(this.specialNames[id]);
    const s = this.tokenStrings[id];
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes;
  }

  /** Id of a special token, by its full name (`<|start|>`) or bare name (`start`). */
  specialId(name: string): number {
    const id = SPECIAL_TOKENS[name] ?? SPECIAL_TOKENS[`<|${name}|>`];
    if (id === undefined) throw new Error(`unknown special token ${JSON.stringify(name)} (o200k_harmony)`);
    return id;
  }

  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= TEXT_TOKEN_COUNT && id < VOCAB_SIZE;
  }

  /** Name of a special token id (`<|start|>`), or undefined for ordinary tokens. */
  specialName(id: number): string | undefined {
    return this.isSpecial(id) ? this.specialNames[id] : undefined;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= VOCAB_SIZE) {
      throw new RangeError(`token id ${id} is outside the o200k_harmony vocabulary (0..${VOCAB_SIZE - 1})`);
    }
  }

  private encodeOrdinaryInto(text: string, out: number[]): void {
    if (text === "") return;
    for (const m of text.matchAll(PIECES)) {
      const utf8 = this.encoder.encode(m[0]);
      let piece = "";
      for (let i = 0; i < utf8.length; i++) piece += String.fromCharCode(utf8[i]);
      this.bytePairEncode(piece, out);
    }
  }

  private bytePairEncode(piece: string, out: number[]): void {
    const whole = this.ranks.get(piece);
    if (whole !== undefined) {
      out.push(whole);
      return;
    }
    const starts = mergeParts(piece, this.ranks);
    for (let k = 0; k < starts.length; k++) {
      const rank = this.ranks.get(piece.slice(starts[k], starts[k + 1] ?? piece.length));
      // Every single byte is a token in o200k_base, so every part has a rank.
      if (rank === undefined) throw new Error("o200k_base BPE: a byte sequence has no rank (corrupt ranks?)");
      out.push(rank);
    }
  }
}

/**
 * tiktoken's merge rule (spec §4.1), returning the start offsets of the final parts of `piece` (a binary
 * string): start from single bytes and repeatedly merge the adjacent pair whose concatenation has the lowest
 * rank, leftmost on ties, until no adjacent pair is a token.
 *
 * The pairs wait in a min-heap ordered by (rank, start), so a piece of n bytes costs O(n log n) rather than
 * the O(n^2) of rescanning every pair after each merge (a long run of spaces or dashes would otherwise take
 * minutes). Heap entries are not removed when a merge changes a pair; they are recognised as stale when
 * popped, by the pair's end no longer matching.
 */
export function mergeParts(piece: string, ranks: ReadonlyMap<string, number>): number[] {
  const n = piece.length;
  // Parts form a linked list keyed by start offset: next[s] = start of the following part (n at the end).
  const next = Int32Array.from({ length: n }, (_, i) => i + 1);
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  const alive = new Uint8Array(n).fill(1);
  const pairEnd = (s: number) => (next[s] < n ? next[next[s]] : -1);
  const heap: [rank: number, start: number, end: number][] = [];
  const less = (a: number, b: number) => heap[a][0] < heap[b][0] || (heap[a][0] === heap[b][0] && heap[a][1] < heap[b][1]);
  const pushPair = (s: number) => {
    const end = pairEnd(s);
    if (end < 0) return;
    const rank = ranks.get(piece.slice(s, end));
    if (rank === undefined) return;
    heap.push([rank, s, end]);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!less(i, parent)) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const popMin = () => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(l, m)) m = l;
        if (r < heap.length && less(r, m)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };

  for (let s = 0; s + 1 < n; s++) pushPair(s);
  while (heap.length > 0) {
    const [, s, end] = popMin();
    if (!alive[s] || pairEnd(s) !== end) continue; // stale: one of the two parts has changed since
    const absorbed = next[s];
    alive[absorbed] = 0;
    next[s] = next[absorbed];
    if (next[s] < n) prev[next[s]] = s;
    if (prev[s] >= 0) pushPair(prev[s]);
    pushPair(s);
  }
  const starts: number[] = [];
  for (let s = 0; s < n; s = next[s]) starts.push(s);
  return starts;
}

/**
 * Incremental decoder for generated ids: returns only complete UTF-8 characters, keeping a partial
 * character until the tokens that finish it arrive. Invalid byte sequences become U+FFFD.
 */
export class StreamDecoder {
  private decoder = new TextDecoder("utf-8");
  constructor(private readonly tokenizer: Tokenizer = getTokenizer()) {}

  push(ids: number | readonly number[]): string {
    const list = typeof ids === "number" ? [ids] : ids;
    return this.decoder.decode(this.tokenizer.decodeBytes(list), { stream: true });
  }

  /** End of stream: whatever is left (an unfinished character becomes U+FFFD). Resets the decoder. */
  flush(): string {
    return this.decoder.decode();
  }
}

let shared: Tokenizer | undefined;

/** The process-wide tokenizer, built on first use (~0.3 s, ~35 MB). */
export function getTokenizer(): Tokenizer {
  return (shared ??= new Tokenizer());
}
