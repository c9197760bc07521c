// gpt-oss-ts synth: writes a synthetic checkpoint (real layout, random weights).
import { formatBytes, formatDuration, Progress } from "../util/progress.js";
import { planCheckpoint, PRESETS, synthesize, type PresetName } from "../checkpoint/synth.js";
import { optionalNumber, optionalSeed, parseArgs, requireString, UsageError } from "./args.js";

export const summary = "write a synthetic checkpoint: the real layout of gpt-oss, random weights";

const USAGE = `usage: gpt-oss-ts synth --preset tiny|20b|120b --out DIR [--layers N] [--seed S] [--quiet]

Writes a Hugging Face checkpoint folder with the exact file layout, tensor names, shapes, dtypes and
shard split of the released model, filled with seeded random weights scaled so the forward pass stays
finite (its output is gibberish). For tests and benchmarks without downloading the real weights.

presets:
${Object.entries(PRESETS).map(([name, p]) => `  ${name.padEnd(5)} ${p.description}`).join("\n")}

  --layers N   keep only N layers (config.json says so); the shard rule stays the Hub's
  --seed S     the same seed writes the same bytes (default 0)
  --quiet      no progress on stderr`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { preset: "string", out: "string", layers: "string", seed: "string", quiet: "boolean", help: "boolean" });
  if (args.flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const preset = requireString(args, "preset");
  if (!(preset in PRESETS)) throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(", ")}, got "${preset}"`);
  const outDir = requireString(args, "out");
  const layers = args.flags.layers === undefined ? undefined : optionalNumber(args, "layers", 0, (n) => Number.isInteger(n) && n >= 1);
  const seed = optionalSeed(args, 0);

  const plan = planCheckpoint(preset as PresetName, layers);
  const progress = args.flags.quiet ? null : new Progress(`synth ${preset}`, plan.weightFileBytes);
  const started = performance.now();
  await synthesize({ preset: preset as PresetName, outDir, layers, seed, onProgress: (done) => progress?.update(done) });
  progress?.finish();
  const seconds = (performance.now() - started) / 1000;
  const files = plan.shards.length + plan.files.length;
  console.log(`${outDir}: ${files} files, ${formatBytes(plan.weightFileBytes)} of weights in ${formatDuration(seconds)} ` +
    `(${formatBytes(plan.weightFileBytes / seconds)}/s)`);
  return 0;
}
