// gpt-oss-ts forward --model DIR --tokens 3,492,827 --out FILE.safetensors
// Writes the logits of every position as one F32 tensor named "logits", shape [T, vocab].
import { writeSafetensors } from "../checkpoint/safetensors.js";
import { parseArgs, parseTokenList, requireString } from "./args.js";
import { LORA_FLAGS_HELP, loadFromArgs, MODEL_FLAGS } from "./common.js";


const HELP = `usage: gpt-oss-ts forward --model DIR --tokens IDS --out FILE.safetensors
       [--backend wasm|ts] [--precision exact|fast] [--threads N] [--lora DIR [--lora-scale S]]...

Runs the token ids (comma-separated) from an empty context and writes the logits of every position
as one F32 tensor named "logits" with shape [T, vocab]. The backend defaults to wasm; the precision
defaults to exact here (f32 activations, the reference's numerics), whatever the API's default.

${LORA_FLAGS_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { ...MODEL_FLAGS, tokens: "string", out: "string", help: "boolean" });
  if (args.flags.help) return void console.log(HELP), 0;
  const tokens = parseTokenList(requireString(args, "tokens"));
  const out = requireString(args, "out");
  const model = await loadFromArgs(args, "exact");
  let logits: Float32Array;
  try {
    logits = model.forward(tokens);
  } finally {
    model.dispose();
  }
  writeSafetensors(out, [{ name: "logits", dtype: "F32", shape: [tokens.length, model.config.vocabSize], data: logits }]);
  console.error(`wrote logits [${tokens.length}, ${model.config.vocabSize}] to ${out}`);
  return 0;
}
