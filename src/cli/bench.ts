// `gpt-oss-ts bench`: load, prefill and decode speed of one model, peak memory, and the decode's
// effective bandwidth beside the machine's read bandwidth measured in the same process.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { benchModel, formatBench } from "../perf/model-bench.js";
import { compileSchema } from "../structured/schema.js";
import { optionalNumber, optionalSeed, parseArgs } from "./args.js";
import { defaultChatPrecision } from "../backends/index.js";
import { LORA_FLAGS, LORA_FLAGS_HELP, loadProgress, loraOf, modelDirOf, precisionOf, threadsOf } from "./common.js";


const HELP = `usage: gpt-oss-ts bench --model DIR [--prompt-tokens 512] [--gen-tokens 128] [--threads N] [--lora DIR [--lora-scale S]]... [--json]

Loads the model (progress on stderr), runs a random prompt (seeded) as one prefill, then decodes greedily,
and reports: load time and MB/s, prefill tokens/s, decode tokens/s, the process's peak resident memory,
and the weight bytes one decode step reads (dense attention, router, unembedding and the chosen experts)
times the decode rate, beside a streaming read of a buffer larger than the caches on the same threads.

  --model DIR          checkpoint folder
  --prompt-tokens N    prefill length (default 512)
  --gen-tokens N       decode steps (default 128)
  --threads N          kernel threads (default: the number of cores)
  --precision P        exact or fast (default fast on runtimes with relaxed SIMD, else exact)
  --seed S             seed of the random prompt (default 1)
  --json-schema FILE   also decode --gen-tokens tokens as JSON replies valid for this schema and report
                       the time of the token mask per token beside the decode step (README "Structured output")
  --json               print the result as JSON
${LORA_FLAGS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    model: "string", "prompt-tokens": "string", "gen-tokens": "string", threads: "string", precision: "string",
    seed: "string", json: "boolean", "json-schema": "string", help: "boolean", ...LORA_FLAGS,
  });
  if (args.flags.help) return void console.log(HELP), 0;
  const dir = modelDirOf(args);
  const promptTokens = optionalNumber(args, "prompt-tokens", 512, (n) => Number.isInteger(n) && n >= 1);
  const genTokens = optionalNumber(args, "gen-tokens", 128, (n) => Number.isInteger(n) && n >= 1);
  const seed = optionalSeed(args, 1);
  const schemaFile = args.flags["json-schema"];
  let jsonSchema: { schema: unknown; name: string } | undefined;
  if (typeof schemaFile === "string") {
    try {
      jsonSchema = { schema: JSON.parse(readFileSync(schemaFile, "utf8")), name: basename(schemaFile) };
      compileSchema(jsonSchema.schema); // refused now rather than after the load
    } catch (e) {
      throw new Error(`--json-schema ${schemaFile}: ${(e as Error).message}`);
    }
  }
  const progress = loadProgress();
  const status = new PhaseStatus();
  const result = await benchModel(dir, {
    promptTokens, genTokens, seed, threads: threadsOf(args), precision: precisionOf(args, defaultChatPrecision()), jsonSchema, lora: loraOf(args),
    onLoadProgress: progress.onProgress,
    onPhase: (phase, done, total) => {
      if (phase === "prefill" && done === 0) progress.finish();
      status.update(phase, done, total);
    },
  });
  status.finish();
  console.log(args.flags.json ? JSON.stringify(result, null, 2) : formatBench(result));
  return 0;
}

/** One status line per phase on stderr: redrawn in place on a terminal, written once at its end elsewhere. */
class PhaseStatus {
  private phase = "";
  private started = 0;
  private lastDraw = 0;
  private readonly tty = process.stderr.isTTY === true;

  update(phase: string, done: number, total: number): void {
    const t = performance.now();
    if (phase !== this.phase) {
      this.finish();
      this.phase = phase;
      this.started = t;
    }
    const line = `${phase} ${done}/${total}  ${((t - this.started) / 1000).toFixed(1)} s`;
    if (this.tty && (t - this.lastDraw > 100 || done === total)) {
      this.lastDraw = t;
      process.stderr.write(`\r\x1b[2K${line}`);
    }
    if (done === total) {
      process.stderr.write(this.tty ? "\n" : `${line}\n`);
      this.phase = "";
    }
  }

  finish(): void {
    if (this.phase && this.tty) process.stderr.write("\n");
    this.phase = "";
  }
}
