// The `o200k_harmony` tokenizer (spec §4): the o200k_base byte-level BPE plus the Harmony special tokens.
//
// The merge ranks come from the `js-tiktoken` package (its `ranks/o200k_base` module ships them, so this
// works offline). The BPE itself is written here rather than taken from js-tiktoken's `Tiktoken` class:
// that class takes ~2.5 s and ~100 MB to build its tables, gives no access to a token's raw bytes (needed
// to stream-decode without splitting a UTF-8 character), and uses JavaScript's `\s`, which differs from
// the Rust regex crate's Unicode whitespace that tiktoken uses (spec §4.1 "Whitespace caveat").
import { GptOssError } from "../util/errors.js";
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
  /**
   * Refuse text of more tokens than this with a TokenLimitError, as early as can be told: before any work
   * when the text is too long for so few tokens, else as soon as the count passes the limit.
   */
  maxTokens?: number;
}

/** Bytes of the longest o200k_base token (128 spaces): a text of B bytes is at least B / 128 tokens. */
export const MAX_TOKEN_BYTES = 128;

/** The text has more tokens than EncodeOptions.maxTokens allows; `atLeast` is what was counted. */
export class TokenLimitError extends GptOssError {
  constructor(readonly limit: number, readonly atLeast: number) {
    super(`the text is at least ${atLeast} tokens, more than the limit of ${limit}`);
  }
}

// Work between two chances to yield (input bytes, or merges within one long piece).
const WORK_SLICE = 1 << 16;
// encodeAsync lets the event loop run once its slices have taken this long.
const YIELD_AFTER_MS = 8;

export class Tokenizer {
  readonly vocabSize = VOCAB_SIZE;
  readonly name = "o200k_harmony";

  /** token bytes as a "binary string" (one char per byte, 0..255) -> rank; and the reverse */
  private readonly ranks = new Map<string, number>();
  private readonly tokenStrings: string[] = [];
  private readonly specialNames: string[] = [];

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
    const steps = this.encodeSteps(text, out, options);
    while (!steps.next().done);
    return out;
  }

  /**
   * encode, in slices of work that let the event loop run in between (a long text, or one long word, would
   * otherwise hold a server's thread for seconds). Same ids as encode.
   */
  async encodeAsync(text: string, options: EncodeOptions = {}): Promise<number[]> {
    const out: number[] = [];
    const steps = this.encodeSteps(text, out, options);
    let since = performance.now();
    while (!steps.next().done) {
      if (performance.now() - since < YIELD_AFTER_MS) continue;
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
    return out;
  }

  /** The encoder, pausing (yield) after every slice of work; ids go to `out`. */
  private *encodeSteps(text: string, out: number[], options: EncodeOptions): Generator<void, void, void> {
    const limit = options.maxTokens ?? Infinity;
    // Every UTF-16 unit is at least one UTF-8 byte, and a special token's spelling is shorter than 128.
    const least = Math.ceil(text.length / MAX_TOKEN_BYTES);
    if (least > limit) throw new TokenLimitError(limit, least);
    if (!options.allowSpecial) return yield* this.ordinarySteps(text, out, limit);
    let start = 0;
    for (const m of text.matchAll(SPECIAL_CANDIDATE)) {
      const id = SPECIAL_TOKENS[m[0]];
      if (id === undefined) continue; // looks like a special token but is not one: plain text
      yield* this.ordinarySteps(text.slice(start, m.index), out, limit);
      if (out.length + 1 > limit) throw new TokenLimitError(limit, out.length + 1);
      out.push(id);
      start = m.index! + m[0].length;
    }
    yield* this.ordinarySteps(text.slice(start), out, limit);
  }

  /** UTF-8 text of the ids; special tokens decode to their names; broken UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    return new TextDecoder().decode(this.decodeBytes(ids));
  }

  /** The raw bytes of the ids (a single token can be part of a UTF-8 character). */
  decodeBytes(ids: readonly number[]): Uint8Array {
    const parts = ids.map((id) => this.binaryToken(id));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) for (let i = 0; i < p.length; i++) out[at++] = p.charCodeAt(i);
    return out;
  }

  tokenBytes(id: number): Uint8Array {
    return this.decodeBytes([id]);
  }

  /** A token's bytes as a binary string (one char per byte); special tokens as their (ASCII) names. */
  private binaryToken(id: number): string {
    this.checkId(id);
    return id >= TEXT_TOKEN_COUNT ? this.specialNames[id] : this.tokenStrings[id];
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

  /** BPE of text without special tokens: the pre-tokenisation regex cuts pieces, each is merged alone. */
  private *ordinarySteps(text: string, out: number[], limit: number): Generator<void, void, void> {
    if (text === "") return;
    let work = 0;
    for (const m of text.matchAll(PIECES)) {
      const piece = binaryString(m[0]);
      // A piece of n bytes is at least n / 128 tokens: a long one past the limit is refused unmerged.
      const least = out.length + Math.ceil(piece.length / MAX_TOKEN_BYTES);
      if (least > limit) throw new TokenLimitError(limit, least);
      const whole = this.ranks.get(piece);
      if (whole !== undefined) out.push(whole);
      else {
        const starts = yield* mergeSteps(piece, this.ranks);
        for (let k = 0; k < starts.length; k++) {
          const rank = this.ranks.get(piece.slice(starts[k], starts[k + 1] ?? piece.length));
          // Every single byte is a token in o200k_base, so every part has a rank.
          if (rank === undefined) throw new Error("o200k_base BPE: a byte sequence has no rank (corrupt ranks?)");
          out.push(rank);
          if (k % WORK_SLICE === WORK_SLICE - 1) yield;
        }
      }
      if (out.length > limit) throw new TokenLimitError(limit, out.length);
      work += piece.length;
      if (work >= WORK_SLICE) {
        work = 0;
        yield;
      }
    }
  }
}

