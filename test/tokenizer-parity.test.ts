// Our BPE against js-tiktoken's own encoder over the same o200k_base ranks. Building js-tiktoken's tables
// takes a few seconds, so this lives apart from the quick tokenizer tests.
import { readFileSync } from "node:fs";
import { Tiktoken } from "js-tiktoken/lite";
import o200kBase from "js-tiktoken/ranks/o200k_base";
import { describe, expect, it } from "vitest";
import { getTokenizer, mergeParts } from "../src/tokenizer/tokenizer.js";

describe("BPE parity", () => {
  it("encodes like js-tiktoken's o200k_base (ordinary text)", () => {
    const ours = getTokenizer();
    const reference = new Tiktoken({ ...o200kBase, special_tokens: { "<|endoftext|>": 199999 } });
    const texts = [
      readFileSync(new URL("./fixtures/chat-template/chat_template.jinja", import.meta.url), "utf8"),
      readFileSync(new URL("./fixtures/harmony/test_browser_and_python_tool.txt", import.meta.url), "utf8"),
      "emoji 😀👍🏽 family 👨‍👩‍👧 日本語のテキスト、中文，한국어 I'm THEY'LL 12345678",
      " ".repeat(700) + "x" + "=".repeat(500) + "ab".repeat(300),
    ];
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = ["a", "b", "e", "r", "t", " ", "é", "的", "😀", "-", "=", "\n", "1", "th", "ing", "'s"];
    for (let i = 0; i < 200; i++) {
      texts.push(Array.from({ length: 1 + Math.floor(rand() * 200) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(""));
    }
    // js-tiktoken splits with JavaScript's \s, which differs from Rust's only on U+0085/U+FEFF: none here.
    for (const text of texts) expect(ours.encode(text)).toEqual(reference.encode(text, [], []));
  });

  it("merges like the plain rescanning algorithm, ties going to the leftmost pair", () => {
    // A toy vocabulary; the plain algorithm is the definition the heap version must reproduce.
    const vocab = ["a", "b", "c", "ab", "bc", "ca", "aa", "abc", "aab", "cab", "bcab", "aaa", "bb", "cc", "abab"];
    let seed = 3;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 50; trial++) {
      const ranks = new Map(vocab.map((t) => [t, Math.floor(rand() * 8)] as [string, number])); // ties on purpose
      for (let i = 0; i < 40; i++) {
        const piece = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => "abc"[Math.floor(rand() * 3)]).join("");
        expect(mergeParts(piece, ranks)).toEqual(plainMerge(piece, ranks));
      }
    }
  });

  it("handles long runs in near-linear time", () => {
    const t0 = performance.now();
    const ids = getTokenizer().encode(" ".repeat(100_000));
    expect(getTokenizer().decode(ids)).toBe(" ".repeat(100_000));
    expect(performance.now() - t0).toBeLessThan(10_000); // the quadratic algorithm needs minutes
  });
});

function plainMerge(piece: string, ranks: ReadonlyMap<string, number>): number[] {
  const starts = Array.from(piece, (_, i) => i);
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let k = 0; k + 1 < starts.length; k++) {
      const rank = ranks.get(piece.slice(starts[k], starts[k + 2] ?? piece.length));
      if (rank !== undefined && rank < bestRank) [best, bestRank] = [k, rank];
    }
    if (best < 0) return starts;
    starts.splice(best + 1, 1);
  }
}
