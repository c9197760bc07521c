// What a LoRA adapter costs at decode: `gpt-oss-ts bench` on one model without and with an adapter,
// alternated run by run (the machine's speed drifts; interleaving spreads the drift over both), medians
// reported. The adapter is a random one in PEFT's format (src/lora/synth.ts), written next to the model
// when none is given: rank r on every attention projection of every layer, plus the experts' gate_up_proj
// and down_proj on the layers named.
//
// --in-process: one process, one load, the base model and the adapter as two views of the same weights,
// decoding in alternate rounds of a few tokens each; on a machine whose speed moves run to run (a shared
// VM) this compares like with like far more tightly than separate runs do.
//
//   node dist/bench/lora-cost.js --model DIR [--adapter DIR] [--r 16] [--expert-layers 0,1] [--runs 5]
//        [--prompt-tokens 32] [--gen-tokens 64] [--threads N] [--in-process [--rounds 20] [--round-tokens 4]]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import { synthesizeAdapter } from "../src/lora/synth.js";
import type { BenchResult } from "../src/perf/model-bench.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    adapter: { type: "string" },
    r: { type: "string", default: "16" },
    "expert-layers": { type: "string", default: "0" },
    runs: { type: "string", default: "5" },
    "prompt-tokens": { type: "string", default: "32" },
    "gen-tokens": { type: "string", default: "64" },
    threads: { type: "string" },
    "in-process": { type: "boolean", default: false },
    rounds: { type: "string", default: "20" },
    "round-tokens": { type: "string", default: "4" },
  },
});
if (!values.model) throw new Error("--model DIR is required");
const model = values.model, model_ = model, r = Number(values.r), runs = Number(values.runs);
const expertLayers = values["expert-layers"] === "" ? [] : values["expert-layers"]!.split(",").map(Number);
const adapter = values.adapter ?? `${model.replace(/\/+$/, "")}-lora-r${r}`;
if (!existsSync(adapter)) {
  const ck = Checkpoint.open(model);
  synthesizeAdapter(adapter, ck.config, { r, expertLayers });
  ck.close();
  console.log(`wrote ${adapter}: r=${r}, q/k/v/o on every layer, experts on layers ${expertLayers.join(",") || "none"}`);
}

const main = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const bench = (lora: boolean): BenchResult => {
  const args = [main, "bench", "--model", model, "--prompt-tokens", values["prompt-tokens"]!, "--gen-tokens", values["gen-tokens"]!, "--json"];
  if (values.threads) args.push("--threads", values.threads);
  if (lora) args.push("--lora", adapter);
  const p = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  if (p.status !== 0) throw new Error(`bench failed: ${p.stderr}`);
  return JSON.parse(p.stdout) as BenchResult;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
if (values["in-process"]) {
  await inProcess();
  process.exit(0);
}
const base: number[] = [], withLora: number[] = [];
for (let i = 0; i < runs; i++) {
  for (const lora of i % 2 === 0 ? [false, true] : [true, false]) {
    const res = bench(lora);
    (lora ? withLora : base).push(res.decode.tokensPerS);
    console.log(`run ${i + 1} ${lora ? "with LoRA   " : "without LoRA"}: decode ${res.decode.tokensPerS.toFixed(3)} tokens/s, ` +
      `${(res.decode.bytesPerToken / 1e9).toFixed(4)} GB/token, prefill ${res.prefill.tokensPerS.toFixed(2)} tokens/s (${res.runtime}, ${res.simd}, ${res.threads} threads)`);
  }
}
const mb = median(base), ml = median(withLora);
console.log(`decode median: without ${mb.toFixed(3)}, with ${ml.toFixed(3)} tokens/s: the adapter costs ${(100 * (mb / ml - 1)).toFixed(1)}% more time per token`);

/**
 * Base and adapter as views of one loaded model, profiled in alternate rounds (a short prompt, then
 * `round-tokens` decode steps): the decode time per token of each, and the adapter's own kernel time
 * (profile's "LoRA adapters" row), which whole-token timings on a noisy machine cannot resolve.
 */
async function inProcess(): Promise<void> {
  const { loadModel } = await import("../src/model/model.js");
  const { profileModel } = await import("../src/perf/profile.js");
  const rounds = Number(values.rounds), per = Number(values["round-tokens"]);
  const model = await loadModel(model_, { lora: [{ path: adapter }], threads: values.threads ? Number(values.threads) : undefined });
  const views = [model.withAdapters([]), model];
  const ms: { total: number[]; lora: number[] }[] = views.map(() => ({ total: [], lora: [] }));
  for (let i = 0; i < rounds; i++) {
    for (const v of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const p = profileModel(views[v], { promptTokens: 4, genTokens: per, warmup: i === 0, temperature: 0 });
      ms[v].total.push(p.decode.totalMs / per);
      ms[v].lora.push((p.decode.ops.find((r) => r.op === "lora")?.ms ?? 0) / per);
    }
  }
  model.dispose();
  const range = (xs: number[]) => `median ${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;
  const ratios = ms[0].total.map((x, i) => ms[1].total[i] / x);
  console.log(`${rounds} rounds of ${per} decode tokens, alternating, one load (${model.kernels.name}; adapter: ${views[1].adapters[0].summary})`);
  console.log(`decode ms/token without: ${range(ms[0].total)}; with: ${range(ms[1].total)}; per-round ratio with/without: median ${median(ratios).toFixed(3)}`);
  console.log(`the adapter's kernels: ${range(ms[1].lora)} ms/token = ${(100 * median(ms[1].lora) / median(ms[1].total)).toFixed(2)}% of a token`);
}