const UTF8 = new TextEncoder();

/** The UTF-8 bytes of `text` as a "binary string" (one char per byte), the key the ranks use. */
function binaryString(text: string): string {
  if (!/[^\x00-\x7f]/.test(text)) return text; // ASCII: already one char per byte
  const utf8 = UTF8.encode(text);
  let s = "";
  for (let i = 0; i < utf8.length; i += 8192) s += String.fromCharCode(...utf8.subarray(i, i + 8192));
  return s;
}

/**
 * tiktoken's merge rule (spec §4.1), returning the start offsets of the final parts of `piece` (a binary
 * string): start from single bytes and repeatedly merge the adjacent pair whose concatenation has the lowest
 * rank, leftmost on ties, until no adjacent pair is a token.
 */
export function mergeParts(piece: string, ranks: ReadonlyMap<string, number>): number[] {
  const steps = mergeSteps(piece, ranks);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * mergeParts, pausing after every slice of merges. The pairs wait in a min-heap ordered by (rank, start),
 * so a piece of n bytes costs O(n log n) rather than the O(n^2) of rescanning every pair after each merge,
 * and memory is a few typed arrays of n entries. Heap entries are not removed when a merge changes a pair:
 * an entry is stale when popped if the pair now at its start has another rank (`pairRank`, kept current).
 * With equal ranks the stale entry has the same key as the live one, so acting on either is the same.
 */
function* mergeSteps(piece: string, ranks: ReadonlyMap<string, number>): Generator<void, number[], void> {
  const n = piece.length;
  // Parts form a linked list keyed by start offset: next[s] = start of the following part (n at the end).
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  for (let i = 0; i < n; i++) (next[i] = i + 1), (prev[i] = i - 1);
  // Rank of the pair starting at s (the part at s and the next one); -1: no such pair, or not a token.
  const pairRank = new Int32Array(n).fill(-1);
  // Entries are rank * 2^32 + start: one number that orders by rank, then by start (ranks < 2^21).
  let heap = new Float64Array(Math.max(16, n));
  let size = 0;
  const pushPair = (s: number) => {
    const end = next[s] < n ? next[next[s]] : -1;
    const rank = end < 0 ? undefined : ranks.get(piece.slice(s, end));
    pairRank[s] = rank ?? -1;
    if (rank === undefined) return;
    if (size === heap.length) {
      const grown = new Float64Array(2 * size);
      grown.set(heap);
      heap = grown;
    }
    const key = rank * 4294967296 + s;
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= key) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = key;
  };
  const popMin = (): number => {
    const top = heap[0];
    const last = heap[--size];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const m = l + 1 < size && heap[l + 1] < heap[l] ? l + 1 : l;
      if (heap[m] >= last) break;
      heap[i] = heap[m];
      i = m;
    }
    heap[i] = last;
    return top;
  };

  let work = 0;
  for (let s = 0; s + 1 < n; s++) {
    pushPair(s);
    if (++work === WORK_SLICE) {
      work = 0;
      yield;
    }
  }
  while (size > 0) {
    if (++work === WORK_SLICE) {
      work = 0;
      yield;
    }
    const key = popMin();
    const s = key % 4294967296;
    if (pairRank[s] !== (key - s) / 4294967296) continue; // stale: the pair at s has changed since
    const absorbed = next[s];
    pairRank[absorbed] = -1; // no longer the start of a part
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
