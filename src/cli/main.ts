#!/usr/bin/env node
// gpt-oss-ts command line: one file per command under src/cli/, each exporting `run(argv)`.
import { readFileSync } from "node:fs";
import { envVar } from "../util/env.js";
import { didYouMean, UsageError } from "./args.js";

interface Command {
  run(argv: string[]): Promise<number | void>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  forward: () => import("./forward.js"),
  generate: () => import("./generate.js"),
  inspect: () => import("./inspect.js"),
  synth: () => import("./synth.js"),
  download: () => import("./download.js"),
  demo: () => import("./demo.js"),
  render: () => import("./render.js"),
  parse: () => import("./parse.js"),
  trace: () => import("./trace.js"),
  profile: () => import("./profile.js"),
  bench: () => import("./bench.js"),
  chat: () => import("./chat.js"),
  run: () => import("./run.js"),
  serve: () => import("./serve.js"),
};

function usage(): string {
  return [
    "usage: gpt-oss-ts <command> [flags]",
    "",
    "commands:",
    "  forward   --model DIR --tokens IDS --out FILE.safetensors   logits of every position",
    "  generate  --model DIR --tokens IDS --max-tokens N [--temperature T --seed S] [--json]",
    "  inspect   --model DIR                                       config, tensors, memory needed",
    "  synth     --preset tiny|20b|120b --out DIR [--layers N] [--seed S]   synthetic checkpoint",
    "  download  REPO [--dir DIR] [--include hf|original]          fetch weights from the Hugging Face Hub",
    "  demo      [--prompt TEXT] [--model DIR] [--tiny]            what `npm start` runs: a one-shot chat",
    "  render    --conversation FILE.json [--mode completion|conversation|training] [--tokens]",
    "            [--next-role ROLE] [--no-drop-analysis] [--template harmony|jinja --model DIR]   prompt text or ids",
    "  parse     --text FILE | --tokens IDS [--role ROLE|none]      Harmony tokens -> messages (JSON)",
    "  trace     --model DIR (--prompt TEXT | --tokens IDS) --out report.html   router, attention, logit lens",
    "  profile   --model DIR [--prompt-tokens N] [--gen-tokens N] [--json]     time per operation",
    "  bench     --model DIR [--prompt-tokens 512] [--gen-tokens 128] [--threads N] [--json]   load, prefill, decode, memory",
    "  chat      --model DIR [--reasoning low|medium|high] [--tools FILE.json] [--hide-reasoning]   REPL",
    "  run       --model DIR [--reasoning ...] [--json] [--hide-reasoning] \"prompt\"   one-shot chat",
    "  serve     --model DIR [--host 127.0.0.1] [--port 8000]      OpenAI-style HTTP server (/v1/responses, /v1/chat/completions)",
    "",
    "DIR is a Hugging Face checkpoint folder, a folder holding original/, or a Hub id (openai/gpt-oss-20b)",
    "found in the Hugging Face cache or weights/. Model commands take --backend wasm|ts, --precision",
    "exact|fast, --threads N (default: the number of cores) and --lora DIR [--lora-scale S] (a LoRA",
    "adapter, Hugging Face PEFT format; repeatable).",
    "Every command takes -h/--help; gpt-oss-ts --version prints the version.",
  ].join("\n");
}

/** The version in package.json (two folders up from src/cli, three from dist/src/cli). */
function version(): string {
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "gpt-oss-ts" && pkg.version) return pkg.version;
    } catch {}
  }
  return "unknown";
}

/** Whether a flag is among the arguments before `--` (after it, everything is a positional). */
const flagged = (argv: string[], ...names: string[]) => {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => names.includes(a));
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--version" || name === "-v" || name === "version") {
    console.log(`gpt-oss-ts ${version()}`);
    return 0;
  }
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    const guess = name.startsWith("-") ? undefined : didYouMean(name, Object.keys(COMMANDS));
    const what = name.startsWith("-") ? `unknown flag ${name} before the command` : `unknown command "${name}"`;
    console.error(`gpt-oss-ts: ${what}${guess ? ` (did you mean ${guess}?)` : ""}\n\n${usage()}`);
    return 2;
  }
  if (flagged(rest, "--version")) {
    console.log(`gpt-oss-ts ${version()}`);
    return 0;
  }
  const command = await load();
  try {
    return (await command.run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`gpt-oss-ts ${name}: ${e.message}\n(try: gpt-oss-ts ${name} --help)`);
      return 2;
    }
    // Errors of this project say what is wrong and where; print them without a stack trace.
    const err = e as Error;
    console.error(`gpt-oss-ts ${name}: ${err?.message ?? String(e)}`);
    if (envVar("GPT_OSS_TS_DEBUG")) console.error(err?.stack);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
