// gpt-oss-ts download: fetches a model repo from the Hugging Face Hub (resumable, checked).
import { hubCacheDir, repoFolder } from "../hub/cache.js";
import { DEFAULT_ENDPOINT, downloadRepo, type IncludePart } from "../hub/download.js";
import { formatBytes, formatDuration, Progress } from "../util/progress.js";
import { parseArgs, UsageError } from "./args.js";

export const summary = "fetch a model's files from the Hugging Face Hub (resumable, sizes and hashes checked)";

const usage = () => `usage: gpt-oss-ts download REPO [--dir DIR] [--include hf|original|hf,original] [--revision REV] [--quiet]

Fetches the files of a Hugging Face model repo, e.g. openai/gpt-oss-20b (12.8 GiB), into the Hugging Face
cache (${cacheShown()}), laid out as the Hub's own clients lay it out (blobs, snapshots/COMMIT linking to
them, refs/REV), so that they and every command here (--model openai/gpt-oss-20b) find it; or, with
--dir DIR, into that plain folder. An interrupted download resumes where it stopped: run the same command
again. Every file is checked against the repository's size and sha256, and the weights against their index.

  --dir DIR           a plain folder instead of the cache
  --include hf        (default) config, tokenizer, chat template, index and the Hugging Face shards
  --include original  original/ (the reference layout) plus the small files; hf,original for both
  --revision REV      branch, tag or commit (default main)
  --quiet             no progress on stderr

environment:
  HF_HUB_CACHE the cache folder (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
  HF_TOKEN     access token for gated or private repos (sent as Authorization: Bearer)
  HF_ENDPOINT  the Hub's address (default ${DEFAULT_ENDPOINT}), e.g. a mirror`;

/** The cache folder, or why it cannot be known here (Deno without the permissions to find it). */
function cacheShown(): string {
  try {
    return hubCacheDir();
  } catch {
    return "$HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub";
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { dir: "string", include: "string", revision: "string", quiet: "boolean", help: "boolean" });
  if (args.flags.help) {
    console.log(usage());
    return 0;
  }
  if (args.positionals.length !== 1) throw new UsageError(args.positionals.length === 0 ? "which repo? e.g. openai/gpt-oss-20b" : `one repo at a time, got ${args.positionals.join(" ")}`);
  const repo = args.positionals[0];
  const dir = typeof args.flags.dir === "string" && args.flags.dir !== "" ? args.flags.dir : undefined;
  const include = String(args.flags.include ?? "hf").split(",").map((s) => s.trim());
  for (const part of include) {
    if (part !== "hf" && part !== "original") throw new UsageError(`--include: "${part}" is not hf or original`);
  }
  const quiet = args.flags.quiet === true;

  const bar: { progress?: Progress } = {}; // created once the total is known
  const started = performance.now();
  const result = await downloadRepo({
    repo,
    dir,
    include: include as IncludePart[],
    revision: typeof args.flags.revision === "string" ? args.flags.revision : undefined,
    onPlan: (files, total, present) => {
      console.error(`${repo} -> ${dir ?? repoFolder(repo)}: ${files.length} files, ${formatBytes(total)}` + (present > 0 ? ` (${formatBytes(present)} already here)` : ""));
      if (!quiet) bar.progress = new Progress("download", total, process.stderr, { startBytes: present });
    },
    onProgress: (done) => bar.progress?.update(done),
    log: (line) => console.error(process.stderr.isTTY && bar.progress ? `\n${line}` : line),
  });
  bar.progress?.finish();
  const seconds = (performance.now() - started) / 1000;
  const fetched = result.files.filter((f) => f.fetched).length;
  console.log(`${result.dir}: ${result.files.length} files (${fetched} fetched, ${formatBytes(result.transferred)} in ${formatDuration(seconds)}), ` +
    `sizes, hashes and safetensors headers checked`);
  return 0;
}
