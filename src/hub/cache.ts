// The Hugging Face cache, as the Hub's own clients lay it out, so that a model fetched by any of them (or by
// `gpt-oss-ts download`) is found by its id:
//   {cache}/models--{owner}--{name}/blobs/{sha256 or git blob id}     the file contents, once each
//   {cache}/models--{owner}--{name}/snapshots/{commit}/{path}          links to the blobs (copies where
//                                                                      the OS allows no links)
//   {cache}/models--{owner}--{name}/refs/{revision}                    the commit a branch or tag was at
// {cache} is $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub (on every OS, as huggingface_hub does).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { envVar } from "../util/env.js";
import { GptOssError } from "../util/errors.js";

/** The project's own download folder for `name`: what `download --dir` used to default to. */
export const WEIGHTS_DIR = "weights";

export function hubCacheDir(): string {
  const direct = envVar("HF_HUB_CACHE") ?? envVar("HUGGINGFACE_HUB_CACHE");
  if (direct) return direct;
  const home = envVar("HF_HOME") ?? join(envVar("XDG_CACHE_HOME") ?? join(userHome(), ".cache"), "huggingface");
  return join(home, "hub");
}

function userHome(): string {
  try {
    return homedir();
  } catch (e) {
    // Deno without --allow-sys=homedir
    throw new Error("cannot find the Hugging Face cache: set HF_HUB_CACHE or HF_HOME, or let the home folder be read " +
      `(Deno: --allow-env=HF_HUB_CACHE,HF_HOME,XDG_CACHE_HOME or --allow-sys=homedir): ${(e as Error).message}`);
  }
}

/** "openai/gpt-oss-20b": owner and name of letters, digits, "_", "-" and "." (not "." or ".." alone). */
export function isRepoId(id: string): boolean {
  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(id);
  return !!m && ![m[1], m[2]].some((p) => p === "." || p === "..");
}

/** models--openai--gpt-oss-20b */
export function repoFolder(repo: string, cacheDir = hubCacheDir()): string {
  return join(cacheDir, `models--${repo.replace("/", "--")}`);
}

/** A git commit id, as snapshot folders and refs files hold. */
export const COMMIT = /^[0-9a-f]{40}$/;

/** The snapshot folder of `revision` (a branch, tag or commit) in the cache, or null. */
export function cachedSnapshot(repo: string, revision = "main", cacheDir = hubCacheDir()): string | null {
  const folder = repoFolder(repo, cacheDir);
  let commit: string | null = COMMIT.test(revision) ? revision : null;
  if (!commit) {
    try {
      const text = readFileSync(join(folder, "refs", ...revision.split("/")), "utf8").trim();
      commit = COMMIT.test(text) ? text : null;
    } catch {}
  }
  if (!commit && revision === "main") {
    // No refs/main (a cache filled by commit): the one snapshot there is, if only one.
    let all: string[] = [];
    try {
      all = readdirSync(join(folder, "snapshots")).filter((d) => COMMIT.test(d));
    } catch {}
    if (all.length === 1) commit = all[0];
  }
  if (!commit) return null;
  const dir = join(folder, "snapshots", commit);
  return hasCheckpoint(dir) ? dir : null;
}

const hasCheckpoint = (dir: string) => existsSync(join(dir, "config.json")) || existsSync(join(dir, "original", "config.json"));

export class ModelNotFoundError extends GptOssError {}

/**
 * The folder of `--model`: the path itself when it exists; for a Hub id that is not a local folder
 * (openai/gpt-oss-20b), its snapshot in the Hugging Face cache (refs/main), else weights/{name}; else an
 * error saying where it looked and how to download. Anything else is returned as given, for the
 * checkpoint loader to refuse with its own message.
 */
export function resolveModelDir(model: string): string {
  if (existsSync(model) || !isRepoId(model)) return model;
  const cacheDir = hubCacheDir();
  const snapshot = cachedSnapshot(model, "main", cacheDir);
  if (snapshot) return snapshot;
  const own = join(WEIGHTS_DIR, basename(model));
  if (existsSync(own) && statSync(own).isDirectory() && hasCheckpoint(own)) return own;
  throw new ModelNotFoundError(`${model}: not a folder here, and not downloaded: looked in the Hugging Face cache ` +
    `(${repoFolder(model, cacheDir)}, refs/main) and in ${own}. Download it with: gpt-oss-ts download ${model}`);
}
