// What `npm start` runs: a one-shot chat on the small random-weight model in weights/tiny, written on first
// use by the synthetic-checkpoint generator (seeded, so every machine gets the same model).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { synthesize } from "../checkpoint/synth.js";
import { optionalInteger, parseArgs, UsageError } from "./args.js";
import { modelDirOf } from "./common.js";
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

const HELP = `usage: gpt-oss-ts demo [--prompt TEXT] [--model DIR] [--max-tokens N]

What \`npm start\` runs: one question, one streamed reply (as \`gpt-oss-ts run\`), on a small random-weight
model of the gpt-oss architecture with the real vocabulary, written to weights/tiny the first time (52 MB,
seeded). Its reply is random tokens by construction; it shows the engine working end to end.

  --prompt TEXT      the question (default "What is the capital of France?")
  --model DIR        another checkpoint folder or Hub id instead of weights/tiny
  --max-tokens N     most tokens of the reply (default 64)`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { model: "string", "max-tokens": "string", prompt: "string", help: "boolean" });
  if (args.flags.help) return void console.log(HELP), 0;
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])} (the question goes in --prompt)`);
  const maxTokens = optionalInteger(args, "max-tokens", 64, 1);
  const dir = typeof args.flags.model === "string" ? modelDirOf(args) : await ensureDemoModel();
  const prompt = typeof args.flags.prompt === "string" ? args.flags.prompt : "What is the capital of France?";
  console.error(`model: ${dir}${args.flags.model ? "" : " (random weights: the reply is random tokens; see README, Chat)"}`);
  console.error(`user: ${prompt}`);
  // Random weights never write <|return|>: bound the reply.
  await runOneShot(dir, prompt, { maxTokens, reasoningEffort: "low", seed: 0 });
  return 0;
}
