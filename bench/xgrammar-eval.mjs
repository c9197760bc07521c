// Evaluates @mlc-ai/web-xgrammar (xgrammar compiled to WebAssembly) on the o200k_harmony vocabulary:
// set-up cost, compile time per schema, and the time of one token mask over the 201,088 ids along
// random valid replies (the bitmask, then applied to a logits vector, as bench/structured-mask.ts
// measures this project's matcher). Not a dependency of the project: install it beside the build to run this,
//   npm i --no-save @mlc-ai/web-xgrammar && npm run build && node bench/xgrammar-eval.mjs
// (Node 20/24; Deno: deno run --allow-read --allow-env bench/xgrammar-eval.mjs).
// The figures are in README "Structured output" and docs/structured-output.md.
import { getTokenizer, VOCAB_SIZE, TEXT_TOKEN_COUNT, TOKENS } from "../dist/src/tokenizer/tokenizer.js";
import { SCHEMAS } from "./structured-schemas.mjs";

const runtime = typeof Deno !== "undefined" ? `Deno ${Deno.version.deno}` : `Node ${process.versions.node}`;
// The package is built for browsers: under Node its Emscripten loader calls `require` and reads
// `__filename`, which an ES module does not have, so both are provided as globals first.
import { createRequire } from "node:module";
globalThis.require ??= createRequire(import.meta.url);
globalThis.__filename ??= new URL(import.meta.url).pathname;
let xg;
try {
  // A UMD bundle inside a "type": "module" package: imported as ESM it exports nothing and sets
  // globalThis.xgrammar instead.
  await import("@mlc-ai/web-xgrammar");
  xg = globalThis.xgrammar;
} catch (e) {
  console.error(`@mlc-ai/web-xgrammar is not installed (npm i --no-save @mlc-ai/web-xgrammar): ${e.message}`);
  process.exit(1);
}
const { TokenizerInfo, GrammarCompiler, GrammarMatcher } = xg;
const now = () => performance.now();

// GPT-2's byte-level alphabet: printable bytes stand for themselves, the others for 256 + n.
const byteChar = [];
{
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    byteChar[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
}
const tok = getTokenizer();
let t0 = now();
const vocab = [];
for (let id = 0; id < VOCAB_SIZE; id++) {
  // Special tokens are given as empty strings: xgrammar then never lets a grammar's text match them.
  vocab.push(id < TEXT_TOKEN_COUNT ? Array.from(tok.tokenBytes(id), (b) => byteChar[b]).join("") : "");
}
const vocabMs = now() - t0;
t0 = now();
const info = await TokenizerInfo.createTokenizerInfo(vocab, "byte_level", false, VOCAB_SIZE, [TOKENS.return]);
const infoMs = now() - t0;
t0 = now();
const compiler = await GrammarCompiler.createGrammarCompiler(info, false);
const compilerMs = now() - t0;
console.log(`${runtime}: vocabulary strings ${vocabMs.toFixed(0)} ms, TokenizerInfo ${infoMs.toFixed(0)} ms, GrammarCompiler ${compilerMs.toFixed(0)} ms`);

// xoshiro-free tiny PRNG: the eval only needs varied paths.
let seed = 1;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);

for (const [name, schema] of Object.entries(SCHEMAS)) {
  let compiled;
  t0 = now();
  try {
    compiled = name === "any JSON object"
      ? await compiler.compileBuiltinJSONGrammar()
      : await compiler.compileJSONSchema(JSON.stringify(schema), true, undefined, undefined, true, 8);
  } catch (e) {
    console.log(`${name}: refused: ${String(e.message ?? e).split("\n")[0]}`);
    continue;
  }
  const compileMs = now() - t0;
  const times = [];
  const logits = new Float32Array(VOCAB_SIZE);
  let replies = 0, steps = 0, valid = 0;
  for (let r = 0; r < 5; r++) {
    const m = await GrammarMatcher.createGrammarMatcher(compiled, [TOKENS.return]);
    const text = [];
    for (let step = 0; step < 200 && !m.isTerminated(); step++) {
      logits.fill(0);
      const a = now();
      const mask = await m.getNextTokenBitmask();
      for (let id = 0; id < VOCAB_SIZE; id++) if (!(mask[id >>> 5] & (1 << (id & 31)))) logits[id] = -Infinity;
      times.push(now() - a);
      // A random allowed token (random "logits"), biased to close after 150 steps.
      const allowed = [];
      for (let id = 0; id < VOCAB_SIZE; id++) if (mask[id >>> 5] & (1 << (id & 31))) allowed.push(id);
      const pick = step > 150 && allowed.includes(TOKENS.return) ? TOKENS.return : allowed[Math.floor(rand() * allowed.length)];
      if (!m.acceptToken(pick)) throw new Error(`${name}: matcher refused a token of its own mask`);
      if (pick !== TOKENS.return) text.push(pick);
      steps++;
    }
    replies++;
    if (m.isTerminated()) {
      try { JSON.parse(tok.decode(text)); valid++; } catch {}
    }
    m.dispose();
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`${name}: compile ${compileMs.toFixed(1)} ms; mask mean ${mean.toFixed(2)} ms, median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms over ${steps} steps; ${valid}/${replies} replies ended within 200 steps and parsed`);
  compiled.dispose();
}
process.exit(0);
