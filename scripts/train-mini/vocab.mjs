// The vocabulary of a training set, beyond the tokens its data holds: writes into the data folder
//   OUT/extra.u32  token ids the model keeps a row for although the data never shows them: the vocabulary
//                  words invented city names are made of (" Oslo" and "Oslo"), and the bare form of every
//                  spaced word the data holds, so a name can be copied after a quote
//   OUT/pairs.u32  (bare id, spaced id) pairs, "Oslo" with " Oslo", for model.py's pair map
//   node scripts/train-mini/vocab.mjs --data tmp/mini-data3
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tok, wordPieces } from "./tasks.mjs";

const i = process.argv.indexOf("--data");
const data = i >= 0 ? process.argv[i + 1] : "tmp/mini-data";
const used = new Set(new Uint32Array(readFileSync(join(data, "tokens.u32")).buffer));
const byText = new Map();
for (let id = 0; id < 199998; id++) byText.set(tok.decode([id]), id);

const spaced = new Set([...used].filter((id) => /^ [A-Za-z]+$/.test(tok.decode([id]))));
for (const w of wordPieces()) spaced.add(byText.get(` ${w}`));
const extra = new Set(), pairs = [];
for (const s of spaced) {
  if (!used.has(s)) extra.add(s);
  const bare = byText.get(tok.decode([s]).slice(1));
  if (bare === undefined) continue;
  if (!used.has(bare)) extra.add(bare);
  pairs.push(bare, s);
}
writeFileSync(join(data, "extra.u32"), new Uint32Array([...extra].sort((a, b) => a - b)));
writeFileSync(join(data, "pairs.u32"), new Uint32Array(pairs));
console.error(`${used.size} tokens in the data, ${extra.size} more kept, ${pairs.length / 2} bare/spaced pairs -> ${data}`);
