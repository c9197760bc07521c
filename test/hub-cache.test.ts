// `--model openai/gpt-oss-20b` finds the model where the Hub's clients put it: a fake Hugging Face cache laid
// out by hand (blobs, snapshots/{commit} with relative links, refs/main), then the project's weights/ folder.
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { Checkpoint, CheckpointError } from "../src/checkpoint/checkpoint.js";
import { cachedSnapshot, hubCacheDir, ModelNotFoundError, resolveModelDir } from "../src/hub/cache.js";
import { DEV_SHARDED, tempDir } from "./helpers.js";

const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());
const MAIN = "a".repeat(40), OLD = "b".repeat(40);
const CLI = resolve("dist/src/cli/main.js");

/** A cache holding DEV_SHARDED as openai/gpt-oss-20b at two commits, refs/main naming `main`. */
function fakeCache(name: string, refs: Record<string, string> = { main: MAIN }): string {
  const cache = join(tmp, name);
  const repo = join(cache, "models--openai--gpt-oss-20b");
  mkdirSync(join(repo, "blobs"), { recursive: true });
  for (const commit of [MAIN, OLD]) {
    const snap = join(repo, "snapshots", commit);
    mkdirSync(snap, { recursive: true });
    for (const f of readdirSync(DEV_SHARDED)) {
      const blob = `${commit.slice(0, 8)}${Buffer.from(f).toString("hex")}`.slice(0, 64);
      copyFileSync(join(DEV_SHARDED, f), join(repo, "blobs", blob));
      symlinkSync(`../../blobs/${blob}`, join(snap, f));
    }
  }
  for (const [ref, commit] of Object.entries(refs)) {
    mkdirSync(join(repo, "refs"), { recursive: true });
    writeFileSync(join(repo, "refs", ref), commit);
  }
  return cache;
}

describe("Hub ids", () => {
  it("the cache folder: HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else ~/.cache", () => {
    vi.stubEnv("HF_HUB_CACHE", "/x/hub-cache");
    vi.stubEnv("HF_HOME", "/y/hf-home");
    vi.stubEnv("XDG_CACHE_HOME", "/z/xdg");
    expect(hubCacheDir()).toBe("/x/hub-cache");
    vi.stubEnv("HF_HUB_CACHE", "");
    expect(hubCacheDir()).toBe(join("/y/hf-home", "hub"));
    vi.stubEnv("HF_HOME", "");
    expect(hubCacheDir()).toBe(join("/z/xdg", "huggingface", "hub"));
    vi.stubEnv("XDG_CACHE_HOME", "");
    expect(hubCacheDir()).toMatch(/[/\\]\.cache[/\\]huggingface[/\\]hub$/);
  });

  it("resolves to the snapshot refs/main names, and loads from it", () => {
    const cache = fakeCache("c1");
    vi.stubEnv("HF_HUB_CACHE", cache);
    const dir = resolveModelDir("openai/gpt-oss-20b");
    expect(dir).toBe(join(cache, "models--openai--gpt-oss-20b", "snapshots", MAIN));
    const ckpt = Checkpoint.open(dir);
    expect(ckpt.config.numLayers).toBe(4);
    ckpt.close();
    expect(cachedSnapshot("openai/gpt-oss-20b", OLD, cache)).toMatch(new RegExp(`${OLD}$`));
  });

  it("without refs/main, the only snapshot; with two and no ref, none", () => {
    const cache = fakeCache("c2", {});
    expect(cachedSnapshot("openai/gpt-oss-20b", "main", cache)).toBeNull(); // two snapshots: which?
    rmSync(join(cache, "models--openai--gpt-oss-20b", "snapshots", OLD), { recursive: true });
    expect(cachedSnapshot("openai/gpt-oss-20b", "main", cache)).toMatch(new RegExp(`${MAIN}$`));
  });

  it("a local folder wins over an id; an id found nowhere says where it looked and how to download", () => {
    vi.stubEnv("HF_HUB_CACHE", join(tmp, "empty-cache"));
    expect(resolveModelDir(DEV_SHARDED)).toBe(DEV_SHARDED);
    expect(resolveModelDir("no/such/deep/path")).toBe("no/such/deep/path"); // not an id: the loader says "not a folder"
    const err = (() => {
      try {
        resolveModelDir("openai/gpt-oss-120b");
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect(err!.message).toContain(join(tmp, "empty-cache", "models--openai--gpt-oss-120b"));
    expect(err!.message).toContain(join("weights", "gpt-oss-120b"));
    expect(err!.message).toMatch(/Download it with: gpt-oss-ts download openai\/gpt-oss-120b$/);
  });

  it("the CLI: --model openai/gpt-oss-20b from HF_HOME's cache, then from weights/gpt-oss-20b; a clear error otherwise", () => {
    const home = join(tmp, "hf-home");
    cpSync(fakeCache("c3"), join(home, "hub"), { recursive: true, verbatimSymlinks: true });
    const run = (cwd: string, env: Record<string, string>) =>
      spawnSync(process.execPath, [CLI, "inspect", "--model", "openai/gpt-oss-20b"], { cwd, encoding: "utf8", env: { ...process.env, HF_HUB_CACHE: "", ...env } });
    const fromCache = run(tmp, { HF_HOME: home });
    expect(fromCache.stderr).toBe("");
    expect(fromCache.stdout).toContain(`snapshots/${MAIN}`);

    const project = join(tmp, "project");
    cpSync(DEV_SHARDED, join(project, "weights", "gpt-oss-20b"), { recursive: true });
    const fromWeights = run(project, { HF_HOME: join(tmp, "nowhere") });
    expect(fromWeights.status).toBe(0);
    expect(fromWeights.stdout).toContain(join("weights", "gpt-oss-20b"));

    const missing = run(tmp, { HF_HOME: join(tmp, "nowhere") });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^gpt-oss-ts inspect: openai\/gpt-oss-20b: not a folder here, and not downloaded: .*Download it with: gpt-oss-ts download openai\/gpt-oss-20b\n$/);
  });

  it("a shard index naming a file outside the checkpoint folder is refused before it is opened", () => {
    for (const [shard, why] of [["../outside.safetensors", /climbs out/], ["/etc/passwd", /absolute/], ["sub\\x.safetensors", /backslash/]] as const) {
      const dir = join(tmp, `escape-${readdirSync(tmp).length}`);
      cpSync(DEV_SHARDED, dir, { recursive: true });
      const indexPath = join(dir, "model.safetensors.index.json");
      const index = JSON.parse(readFileSync(indexPath, "utf8"));
      index.weight_map["model.norm.weight"] = shard;
      writeFileSync(indexPath, JSON.stringify(index));
      const err = (() => {
        try {
          Checkpoint.open(dir);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(CheckpointError);
      expect(err!.message).toContain(`names shard ${JSON.stringify(shard)}, which is not a file in ${dir}`);
      expect(err!.message).toMatch(why);
    }
  });
});
