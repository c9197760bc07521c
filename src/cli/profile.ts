// `gpt-oss-ts profile`: where the time goes, per operation, for prefill and for decode.
import { BACKENDS } from "../backends/index.js";
import { formatProfile, profileModel } from "../perf/profile.js";
import { optionalNumber, optionalSeed, parseArgs, requireString, UsageError } from "./args.js";
import { LORA_FLAGS_HELP, loadFromArgs, MODEL_FLAGS } from "./common.js";


const HELP = `usage: gpt-oss-ts profile --model DIR [--prompt-tokens N] [--gen-tokens N] [--threads N] [--json]

The first line says the backend, its SIMD build, the precision and the threads. Runs a random prompt
(seeded) and then decodes, timing every kernel call by operation (embedding, norms,
qkv, rope, attention, attention out projection, router, experts, unembedding) and the sampler. What the
measured total holds beyond them is "other (model glue)". Each row has its share of the total and its
throughput: GB/s of the bytes it reads (weights; the KV cache for attention) and GFLOP/s.

  --model DIR          checkpoint folder
  --prompt-tokens N    prompt length (default 32)
  --gen-tokens N       decode steps (default 16)
  --seed S             seed of the random prompt and the sampler (default 1)
  --temperature T      sampling temperature (default 1)
  --backend NAME       kernel backend: ${BACKENDS.join(", ")} (default wasm, the WebAssembly SIMD kernels)
  --precision P        the wasm kernels' precision: exact (default) or fast
  --threads N          threads for the wasm kernels (default: the number of cores)
  --json               print the profile as JSON
${LORA_FLAGS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    ...MODEL_FLAGS, "prompt-tokens": "string", "gen-tokens": "string", seed: "string", temperature: "string",
    json: "boolean", help: "boolean",
  });
  if (args.flags.help) {
    console.log(HELP);
    return 0;
  }
  requireString(args, "model");
  const promptTokens = optionalNumber(args, "prompt-tokens", 32, (n) => Number.isInteger(n) && n >= 1);
  const genTokens = optionalNumber(args, "gen-tokens", 16, (n) => Number.isInteger(n) && n >= 0);
  const seed = optionalSeed(args, 1);
  const temperature = optionalNumber(args, "temperature", 1, (n) => n >= 0);

  const model = await loadFromArgs(args, "exact");
  try {
    if (promptTokens + genTokens > model.config.maxPositionEmbeddings) {
      throw new UsageError(`--prompt-tokens + --gen-tokens is ${promptTokens + genTokens}, beyond the model's context of ${model.config.maxPositionEmbeddings}`);
    }
    const profile = profileModel(model, { promptTokens, genTokens, seed, temperature });
    console.log(args.flags.json ? JSON.stringify(profile, null, 2) : formatProfile(profile));
  } finally {
    model.dispose();
  }
  return 0;
}
