// What a LoRA adapter costs at decode: `gpt-oss-ts bench` on one model without and with an adapter,
// alternated run by run (the machine's speed drifts; interleaving spreads the drift over both), medians
// reported. The adapter is a random one in PEFT's format (src/lora/synth.ts), written next to the model
// when none is given: rank r on every attention projection of every layer, plus the experts' gate_up_proj
// and down_proj on the layers named.
//
//   node dist/bench/lora-cost.js --model DIR [--adapter DIR] [--r 16] [--expert-layers 0,1] [--runs 5]
//        [--prompt-tokens 32] [--gen-tokens 64] [--threads N]
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
  },
});
if (!values.model) throw new Error("--model DIR is required");
const model = values.model, r = Number(values.r), runs = Number(values.runs);
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
