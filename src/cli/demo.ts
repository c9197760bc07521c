// What `npm start` runs: a one-shot chat on gpt-oss-mini, the small trained model shipped as
// weights/gpt-oss-mini.pack and unpacked into weights/gpt-oss-mini on first use. `--tiny` runs the random-weight
// model in weights/tiny instead, written on first use by the synthetic-checkpoint generator (seeded).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureMiniModel } from "../checkpoint/mini.js";
import { synthesize } from "../checkpoint/synth.js";
import type { ReasoningEffort } from "../harmony/types.js";
import { parseArgs, UsageError } from "./args.js";
import { runOneShot } from "./run.js";

export const summary = "one-shot chat on the small model in weights/ (what npm start runs)";

/** weights/tiny (random weights) inside the package, wherever it is run from. */
export const DEMO_MODEL = fileURLToPath(new URL("../../../weights/tiny", import.meta.url));

export async function ensureDemoModel(dir = DEMO_MODEL): Promise<string> {
  if (!existsSync(join(dir, "config.json"))) {
    console.error(`writing a small random-weight gpt-oss model to ${dir} (first run only) ...`);
    await synthesize({ preset: "tiny", outDir: dir });
  }
  return dir;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { model: "string", "max-tokens": "string", prompt: "string", tiny: "boolean", reasoning: "string" });
  const tiny = args.flags.tiny === true;
  const dir = typeof args.flags.model === "string" ? args.flags.model : tiny ? await ensureDemoModel() : await ensureMiniModel();
  const prompt = typeof args.flags.prompt === "string" ? args.flags.prompt : "What is the capital of France?";
  const effort = (args.flags.reasoning as string | undefined) ?? "medium";
  if (!["low", "medium", "high"].includes(effort)) throw new UsageError(`--reasoning must be low, medium or high, got ${JSON.stringify(effort)}`);
  const note = args.flags.model ? "" : tiny ? " (random weights: the reply is random tokens; see README, Chat)" : " (gpt-oss-mini: a tiny trained model; see README, The small model)";
  console.error(`model: ${dir}${note}`);
  console.error(`user: ${prompt}`);
  // Greedy, so the demo shows the same reply everywhere; random weights never write <|return|>: bound the reply.
  await runOneShot(dir, prompt, { maxTokens: Number(args.flags["max-tokens"] ?? (tiny ? 64 : 512)), reasoningEffort: effort as ReasoningEffort, temperature: 0, seed: 0 });
  return 0;
}
