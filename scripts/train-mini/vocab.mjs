// The vocabulary of a training set, beyond the tokens its data holds: writes into the data folder
//   OUT/extra.u32    token ids in the exact softmax although the data never shows them: the vocabulary words
//                    invented city names are made of (" Oslo" and "Oslo") and every number token
//   OUT/pairs.u32    (bare id, spaced id) for every word of the vocabulary written both ways ("Oslo", " Oslo"),
//                    for model.py's pair map
//   OUT/digits.u32   (id, hundreds, tens, ones) of every number token "0".."999" (10: no such digit), for
//                    model.py's digit embedding
//   OUT/trained.u32  the ids whose rows are trained: template.u32 (the data outside city names) plus every
//                    capital's and country's tokens; all other ids keep fixed rows (model.py fixed_rows)
//   node scripts/train-mini/vocab.mjs --data tmp/mini-data4
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CAPITALS } from "./facts.mjs";
import { cityTokens, tok, wordPieces } from "./tasks.mjs";

const i = process.argv.indexOf("--data");
const data = i >= 0 ? process.argv[i + 1] : "tmp/mini-data";
const u32 = (name) => new Uint32Array(readFileSync(join(data, name)).buffer.slice(0));
const used = new Set(u32("tokens.u32"));
const byText = new Map();
for (let id = 0; id < 199998; id++) byText.set(tok.decode([id]), id);

const extra = new Set();
for (const w of wordPieces()) for (const form of [w, ` ${w}`]) if (!used.has(byText.get(form))) extra.add(byText.get(form));
const pairs = [];
for (const [text, id] of byText) {
  if (!/^[A-Za-z]+$/.test(text)) continue;
  const spaced = byText.get(` ${text}`);
  if (spaced !== undefined) pairs.push(id, spaced);
}
const digits = [];
for (const [text, id] of byText) {
  if (!/^[0-9]{1,3}$/.test(text)) continue;
  if (!used.has(id)) extra.add(id);
  const d = text.padStart(3, "x").split("").map((c) => (c === "x" ? 10 : Number(c)));
  digits.push(id, ...d);
}
const trained = new Set(u32("template.u32"));
for (const [country, capital] of CAPITALS) for (const name of [country, country.replace(/^the /, ""), capital]) for (const t of cityTokens(name)) trained.add(t);

const sorted = (s) => new Uint32Array([...s].sort((a, b) => a - b));
writeFileSync(join(data, "extra.u32"), sorted(extra));
writeFileSync(join(data, "pairs.u32"), new Uint32Array(pairs));
writeFileSync(join(data, "digits.u32"), new Uint32Array(digits));
writeFileSync(join(data, "trained.u32"), sorted(trained));
console.error(`${used.size} tokens in the data (${trained.size} trained), ${extra.size} more in the softmax, ${pairs.length / 2} bare/spaced pairs, ${digits.length / 4} number tokens -> ${data}`);
