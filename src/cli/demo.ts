// What `npm start` runs: a one-shot chat on the small random-weight model in weights/tiny, written on first
// use by the synthetic-checkpoint generator (seeded, so every machine gets the same model).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { synthesize } from "../checkpoint/synth.js";
import { parseArgs } from "./args.js";
import { runOneShot } from "./run.js";

export const summary = "one-shot chat on the small model in weights/ (what npm start runs)";

/** weights/tiny inside the package, wherever it is run from. */
export const DEMO_MODEL = fileURLToPath(new URL("../../../weights/tiny", import.meta.url));

export async function ensureDemoModel(dir = DEMO_MODEL): Promise<string> {
  if (!existsSync(join(dir, "config.json"))) {
    console.error(`writing a small random-weight gpt-oss model to ${dir} (first run only) ...`);
    await synthesize({ preset: "tiny", outDir: dir });
  }
  return dir;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { model: "string", "max-tokens": "string", prompt: "string" });
  const dir = typeof args.flags.model === "string" ? args.flags.model : await ensureDemoModel();
  const prompt = typeof args.flags.prompt === "string" ? args.flags.prompt : "What is the capital of France?";
  console.error(`model: ${dir}${args.flags.model ? "" : " (random weights: the reply is random tokens; see README, Chat)"}`);
  console.error(`user: ${prompt}`);
  // Random weights never write <|return|>: bound the reply.
  await runOneShot(dir, prompt, { maxTokens: Number(args.flags["max-tokens"] ?? 64), reasoningEffort: "low", seed: 0 });
  return 0;
}
