// What `npm start` runs: a generation on the small random-weight model in weights/tiny, written on first
// use by the synthetic-checkpoint generator (seeded, so every machine gets the same model).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "../model.js";
import { synthesize } from "../synth.js";
import { parseArgs } from "./args.js";

export const summary = "generate on the small model in weights/ (what npm start runs)";

/** weights/tiny inside the package, wherever it is run from. */
export const DEMO_MODEL = join(fileURLToPath(new URL("../../../weights/tiny", import.meta.url)));

export async function ensureDemoModel(dir = DEMO_MODEL): Promise<string> {
  if (!existsSync(join(dir, "config.json"))) {
    console.error(`writing a small random-weight gpt-oss model to ${dir} (first run only) ...`);
    await synthesize({ preset: "tiny", outDir: dir });
  }
  return dir;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { model: "string", "max-tokens": "string" });
  const dir = typeof args.flags.model === "string" ? args.flags.model : await ensureDemoModel();
  const model = await loadModel(dir);
  const prompt = [200006, 1428, 200008, 24912, 2375, 200007, 200006, 173781]; // <|start|>user<|message|>hello world<|end|><|start|>assistant
  console.log(`model: ${dir} (${model.config.numLayers} layers, hidden ${model.config.hiddenSize}, vocab ${model.config.vocabSize}; random weights)`);
  console.log(`prompt ids: ${prompt.join(",")}`);
  const out: number[] = [];
  const started = performance.now();
  for await (const { token } of model.generate(prompt, { maxTokens: Number(args.flags["max-tokens"] ?? 24), temperature: 0 })) out.push(token);
  const s = (performance.now() - started) / 1000;
  console.log(`generated ids: ${out.join(",")}`);
  console.log(`${out.length} tokens in ${s.toFixed(2)} s. Point --model at a real gpt-oss folder for real output.`);
  return 0;
}
