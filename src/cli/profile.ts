// `gpt-oss-ts profile`: where the time goes, per operation, for prefill and for decode.
import { BACKENDS, type Backend } from "../kernels/index.js";
import { loadModel } from "../model.js";
import { formatProfile, profileModel } from "../trace/profile.js";
import { optionalNumber, parseArgs, requireString, UsageError } from "./args.js";

export const summary = "time per operation (prefill and decode), with shares, GB/s and GFLOP/s";

const HELP = `usage: gpt-oss-ts profile --model DIR [--prompt-tokens N] [--gen-tokens N] [--json]

Runs a random prompt (seeded) and then decodes, timing every kernel call by operation (embedding, norms,
qkv, rope, attention, attention out projection, router, experts, unembedding) and the sampler. What the
measured total holds beyond them is "other (model glue)". Each row has its share of the total and its
throughput: GB/s of the bytes it reads (weights; the KV cache for attention) and GFLOP/s.

  --model DIR          checkpoint folder
  --prompt-tokens N    prompt length (default 32)
  --gen-tokens N       decode steps (default 16)
  --seed S             seed of the random prompt and the sampler (default 1)
  --temperature T      sampling temperature (default 1)
  --backend NAME       kernel backend: ${BACKENDS.join(", ")} (default ts)
  --json               print the profile as JSON`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    model: "string", "prompt-tokens": "string", "gen-tokens": "string", seed: "string", temperature: "string",
    backend: "string", json: "boolean", help: "boolean",
  });
  if (args.flags.help) {
    console.log(HELP);
    return 0;
  }
  const dir = requireString(args, "model");
  const promptTokens = optionalNumber(args, "prompt-tokens", 32, (n) => Number.isInteger(n) && n >= 1);
  const genTokens = optionalNumber(args, "gen-tokens", 16, (n) => Number.isInteger(n) && n >= 0);
  const seed = optionalNumber(args, "seed", 1, Number.isInteger);
  const temperature = optionalNumber(args, "temperature", 1, (n) => n >= 0);
  const backend = (args.flags.backend ?? "ts") as Backend;
  if (!BACKENDS.includes(backend)) throw new UsageError(`--backend: expected one of ${BACKENDS.join(", ")}, got "${backend}"`);

  const model = await loadModel(dir, { backend });
  if (promptTokens + genTokens > model.config.maxPositionEmbeddings) {
    throw new UsageError(`--prompt-tokens + --gen-tokens is ${promptTokens + genTokens}, beyond the model's context of ${model.config.maxPositionEmbeddings}`);
  }
  const profile = profileModel(model, { promptTokens, genTokens, seed, temperature });
  console.log(args.flags.json ? JSON.stringify(profile, null, 2) : formatProfile(profile));
  return 0;
}
