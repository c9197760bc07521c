// node dist/bench/structured-mask.js [--replies N] [--steps N]
//
// The structured-output matcher on the o200k_harmony vocabulary (201,088 ids), measured the way
// bench/xgrammar-eval.mjs measures @mlc-ai/web-xgrammar, on the same schemas (bench/schemas/): set-up
// (tokenizer, vocabulary trie), compile time per schema, and the time of one token mask per step
// (computing the allowed set over the whole vocabulary and applying it to a logits vector) along random
// valid replies: each step takes a random allowed token, so the replies wander through strings, numbers
// and whitespace as random weights do. The budget of each reply is `--steps`, which the matcher has to
// close it within. Runs under Node 20/24 and Deno (deno run --allow-read --allow-env).
import { readFileSync } from "node:fs";
import { getTokenizer, VOCAB_SIZE } from "../src/tokenizer/tokenizer.js";
import { getTokenTrie } from "../src/structured/vocabulary.js";
import { JsonGrammar } from "../src/structured/grammar.js";
import { StructuredReply } from "../src/structured/reply.js";
import { Xoshiro128 } from "../src/util/prng.js";

const argv = process.argv.slice(2);
const value = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const replies = value("replies", 5), steps = value("steps", 200);
const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
const runtime = deno ? `Deno ${deno.version.deno}` : `Node ${process.versions.node}`;
const now = () => performance.now();

let t = now();
getTokenizer();
const tokenizerMs = now() - t;
t = now();
getTokenTrie();
const trieMs = now() - t;
console.log(`${runtime}: tokenizer ${tokenizerMs.toFixed(0)} ms, vocabulary trie ${trieMs.toFixed(0)} ms (once per process)`);

const schemas: [string, string][] = [["any JSON object", "any-object"], ["flat object", "flat-object"], ["every feature", "every-feature"]];
const rng = new Xoshiro128(1);
const logits = new Float32Array(VOCAB_SIZE);
for (const [label, file] of schemas) {
  const schema = JSON.parse(readFileSync(new URL(`../../bench/schemas/${file}.json`, import.meta.url), "utf8"));
  t = now();
  const grammar = new JsonGrammar(schema);
  const compileMs = now() - t;
  const times: number[] = [];
  let valid = 0;
  for (let r = 0; r < replies; r++) {
    // JSON from the first token: the header and reasoning phases cost next to nothing.
    const reply = new StructuredReply({ final: grammar, maxReasoningTokens: 0 }, steps);
    const tokens: number[] = [];
    for (let step = 0; step < steps && !reply.done; step++) {
      logits.fill(0);
      const a = now();
      reply.beforeSample(logits);
      times.push(now() - a);
      let n = 0, pick = -1;
      for (let i = 0; i < logits.length; i++) if (logits[i] === 0 && rng.float() * ++n < 1) pick = i; // reservoir: uniform
      reply.onToken(pick);
      tokens.push(pick);
    }
    const text = /<\|message\|>([\s\S]*)<\|return\|>$/.exec(getTokenizer().decode(tokens))?.[1];
    try {
      if (reply.done && text !== undefined) JSON.parse(text), valid++;
    } catch {
      // counted as not valid
    }
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`${label}: compile ${compileMs.toFixed(1)} ms; mask mean ${mean.toFixed(2)} ms, median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms over ${times.length} steps; ${valid}/${replies} replies closed within ${steps} tokens and parsed`);
}
