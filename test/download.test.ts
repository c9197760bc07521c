import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { run as downloadCli } from "../src/cli/download.js";
import { downloadRepo, DownloadError, selectFiles, type DownloadOptions } from "../src/hub/download.js";
import { loadModel } from "../src/model/model.js";
import { resolveModelDir } from "../src/hub/cache.js";
import { DEFAULT_COMMIT, startHubServer, type HubServer, type HubServerOptions } from "./hub-server.js";

const DEV = join(import.meta.dirname, "fixtures", "dev");
const REPO = "openai/gpt-oss-20b";
const SHARDS = ["model-00000-of-00002.safetensors", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
const SMALL = ["LICENSE", "README.md", "chat_template.jinja", "config.json", "generation_config.json", "model.safetensors.index.json",
  "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"];

const temps: string[] = [];
const tempDir = (tag: string) => {
  const d = mkdtempSync(join(tmpdir(), `gpt-oss-${tag}-`));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A repo folder shaped like openai/gpt-oss-20b, with the tiny dev checkpoint as its weights. */
function makeRepo(): string {
  const root = tempDir("repo");
  cpSync(join(DEV, "checkpoint_sharded"), root, { recursive: true });
  const small: Record<string, string> = {
    ".gitattributes": "*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
    "LICENSE": "Apache License 2.0\n",
    "README.md": "# test repo\n",
    "chat_template.jinja": "{{ messages }}",
    "generation_config.json": '{"eos_token_id": [200002, 199999]}\n',
    "special_tokens_map.json": "{}",
    "tokenizer.json": '{"model": {}}',
    "tokenizer_config.json": "{}",
  };
  for (const [name, text] of Object.entries(small)) writeFileSync(join(root, name), text);
  mkdirSync(join(root, "original"));
  writeFileSync(join(root, "original", "config.json"), '{"num_experts": 8}');
  cpSync(join(DEV, "checkpoint", "model.safetensors"), join(root, "original", "model.safetensors"));
  mkdirSync(join(root, "metal"));
  writeFileSync(join(root, "metal", "model.bin"), new Uint8Array(5000).fill(7));
  return root;
}

function listFiles(dir: string, d = dir): string[] {
  return readdirSync(d, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(dir, join(d, e.name)) : [relative(dir, join(d, e.name)).split(sep).join("/")]))
    .sort();
}

let server: HubServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});
async function serve(options: Partial<HubServerOptions> & { root: string }): Promise<HubServer> {
  server = await startHubServer({ repo: REPO, ...options });
  return server;
}
const opts = (s: HubServer, dir: string, more: Partial<DownloadOptions> = {}): DownloadOptions =>
  ({ repo: REPO, dir, endpoint: s.endpoint, token: "", retryDelayMs: 1, ...more });
const same = (a: string, b: string) => expect(readFileSync(a).equals(readFileSync(b)), `${a} = ${b}`).toBe(true);

