// What `npm start` runs: a one-shot chat on gpt-oss-mini, the small trained model shipped as
// weights/gpt-oss-mini.pack and unpacked into weights/gpt-oss-mini on first use. `--tiny` runs the random-weight
// model in weights/tiny instead, written on first use by the synthetic-checkpoint generator (seeded).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureMiniModel } from "../checkpoint/mini.js";
import { synthesize } from "../checkpoint/synth.js";
import type { ReasoningEffort } from "../harmony/types.js";
import { optionalInteger, parseArgs, UsageError } from "./args.js";
import { modelDirOf } from "./common.js";
import { runOneShot } from "./run.js";


/** weights/tiny (random weights) inside the package, wherever it is run from. */
export const DEMO_MODEL = fileURLToPath(new URL("../../../weights/tiny", import.meta.url));

export async function ensureDemoModel(dir = DEMO_MODEL): Promise<string> {
  if (!existsSync(join(dir, "config.json"))) {
    console.error(`writing a small random-weight gpt-oss model to ${dir} (first run only) ...`);
    await synthesize({ preset: "tiny", outDir: dir });
  }
  return dir;
}

/** The question `npm start` asks. */
const DEFAULT_PROMPT = "What is the capital of France?";

const HELP = `usage: gpt-oss-ts demo [--prompt TEXT] [--reasoning low|medium|high] [--model DIR] [--max-tokens N] [--tiny]

What \`npm start\` runs: one question, one streamed reply (as \`gpt-oss-ts run\`), greedy, on gpt-oss-mini,
a tiny model of the gpt-oss architecture trained by this project (README, The small model), unpacked from
weights/gpt-oss-mini.pack into weights/gpt-oss-mini the first time.

  --prompt TEXT      the question (default "${DEFAULT_PROMPT}")
  --reasoning EFFORT low, medium (default) or high
  --model DIR        another checkpoint folder or Hub id instead of gpt-oss-mini
  --max-tokens N     most tokens of the reply (default 512; 64 with --tiny)
  --tiny             the random-weight model in weights/tiny instead (written the first time, 52 MB, seeded):
                     its reply is random tokens by construction`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { model: "string", "max-tokens": "string", prompt: "string", tiny: "boolean", reasoning: "string", help: "boolean" });
  if (args.flags.help) return void console.log(HELP), 0;
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])} (the question goes in --prompt)`);
  const tiny = args.flags.tiny === true;
  const maxTokens = optionalInteger(args, "max-tokens", tiny ? 64 : 512, 1);
  const dir = typeof args.flags.model === "string" ? modelDirOf(args) : tiny ? await ensureDemoModel() : await ensureMiniModel();
  const prompt = typeof args.flags.prompt === "string" ? args.flags.prompt : DEFAULT_PROMPT;
  const effort = (args.flags.reasoning as string | undefined) ?? "medium";
  if (!["low", "medium", "high"].includes(effort)) throw new UsageError(`--reasoning must be low, medium or high, got ${JSON.stringify(effort)}`);
  const note = args.flags.model ? "" : tiny ? " (random weights: the reply is random tokens; see README, Chat)" : " (gpt-oss-mini: a tiny trained model; see README, The small model)";
  console.error(`model: ${dir}${note}`);
  console.error(`user: ${prompt}`);
  // Greedy, so the demo shows the same reply everywhere; random weights never write <|return|>: bound the reply.
  await runOneShot(dir, prompt, { maxTokens, reasoningEffort: effort as ReasoningEffort, temperature: 0, seed: 0 });
  return 0;
}
