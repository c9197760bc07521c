// Writes the training set: node scripts/train-mini/generate.mjs --seed 1 --examples 60000 --out tmp/mini-data
//   OUT/tokens.u32  every sequence's token ids, one after the other (uint32 little-endian)
//   OUT/loss.u8     1 where the token is one the model must predict (the reply), else 0
//   OUT/offsets.u32 start of each sequence in tokens, plus the end
//   OUT/template.u32 the token ids the data holds outside city names (ascending): the rows train.py trains;
//                    a token seen only inside city names keeps a fixed row, like every token never seen
// Questions of the held-out set (seed HELDOUT_SEED, split "heldout") are skipped.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cityTokens, exampleSequences, HELDOUT_SEED, makeExample, questionKey } from "./tasks.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const seed = Number(arg("seed", "1"));
const count = Number(arg("examples", "60000"));
const out = arg("out", "tmp/mini-data");
const heldoutCount = Number(arg("heldout", "3000"));
// --keep capital=0.3: keep that share of a family's examples (a later stage can favor what is not learned yet).
const keep = Object.fromEntries((arg("keep", "") || "").split(",").filter(Boolean).map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)]));
if (seed === HELDOUT_SEED) throw new Error(`seed ${HELDOUT_SEED} is the held-out seed`);

const heldout = new Set();
for (let i = 0; i < heldoutCount; i++) {
  const key = questionKey(makeExample(HELDOUT_SEED, i, "heldout"));
  if (key) heldout.add(key);
}

const tokens = [], loss = [], offsets = [0];
const template = new Set();
let skipped = 0;
const started = Date.now();
for (let i = 0; i < count; i++) {
  const ex = makeExample(seed, i, "train");
  if (keep[ex.family] !== undefined && ((i * 2654435761) >>> 0) / 2 ** 32 >= keep[ex.family]) continue;
  const key = questionKey(ex);
  if (key && heldout.has(key)) {
    skipped++;
    continue;
  }
  const city = ex.family === "weather" ? new Set(cityTokens(ex.city)) : null;
  for (const s of exampleSequences(ex)) {
    for (const t of s.tokens) if (!city?.has(t)) template.add(t);
    for (let j = 0; j < s.tokens.length; j++) {
      tokens.push(s.tokens[j]);
      loss.push(s.loss[j]);
    }
    offsets.push(tokens.length);
  }
  if (i % 5000 === 0) console.error(`${i} examples, ${tokens.length} tokens, ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "tokens.u32"), new Uint32Array(tokens));
writeFileSync(join(out, "loss.u8"), new Uint8Array(loss));
writeFileSync(join(out, "offsets.u32"), new Uint32Array(offsets));
writeFileSync(join(out, "template.u32"), new Uint32Array([...template].sort((a, b) => a - b)));
console.error(`${offsets.length - 1} sequences, ${tokens.length} tokens (${loss.filter(Boolean).length} with loss); ${skipped} held-out questions skipped -> ${out}`);