describe("download", () => {
  it("fetches what the engine needs (not original/ or metal/), checks it, and the result loads", async () => {
    const root = makeRepo();
    const s = await serve({ root });
    const dir = tempDir("dl");
    let last = [0, 0];
    let planned = -1;
    const result = await downloadRepo(opts(s, dir, {
      onPlan: (_f, total) => (planned = total),
      onProgress: (done, total) => (last = [done, total]),
    }));
    expect(listFiles(dir)).toEqual([...SMALL, ...SHARDS].sort());
    for (const f of listFiles(dir)) same(join(dir, f), join(root, f));
    expect(result.files.every((f) => f.fetched)).toBe(true);
    const total = [...SMALL, ...SHARDS].reduce((n, f) => n + statSync(join(root, f)).size, 0);
    expect(planned).toBe(total);
    expect(last).toEqual([total, total]);
    expect(result.transferred).toBe(total);
    // no token configured: no Authorization header
    expect(s.requests.every((r) => r.authorization === undefined)).toBe(true);

    const model = await loadModel(dir);
    const logits = model.forward([1, 2, 3]);
    expect(logits.every(Number.isFinite)).toBe(true);

    // A second run finds everything in place and transfers nothing.
    const before = s.requests.length;
    const again = await downloadRepo(opts(s, dir));
    expect(again.files.some((f) => f.fetched)).toBe(false);
    expect(again.transferred).toBe(0);
    expect(s.requests.slice(before).every((r) => r.url.startsWith("/api/"))).toBe(true);
  });

  it("resumes a file after the connection is cut mid-file, with a Range request", async () => {
    const root = makeRepo();
    const shard = SHARDS[1];
    const s = await serve({ root, cutOnce: { [shard]: 100_000 } });
    const dir = tempDir("dl");
    const log: string[] = [];
    await downloadRepo(opts(s, dir, { log: (l) => log.push(l) }));
    same(join(dir, shard), join(root, shard));
    const gets = s.requests.filter((r) => r.url === `/cdn/${shard}`);
    expect(gets.length).toBe(2);
    expect(gets[0].range).toBeUndefined();
    expect(gets[1].range).toBe("bytes=100000-");
    expect(log.join("\n")).toMatch(new RegExp(`${shard}.*resuming`));
    expect(existsSync(join(dir, `${shard}.incomplete`))).toBe(false);
  });

  it("starts over when a server answers a Range request with the whole file", async () => {
    const root = makeRepo();
    const shard = SHARDS[2];
    const s = await serve({ root, cutOnce: { [shard]: 50_000 }, ignoreRange: true });
    const dir = tempDir("dl");
    let last = 0;
    await downloadRepo(opts(s, dir, { onProgress: (done) => (last = done) }));
    same(join(dir, shard), join(root, shard));
    expect(s.requests.filter((r) => r.url === `/cdn/${shard}`).map((r) => r.range)).toEqual([undefined, "bytes=50000-"]);
    expect(last).toBe([...SMALL, ...SHARDS].reduce((n, f) => n + statSync(join(root, f)).size, 0));
  });

  it("keeps the partial file when it gives up, and the next run resumes it", async () => {
    const root = makeRepo();
    const shard = SHARDS[0];
    const s = await serve({ root, cutOnce: { [shard]: 60_000 } });
    const dir = tempDir("dl");
    await expect(downloadRepo(opts(s, dir, { retries: 0 }))).rejects.toThrow(/model-00000-of-00002\.safetensors: .* after 60000 of 254176 bytes.*run the command again/i);
    expect(statSync(join(dir, `${shard}.incomplete`)).size).toBe(60_000);
    expect(existsSync(join(dir, shard))).toBe(false);

    let start = -1;
    await downloadRepo(opts(s, dir, { onPlan: (_f, _t, present) => (start = present) }));
    expect(start).toBeGreaterThanOrEqual(60_000);
    same(join(dir, shard), join(root, shard));
    expect(s.requests.filter((r) => r.url === `/cdn/${shard}`).map((r) => r.range)).toEqual([undefined, "bytes=60000-"]);
  });

  it("a size that disagrees with the listing is an error naming the file", async () => {
    const root = makeRepo();
    const shard = SHARDS[2];
    const s = await serve({ root, listedSize: { [shard]: statSync(join(root, shard)).size + 10 } });
    const dir = tempDir("dl");
    const err = await downloadRepo(opts(s, dir)).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.message).toMatch(/model-00002-of-00002\.safetensors: size mismatch/);
    expect(err.message).toContain(String(statSync(join(root, shard)).size + 10));
  });

  it("a shard cut short on the server (listing agreeing) fails the safetensors check, naming the shard", async () => {
    const root = makeRepo();
    truncateSync(join(root, SHARDS[1]), statSync(join(root, SHARDS[1])).size - 100);
    const s = await serve({ root });
    const err = await downloadRepo(opts(s, tempDir("dl"))).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.message).toMatch(/model-00001-of-00002\.safetensors: not a valid safetensors file/);
  });

  it("the index's total_size must match what the shards hold", async () => {
    const root = makeRepo();
    const indexPath = join(root, "model.safetensors.index.json");
    const index = JSON.parse(readFileSync(indexPath, "utf8"));
    index.metadata.total_size += 2;
    writeFileSync(indexPath, JSON.stringify(index));
    const s = await serve({ root });
    await expect(downloadRepo(opts(s, tempDir("dl")))).rejects.toThrow(/model\.safetensors\.index\.json: total_size is 763138 bytes but the shards hold 763136/);
  });

  it("a sha256 that disagrees with the listing is an error naming the file", async () => {
    const root = makeRepo();
    const s = await serve({ root, listedSha256: { [SHARDS[0]]: "ab".repeat(32) } });
    const dir = tempDir("dl");
    await expect(downloadRepo(opts(s, dir))).rejects.toThrow(/model-00000-of-00002\.safetensors: sha256 mismatch/);
    expect(existsSync(join(dir, SHARDS[0]))).toBe(false);
  });

  it("401 says to set HF_TOKEN; the token is sent as a Bearer header", async () => {
    const root = makeRepo();
    const s = await serve({ root, token: "hf_secret" });
    const dir = tempDir("dl");
    const err = await downloadRepo(opts(s, dir)).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.message).toMatch(/401/);
    expect(err.message).toMatch(/set HF_TOKEN/);
    await expect(downloadRepo(opts(s, dir, { token: "wrong" }))).rejects.toThrow(/401.*HF_TOKEN is set but was refused/);
    await downloadRepo(opts(s, dir, { token: "hf_secret" }));
    expect(listFiles(dir)).toEqual([...SMALL, ...SHARDS].sort());
    expect(s.requests.filter((r) => !r.url.startsWith("/cdn/")).at(-1)!.authorization).toBe("Bearer hf_secret");
  });

  it("--include original fetches original/ and the small files, not the root shards", async () => {
    const root = makeRepo();
    const s = await serve({ root });
    const dir = tempDir("dl");
    await downloadRepo(opts(s, dir, { include: ["original"] }));
    const small = SMALL.filter((f) => f !== "model.safetensors.index.json");
    expect(listFiles(dir)).toEqual([...small, "original/config.json", "original/model.safetensors"].sort());
  });

  it("falls back to the model info's siblings list when the tree endpoint is missing", async () => {
    const root = makeRepo();
    const s = await serve({ root, noTree: true });
    const dir = tempDir("dl");
    await downloadRepo(opts(s, dir));
    expect(listFiles(dir)).toEqual([...SMALL, ...SHARDS].sort());
    expect(s.requests.some((r) => r.url.includes("/revision/main?blobs=true"))).toBe(true);
  });

  it("the CLI honours HF_ENDPOINT and HF_TOKEN", async () => {
    const root = makeRepo();
    const s = await serve({ root, token: "hf_env" });
    const dir = tempDir("dl");
    vi.stubEnv("HF_ENDPOINT", s.endpoint);
    vi.stubEnv("HF_TOKEN", "hf_env");
    const out = vi.spyOn(console, "log").mockImplementation(() => {});
    const errOut = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await downloadCli([REPO, "--dir", dir, "--quiet"])).toBe(0);
      expect(out.mock.calls.flat().join(" ")).toMatch(/12 files \(12 fetched/);
    } finally {
      out.mockRestore();
      errOut.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(listFiles(dir)).toEqual([...SMALL, ...SHARDS].sort());
    expect(s.requests.every((r) => r.url.startsWith("/cdn/") || r.authorization === "Bearer hf_env")).toBe(true);
  });

  it("selects the engine's files from a listing like the real repo's", () => {
    const real = [".gitattributes", "LICENSE", "README.md", "USAGE_POLICY", "chat_template.jinja", "config.json", "generation_config.json",
      "metal/model.bin", "model-00000-of-00002.safetensors", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
      "model.safetensors.index.json", "original/config.json", "original/dtypes.json", "original/model.safetensors", "special_tokens_map.json",
      "tokenizer.json", "tokenizer_config.json"].map((path) => ({ path }));
    const hf = selectFiles(real).map((f) => f.path);
    expect(hf.slice(-3)).toEqual(SHARDS); // weights last
    expect(hf.sort()).toEqual([...SMALL, "USAGE_POLICY", ...SHARDS].sort());
    const both = selectFiles(real, ["hf", "original"]).map((f) => f.path);
    expect(both).toContain("original/dtypes.json");
    expect(both).not.toContain("metal/model.bin");
  });

  it("without --dir: the Hugging Face cache layout (blobs, snapshot links, refs/main), resumable, found by the Hub id", async () => {
    const root = makeRepo();
    const shard = SHARDS[1];
    const s = await serve({ root, cutOnce: { [shard]: 70_000 } });
    const cache = tempDir("hfcache");
    const first = await downloadRepo(opts(s, undefined as unknown as string, { dir: undefined, cacheDir: cache, retries: 0 })).catch((e) => e);
    expect(first.message).toMatch(/after 70000 of .* bytes/);
    const repoDir = join(cache, "models--openai--gpt-oss-20b");
    expect(existsSync(join(repoDir, "refs", "main"))).toBe(false); // named only once whole

    const result = await downloadRepo(opts(s, undefined as unknown as string, { dir: undefined, cacheDir: cache }));
    const snapshot = join(repoDir, "snapshots", DEFAULT_COMMIT);
    expect(result.dir).toBe(snapshot);
    expect(readFileSync(join(repoDir, "refs", "main"), "utf8")).toBe(DEFAULT_COMMIT);
    expect(listFiles(snapshot)).toEqual([...SMALL, ...SHARDS].sort());
    for (const f of [...SMALL, ...SHARDS]) {
      const link = join(snapshot, f);
      expect(lstatSync(link).isSymbolicLink(), f).toBe(true);
      expect(readlinkSync(link)).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{40,64}$/);
      same(link, join(root, f));
    }
    // LFS files are named by their sha256, the others by their git blob id, as the Hub's clients name them
    const blobs = readdirSync(join(repoDir, "blobs"));
    expect(blobs.filter((b) => b.length === 64).length).toBe(SHARDS.length);
    // (special_tokens_map.json and tokenizer_config.json hold the same bytes: one blob)
    expect(blobs.filter((b) => b.length === 40).length).toBe(new Set(SMALL.map((f) => readFileSync(join(root, f), "utf8"))).size);
    expect(s.requests.filter((r) => r.url === `/cdn/${shard}`).map((r) => r.range)).toEqual([undefined, "bytes=70000-"]);

    vi.stubEnv("HF_HUB_CACHE", cache);
    try {
      expect(resolveModelDir(REPO)).toBe(snapshot);
      const model = await loadModel(resolveModelDir(REPO));
      expect(model.forward([1, 2, 3]).every(Number.isFinite)).toBe(true);
      model.dispose();
    } finally {
      vi.unstubAllEnvs();
    }
    const again = await downloadRepo(opts(s, undefined as unknown as string, { dir: undefined, cacheDir: cache }));
    expect(again.transferred).toBe(0);
  });

  it("the CLI writes the cache of HF_HUB_CACHE by default", async () => {
    const root = makeRepo();
    const s = await serve({ root });
    const cache = tempDir("hfcache");
    vi.stubEnv("HF_ENDPOINT", s.endpoint);
    vi.stubEnv("HF_HUB_CACHE", cache);
    const out = vi.spyOn(console, "log").mockImplementation(() => {});
    const errOut = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await downloadCli([REPO, "--quiet"])).toBe(0);
      expect(out.mock.calls.flat().join(" ")).toContain(join(cache, "models--openai--gpt-oss-20b", "snapshots", DEFAULT_COMMIT));
    } finally {
      out.mockRestore();
      errOut.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(listFiles(join(cache, "models--openai--gpt-oss-20b", "snapshots", DEFAULT_COMMIT))).toEqual([...SMALL, ...SHARDS].sort());
  });

  it.each([
    ["original/../../X", /climbs out with "\.\."/],
    ["../X", /climbs out/],
    ["/tmp/gpt-oss-ts-owned", /it is absolute/],
    ["original\\..\\..\\X", /backslash/],
    ["C:/Windows/x", /absolute/],
    ["a//b", /empty or "\." part/],
  ])("a listing that names %s is refused before anything is written", async (path, why) => {
    const root = makeRepo();
    const s = await serve({ root, extraListing: [{ path, size: 5 }] });
    const parent = tempDir("dl");
    const dir = join(parent, "inside");
    for (const mode of [{ dir }, { dir: undefined, cacheDir: join(parent, "cache") }]) {
      const err = await downloadRepo(opts(s, dir, { include: ["hf", "original"], ...mode })).catch((e) => e);
      expect(err).toBeInstanceOf(DownloadError);
      expect(err.message).toContain(`names ${JSON.stringify(path)}, which would be written outside`);
      expect(err.message).toMatch(why);
    }
    expect(readdirSync(parent)).toEqual([]);
    expect(s.requests.some((r) => r.url.includes("/resolve/") || r.url.startsWith("/cdn/"))).toBe(false);
  });

  it("a blob id or commit that is not hex never names a file in the cache", async () => {
    const root = makeRepo();
    const cache = tempDir("hfcache");
    let s = await serve({ root, listedBlobId: { "config.json": "../../../../evil" } });
    await expect(downloadRepo(opts(s, "", { dir: undefined, cacheDir: cache }))).rejects.toThrow(/config\.json: the listing gives no sha256 nor git blob id \(got "\.\.\/\.\.\/\.\.\/\.\.\/evil"\)/);
    await s.close();
    s = await serve({ root, commit: "../../x" });
    await expect(downloadRepo(opts(s, "", { dir: undefined, cacheDir: cache }))).rejects.toThrow(/names no commit \("sha": "\.\.\/\.\.\/x"\)/);
    expect(readdirSync(cache)).toEqual([]);
  });
});
