// Decode steps after an N-token prompt, two builds in one process: each loads the model (same
// checkpoint, same options), runs the same prompt, then they decode in alternating blocks of 4 steps
// (32 each), so a machine shared with other work slows both alike. Prints the median ms per step.
//   node bench/decode-ab.mjs BEFORE_ROOT AFTER_ROOT MODEL_DIR [N ...] (defaults: 128 1024 4096)
// Options: env THREADS (default 1), PRECISION (default fast; needs relaxed SIMD, e.g. Node 24).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [beforeRoot, afterRoot, dir, ...ns] = process.argv.slice(2);
if (!dir) throw new Error("usage: node bench/decode-ab.mjs BEFORE_ROOT AFTER_ROOT MODEL_DIR [N ...]");
const options = { threads: Number(process.env.THREADS ?? 1), precision: process.env.PRECISION ?? "fast", onWarning: () => {} };
const load = async (root) => (await import(`${pathToFileURL(resolve(root)).href}/dist/src/index.js`)).loadModel(dir, options);
const builds = [["before", await load(beforeRoot)], ["after", await load(afterRoot)]];
const argmax = (l) => l.reduce((b, x, i) => (x > l[b] ? i : b), 0);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const N of (ns.length ? ns : ["128", "1024", "4096"]).map(Number)) {
  const V = builds[0][1].config.vocabSize;
  const prompt = Array.from({ length: N }, (_, i) => (i * 7919 + 13) % V);
  const runs = builds.map(([name, model]) => {
    const cache = model.newCache();
    let logits;
    for (let at = 0; at < N; at += 512) logits = model.transformer.forward(prompt.slice(at, at + 512), cache, { logits: at + 512 >= N ? "last" : "none" });
    return { name, model, cache, token: argmax(logits), ms: [] };
  });
  for (let block = 0; block < 8; block++) {
    for (const r of runs) {
      for (let s = 0; s < 4; s++) {
        const t0 = performance.now();
        const logits = r.model.transformer.forward([r.token], r.cache);
        r.ms.push(performance.now() - t0);
        r.token = argmax(logits);
      }
    }
  }
  const [a, b] = runs.map((r) => median(r.ms));
  console.log(`prompt ${N}: before ${a.toFixed(1)} ms/step (${(1000 / a).toFixed(2)} tok/s), after ${b.toFixed(1)} ms/step (${(1000 / b).toFixed(2)} tok/s), after/before time ${(b / a).toFixed(3)}`);
  for (const r of runs) r.cache.release?.();
}
for (const [, m] of builds) m.dispose();
