// Held-out conversations as token sequences, for family_loss.py (loss per family while a run trains):
//   node scripts/train-mini/heldout-data.mjs --out tmp/heldout [--examples 150]
// The same files as generate.mjs (tokens.u32, loss.u8, offsets.u32) plus family.u8, one byte per
// sequence: 0 arithmetic, 1 capital, 2 weather call, 3 weather answer. Questions of seed HELDOUT_SEED,
// the ones evaluate.mjs asks (first ones first).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exampleSequences, HELDOUT_SEED, makeExample } from "./tasks.mjs";

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const out = arg("out", "tmp/heldout");
const count = Number(arg("examples", "150"));
const tokens = [], loss = [], offsets = [0], family = [];
for (let i = 0; i < count; i++) {
  const ex = makeExample(HELDOUT_SEED, i, "heldout");
  exampleSequences(ex).forEach((s, turn) => {
    tokens.push(...s.tokens);
    loss.push(...s.loss);
    offsets.push(tokens.length);
    family.push({ arithmetic: 0, capital: 1, weather: 2 + turn }[ex.family]);
  });
}
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "tokens.u32"), new Uint32Array(tokens));
writeFileSync(join(out, "loss.u8"), new Uint8Array(loss));
writeFileSync(join(out, "offsets.u32"), new Uint32Array(offsets));
writeFileSync(join(out, "family.u8"), new Uint8Array(family));
console.error(`${offsets.length - 1} held-out sequences, ${tokens.length} tokens -> ${out}`);
