// What tracing costs when it is off. The forward pass calls `observe?.(...)` at each activation; with no
// observer that is a skipped call. To measure it, this compares the shipped forward pass against a copy
// of it with every observe line deleted (built from dist/src/model/forward.js at run time), and shows a
// no-op observer and a full trace for scale. Variants run interleaved in rounds; medians are reported.
//
//   node dist/bench/trace-overhead.js [--model DIR] [--rounds N] [--prompt-tokens N] [--decode-tokens N]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Transformer } from "../src/model/forward.js";
import { loadModel } from "../src/model/model.js";
import { Tracer } from "../src/trace/trace.js";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: new URL("../../test/fixtures/dev/checkpoint", import.meta.url).pathname },
    rounds: { type: "string", default: "40" },
    "prompt-tokens": { type: "string", default: "33" },
    "decode-tokens": { type: "string", default: "32" },
  },
});
const rounds = Number(values.rounds), promptTokens = Number(values["prompt-tokens"]), decodeTokens = Number(values["decode-tokens"]);

/** The forward pass with every `observe?.(...)` statement removed: tracing compiled out. */
async function strippedTransformer(): Promise<typeof Transformer> {
  const url = new URL("../src/model/forward.js", import.meta.url);
  const source = readFileSync(url, "utf8");
  const observeLine = /^\s*observe\?\.\(.*\);\s*$/gm;
  const removed = source.match(observeLine)?.length ?? 0;
  let stripped = source.replace(observeLine, "");
  if (removed < 14 || stripped.includes("observe?.(")) throw new Error(`could not strip the observe calls (removed ${removed})`);
  // Relative imports resolve against the original folder; the copy is loaded from a data: URL.
  stripped = stripped.replace(/from "(\.\/[^"]+)"/g, (_, rel: string) => `from "${new URL(rel, url).href}"`).replace(/\/\/# sourceMappingURL=.*$/m, "");
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(stripped).toString("base64")}`)) as { Transformer: typeof Transformer };
  console.log(`stripped copy of forward.js: ${removed} observe calls removed`);
  return mod.Transformer;
}

const model = await loadModel(values.model);
const { config, weights, kernels } = model.transformer;
const Stripped = await strippedTransformer();
const plain = new Transformer(config, weights, kernels), bare = new Stripped(config, weights, kernels);
const prompt = Array.from({ length: promptTokens }, (_, i) => (i * 7919 + 13) % config.vocabSize);

type Variant = { name: string; run: () => void };
const workload = (forward: (tokens: number[], cache: ReturnType<Transformer["newCache"]>) => void, tf: Transformer) => () => {
  const cache = tf.newCache();
  forward(prompt, cache);
  for (let i = 0; i < decodeTokens; i++) forward([prompt[i % prompt.length]], cache);
};
const variants: Variant[] = [
  { name: "no observe calls (stripped copy)", run: workload((t, c) => bare.forward(t, c), bare) },
  { name: "observe undefined (as shipped)", run: workload((t, c) => plain.forward(t, c, { observe: undefined }), plain) },
  { name: "no-op observer", run: workload((t, c) => plain.forward(t, c, { observe: () => {} }), plain) },
  {
    name: "full trace (no lens)", run: () => {
      const tracer = new Tracer(plain, { lens: false });
      workload((t, c) => tracer.forward(t, c), plain)();
    },
  },
];

// Wall time, and CPU time of this process (less disturbed by other work on a shared machine).
const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
const cpu = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (let r = 0; r < 3; r++) for (const v of variants) v.run(); // warm-up: let the JIT settle
for (let r = 0; r < rounds; r++) {
  // Rotate the order each round so drift (thermal, GC) does not favour one variant.
  for (let i = 0; i < variants.length; i++) {
    const v = variants[(i + r) % variants.length];
    const c0 = process.cpuUsage(), t0 = performance.now();
    v.run();
    times.get(v.name)!.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.get(v.name)!.push((c.user + c.system) / 1000);
  }
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const base = median(times.get(variants[0].name)!), baseMin = Math.min(...times.get(variants[0].name)!);
const baseCpu = median(cpu.get(variants[0].name)!);
console.log(`model ${values.model} (${config.numLayers} layers, hidden ${config.hiddenSize}), backend ${kernels.name}`);
console.log(`workload: prefill ${promptTokens} tokens + ${decodeTokens} decode steps; ${rounds} rounds`);
console.log(`${"variant".padEnd(34)} ${"median".padStart(9)}     ${"vs stripped".padStart(11)}  ${"min".padStart(9)}     ${"vs stripped".padStart(11)}  ${"CPU median".padStart(10)}     ${"vs stripped".padStart(11)}`);
for (const v of variants) {
  const ts = times.get(v.name)!, m = median(ts), lo = Math.min(...ts), mc = median(cpu.get(v.name)!);
  const rel = (x: number, b: number) => `${(((x - b) / b) * 100).toFixed(2)}%`.padStart(11);
  console.log(`${v.name.padEnd(34)} ${m.toFixed(2).padStart(9)} ms  ${rel(m, base)}  ${lo.toFixed(2).padStart(9)} ms  ${rel(lo, baseMin)}  ${mc.toFixed(2).padStart(10)} ms  ${rel(mc, baseCpu)}`);
}
