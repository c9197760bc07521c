// `gpt-oss-ts trace`: run a prompt through the model with tracing on and write one self-contained HTML
// report (router usage, expert choices, attention with sinks, logit lens).
import { writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { BACKENDS } from "../backends/index.js";
import { renderReport } from "../trace/report.js";
import { loadTokenText } from "../trace/token-text.js";
import { traceForward, traceGenerate } from "../trace/trace.js";
import { compareWithBase } from "../trace/adapter-diff.js";
import type { GptOssModel } from "../model/model.js";
import { optionalNumber, parseArgs, type ParsedArgs, parseTokenList, requireString, UsageError } from "./args.js";
import { LORA_FLAGS_HELP, loadFromArgs, MODEL_FLAGS } from "./common.js";


const HELP = `usage: gpt-oss-ts trace --model DIR (--prompt TEXT | --tokens IDS) --out report.html [flags]

Runs the tokens through the model with tracing on and writes one self-contained HTML file (no network
needed to view it): router usage per layer and expert, each token's expert choices, attention per layer
and head with the sink's share, and a logit lens of every layer.

  --model DIR        checkpoint folder
  --tokens IDS       comma-separated token ids
  --prompt TEXT      text, encoded with the o200k_harmony tokenizer (needs src/tokenizer/tokenizer.ts and a
                     201088-token vocabulary; otherwise use --tokens)
  --out FILE         where to write the report (.html)
  --gen-tokens N     also generate N tokens greedily and trace them (default 0)
  --lens-top N       tokens kept per lens cell (default 5)
  --backend NAME     kernel backend: ${BACKENDS.join(", ")} (default wasm)
  --precision P      the wasm kernels' precision: exact (default) or fast
  --threads N        threads for the wasm kernels (default: the number of cores)
${LORA_FLAGS_HELP}

With --lora the model traced is the adapted one, and the report adds what the adapter changes: the same
tokens run through the base model too (the same weights without the adapter), per position the logit
change and the top tokens before and after, per layer how many router choices changed.

Cost: the lens runs the unembedding once per token and layer; attention data grows with tokens².`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    ...MODEL_FLAGS, tokens: "string", prompt: "string", out: "string", "gen-tokens": "string",
    "lens-top": "string", help: "boolean",
  });
  if (args.flags.help) {
    console.log(HELP);
    return 0;
  }
  const dir = requireString(args, "model");
  const out = requireString(args, "out");
  const hasTokens = args.flags.tokens !== undefined, hasPrompt = args.flags.prompt !== undefined;
  if (hasTokens === hasPrompt) throw new UsageError("give exactly one of --tokens or --prompt");
  const gen = optionalNumber(args, "gen-tokens", 0, (n) => Number.isInteger(n) && n >= 0);
  const top = optionalNumber(args, "lens-top", 5, (n) => Number.isInteger(n) && n >= 1 && n <= 50);

  const model = await loadFromArgs(args, "exact");
  try {
    await report(model, dir, out, args.flags, hasPrompt, gen, top);
  } finally {
    model.dispose();
  }
  return 0;
}

async function report(model: GptOssModel, dir: string, out: string, flags: ParsedArgs["flags"], hasPrompt: boolean, gen: number, top: number): Promise<void> {
  const text = await loadTokenText(model.config.vocabSize);
  let tokens: number[];
  if (hasPrompt) {
    if (!text.hasTokenizer) throw new UsageError(`--prompt cannot be used: ${text.note}. Pass token ids with --tokens instead`);
    tokens = text.encode(flags.prompt as string);
  } else {
    tokens = parseTokenList(flags.tokens as string);
  }
  if (text.note) console.error(`note: ${text.note}`);

  const request = { lens: { top } };
  const t0 = performance.now();
  const { trace } = gen > 0
    ? traceGenerate(model, tokens, request, { maxTokens: gen + 1, temperature: 0 }) // the last sampled token is not run
    : traceForward(model, tokens, request);
  const ms = performance.now() - t0;
  const adapterDiff = model.adapters.length > 0 ? compareWithBase(model, trace.tokens, { top: Math.min(top, 5) }) : undefined;
  const html = renderReport(trace, text, {
    adapterDiff,
    title: basename(resolve(dir)),
    promptLength: tokens.length,
    notes: [`${trace.tokens.length} tokens traced (${tokens.length} given${gen > 0 ? `, ${trace.tokens.length - tokens.length} generated` : ""}) ` +
      `with the ${model.kernels.name} backend in ${(ms / 1000).toFixed(2)} s.`,
      ...model.adapters.map((a) => `LoRA adapter ${a.name} (scale ${a.scale} x trained): ${a.summary}.`)],
  });
  writeFileSync(out, html);
  console.error(`wrote ${out} (${(html.length / 1024).toFixed(0)} KiB): ${trace.tokens.length} tokens, ${model.config.numLayers} layers`);
}
