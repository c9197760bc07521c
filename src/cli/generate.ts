// gpt-oss-ts generate --model DIR --tokens IDS --max-tokens N [--temperature T --seed S] [--json]
// Raw token continuation, no chat template. Temperature 0 is greedy.
import { optionalNumber, optionalSeed, parseArgs, parseTokenList, requireString } from "./args.js";
import { LORA_FLAGS_HELP, loadFromArgs, MODEL_FLAGS } from "./common.js";


const HELP = `usage: gpt-oss-ts generate --model DIR --tokens IDS --max-tokens N [--temperature T] [--seed S] [--json]
       [--backend wasm|ts] [--precision exact|fast] [--threads N] [--lora DIR [--lora-scale S]]...

Continues the prompt token ids. --temperature 0 (the default) is greedy; --seed makes sampling
repeatable (a whole number from 0 to 4294967295). Prints each generated id as it comes; with --json
the last line of stdout is {"tokens": [...], "stopReason": "..."} (the generated ids only). Generation
stops at --max-tokens ("max_tokens") or where the model's context is full ("context_full"); both exit 0.
--backend defaults to wasm; --precision to the API's default (README "Precision").

${LORA_FLAGS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    ...MODEL_FLAGS, tokens: "string", "max-tokens": "string", temperature: "string", seed: "string", json: "boolean", help: "boolean",
  });
  if (args.flags.help) return void console.log(HELP), 0;
  const prompt = parseTokenList(requireString(args, "tokens"));
  const maxTokens = optionalNumber(args, "max-tokens", 32, (n) => Number.isInteger(n) && n >= 0);
  const temperature = optionalNumber(args, "temperature", 0, (n) => n >= 0);
  const seed = optionalSeed(args, 0);
  const json = args.flags.json === true;
  const model = await loadFromArgs(args);
  const tokens: number[] = [];
  const started = performance.now();
  let stopReason: string;
  try {
    const generation = model.generate(prompt, { maxTokens, temperature, seed });
    for (let r = await generation.next(); ; r = await generation.next()) {
      if (r.done) {
        stopReason = r.value.stopReason;
        break;
      }
      tokens.push(r.value.token);
      if (!json) process.stdout.write(`${tokens.length === 1 ? "" : ","}${r.value.token}`);
    }
  } finally {
    model.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  if (json) console.log(JSON.stringify({ tokens, stopReason }));
  else process.stdout.write("\n");
  const note = stopReason === "context_full" ? `; stopped: the context of ${model.contextLength} tokens is full` : "";
  console.error(`${tokens.length} tokens in ${seconds.toFixed(2)} s (${(tokens.length / seconds).toFixed(1)} tokens/s, prompt of ${prompt.length}${note})`);
  return 0;
}
