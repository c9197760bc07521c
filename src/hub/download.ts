// Fetches the files of a Hugging Face model repo with plain `fetch`, the way the Hub serves them:
//   GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true   the file list, with sizes and
//                                                                      the sha256 of large (LFS) files
//   GET {endpoint}/{repo}/resolve/{revision}/{path}                    a file (often a redirect to a CDN)
//   GET {endpoint}/api/models/{repo}/revision/{revision}               the commit it is at ("sha")
// By default the files go into the Hugging Face cache (src/hub/cache.ts: blobs, snapshots/{commit} links,
// refs/{revision}), where the Hub's own clients find them too; with `dir`, into that plain folder.
// Each file is written to `{file}.incomplete` and renamed when whole, so an interrupted download
// resumes where it stopped (an HTTP Range request), within this run (retries) or the next one.
// The listing comes from a server: every path in it must stay inside the folder (src/util/paths.ts),
// and blob and commit names must be hex, before anything is written.
// Every file is checked against the listing's size (and sha256 when given) and the Content-Length;
// finally every safetensors shard is opened (a valid header whose tensors fill the file exactly) and
// the index's total_size compared with what the shards hold.
import { createHash, type Hash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { SafetensorsError, SafetensorsFile } from "../checkpoint/safetensors.js";
import { GptOssError } from "../util/errors.js";
import { insideFolder } from "../util/paths.js";
import { envVar } from "../util/env.js";
import { COMMIT, hubCacheDir, isRepoId, repoFolder } from "./cache.js";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export class DownloadError extends GptOssError {}

/** A file of the repo, as listed by the Hub. */
export interface RepoFile {
  /** path inside the repo, "/"-separated */
  path: string;
  /** bytes, when the listing gives them */
  size?: number;
  /** hex sha256 of the content (the Hub gives it for LFS files) */
  sha256?: string;
  /** git blob id (hex sha1), the name of a small file's blob in the Hugging Face cache */
  blobId?: string;
}

/** Which parts of a gpt-oss repo to fetch. "hf": the root (config, tokenizer, chat template, index
 * and shards); "original": original/ (the reference layout) plus the root's small files. */
export type IncludePart = "hf" | "original";

export interface HubOptions {
  /** default: $HF_ENDPOINT, else https://huggingface.co */
  endpoint?: string;
  /** default: $HF_TOKEN; sent as `Authorization: Bearer` */
  token?: string;
  /** branch, tag or commit (default "main") */
  revision?: string;
  /** for tests */
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface DownloadOptions extends HubOptions {
  /** "owner/name", e.g. "openai/gpt-oss-20b" */
  repo: string;
  /** a plain folder to put the files in (created); without it, the Hugging Face cache */
  dir?: string;
  /** the Hugging Face cache written when no `dir` is given (default: hubCacheDir(), see src/hub/cache.ts) */
  cacheDir?: string;
  include?: IncludePart[];
  /** attempts per file after the first, resuming each time (default 5) */
  retries?: number;
  /** first pause between attempts, doubled each time (default 1000 ms) */
  retryDelayMs?: number;
  /** before any transfer: what will be fetched, the bytes in all, the bytes already here */
  onPlan?: (files: RepoFile[], totalBytes: number, presentBytes: number) => void;
  /** bytes present so far (finished files, partial files and this run's transfers) of the total */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** one-line notes (retries, skipped files) */
  log?: (line: string) => void;
}

export interface DownloadResult {
  /** the folder that holds the files: `dir`, or the snapshot folder in the cache */
  dir: string;
  files: { path: string; size: number; fetched: boolean }[];
  /** bytes transferred in this run */
  transferred: number;
}

interface Ctx {
  endpoint: string;
  token: string | undefined;
  revision: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
}

function context(o: HubOptions): Ctx {
  const endpoint = (o.endpoint ?? envVar("HF_ENDPOINT") ?? DEFAULT_ENDPOINT).replace(/\/+$/, "");
  const token = o.token ?? (envVar("HF_TOKEN") || envVar("HUGGING_FACE_HUB_TOKEN") || undefined);
  return { endpoint, token, revision: o.revision ?? "main", fetch: o.fetch ?? fetch, signal: o.signal };
}

function headers(ctx: Ctx, extra: Record<string, string> = {}): Record<string, string> {
  // fetch drops Authorization itself when a redirect leaves the origin (the CDN needs none).
  return ctx.token ? { ...extra, authorization: `Bearer ${ctx.token}` } : extra;
}

const encodePath = (p: string) => p.split("/").map(encodeURIComponent).join("/");

function checkRepoId(repo: string): void {
  if (!isRepoId(repo)) throw new DownloadError(`"${repo}" is not a repo id; expected owner/name, e.g. openai/gpt-oss-20b`);
}

/** A clear message for the statuses a user can act on. */
async function httpError(res: Response, what: string, ctx: Ctx): Promise<DownloadError> {
  let detail = "";
  try {
    const text = (await res.text()).trim();
    try {
      const j = JSON.parse(text) as { error?: unknown };
      detail = typeof j.error === "string" ? j.error : text;
    } catch {
      detail = text;
    }
  } catch {}
  detail = detail.slice(0, 300);
  const said = detail ? ` (the server says: ${detail})` : "";
  if (res.status === 401 || res.status === 403) {
    const hint = ctx.token
      ? "HF_TOKEN is set but was refused: check that the token is valid and has read access, and that you accepted the model's terms on its Hub page"
      : "the repository is gated or private, or does not exist: set HF_TOKEN to a Hugging Face access token with read access (https://huggingface.co/settings/tokens)";
    return new DownloadError(`${what}: HTTP ${res.status} ${res.statusText}${said}; ${hint}`);
  }
  if (res.status === 404) return new DownloadError(`${what}: not found (HTTP 404)${said}; check the repo id and revision "${ctx.revision}"`);
  return new DownloadError(`${what}: HTTP ${res.status} ${res.statusText}${said}`);
}

/** Every file of the repo at the revision, with sizes. */
export async function listRepoFiles(repo: string, options: HubOptions = {}): Promise<RepoFile[]> {
  checkRepoId(repo);
  const ctx = context(options);
  const base = `${ctx.endpoint}/api/models/${repo}`;
  const files: RepoFile[] = [];
  let url: string | null = `${base}/tree/${encodeURIComponent(ctx.revision)}?recursive=true`;
  let res = await get(url, ctx);
  if (res.status === 404) {
    // Older or minimal hubs: the model info's "siblings" (blobs=true adds sizes and LFS hashes).
    await res.body?.cancel();
    const infoUrl = `${base}/revision/${encodeURIComponent(ctx.revision)}?blobs=true`;
    res = await get(infoUrl, ctx);
    if (!res.ok) throw await httpError(res, `listing ${repo}`, ctx);
    const info = (await res.json()) as { siblings?: { rfilename: string; size?: number; blobId?: string; lfs?: { sha256?: string; size?: number } }[] };
    if (!Array.isArray(info.siblings)) throw new DownloadError(`${infoUrl}: no "siblings" list in the answer`);
    for (const s of info.siblings) files.push({ path: s.rfilename, size: s.lfs?.size ?? s.size, sha256: s.lfs?.sha256, blobId: s.blobId });
    return files;
  }
  // The tree is paginated with a Link: <...>; rel="next" header.
  while (url) {
    if (!res.ok) throw await httpError(res, `listing ${repo}`, ctx);
    const page = (await res.json()) as { type: string; path: string; oid?: string; size?: number; lfs?: { oid?: string; size?: number } }[];
    if (!Array.isArray(page)) throw new DownloadError(`${url}: the file listing is not a JSON list`);
    for (const e of page) if (e.type === "file") files.push({ path: e.path, size: e.lfs?.size ?? e.size, sha256: e.lfs?.oid, blobId: e.oid });
    url = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
    if (url) res = await get(url, ctx);
  }
  return files;
}

/** The commit a revision (branch, tag or commit) is at: the snapshot folder's name in the cache. */
export async function repoCommit(repo: string, options: HubOptions = {}): Promise<string> {
  checkRepoId(repo);
  const ctx = context(options);
  const url = `${ctx.endpoint}/api/models/${repo}/revision/${encodeURIComponent(ctx.revision)}`;
  const res = await get(url, ctx);
  if (!res.ok) throw await httpError(res, `the commit of ${repo} at "${ctx.revision}"`, ctx);
  const sha = ((await res.json()) as { sha?: unknown }).sha;
  if (typeof sha === "string" && COMMIT.test(sha)) return sha;
  if (COMMIT.test(ctx.revision)) return ctx.revision;
  throw new DownloadError(`${url}: the answer names no commit ("sha": ${JSON.stringify(sha ?? null)}); use --dir DIR to download into a plain folder`);
}

async function get(url: string, ctx: Ctx, extra: Record<string, string> = {}): Promise<Response> {
  try {
    return await ctx.fetch(url, { headers: headers(ctx, extra), redirect: "follow", signal: ctx.signal });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new DownloadError(`${url}: ${(e as Error).message}${cause ? ` (${cause})` : ""}`);
  }
}

const SMALL_ROOT_FILE = /^(?:[^/]+\.(?:json|jinja|md|txt)|LICENSE[^/]*|USAGE_POLICY)$/;

/** The files this engine needs, in a sensible order (small files first, then weights by name). */
export function selectFiles(files: RepoFile[], include: IncludePart[] = ["hf"]): RepoFile[] {
  const picked = files.filter((f) => {
    if (f.path === ".gitattributes") return false;
    if (f.path === "model.safetensors.index.json") return include.includes("hf"); // it lists the root shards
    if (SMALL_ROOT_FILE.test(f.path)) return true;
    if (include.includes("hf") && /^[^/]+\.safetensors$/.test(f.path)) return true;
    return include.includes("original") && f.path.startsWith("original/");
  });
  const weight = (f: RepoFile) => (f.path.endsWith(".safetensors") ? 1 : 0);
  return picked.sort((a, b) => weight(a) - weight(b) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Where one file goes: `target` is its path as the model folder shows it; `store` holds its bytes
 * (the same file in a plain folder; its blob in the cache, which `target` then links to). */
interface Placement {
  file: RepoFile;
  target: string;
  store: string;
}

const HEX_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Downloads the selected files of `repo` into `dir` (or the Hugging Face cache), resuming what is
 * there, and checks them. */
export async function downloadRepo(options: DownloadOptions): Promise<DownloadResult> {
  const ctx = context(options);
  const listed = await listRepoFiles(options.repo, options);
  const files = selectFiles(listed, options.include);
  if (!files.some((f) => f.path.endsWith(".safetensors"))) {
    throw new DownloadError(`${options.repo}: no .safetensors weights for --include ${(options.include ?? ["hf"]).join(",")}; is this a gpt-oss repo?`);
  }

  let dir: string;
  let placements: Placement[];
  let ref: { path: string; commit: string } | null = null;
  if (options.dir !== undefined) {
    dir = options.dir;
    placements = files.map((f) => {
      const target = listedPath(dir, f.path, options.repo);
      return { file: f, target, store: target };
    });
  } else {
    const folder = repoFolder(options.repo, options.cacheDir ?? hubCacheDir());
    const commit = await repoCommit(options.repo, options);
    dir = join(folder, "snapshots", commit);
    placements = files.map((f) => ({ file: f, target: listedPath(dir, f.path, options.repo), store: join(folder, "blobs", blobName(f)) }));
    if (ctx.revision !== commit) {
      ref = { path: insideFolder(join(folder, "refs"), ctx.revision, (why) => new DownloadError(`revision "${ctx.revision}" cannot name a refs file: ${why}`)), commit };
    }
  }
  // The whole listing, not only what is fetched: one path that climbs out means the server is not to be trusted.
  for (const f of listed) listedPath(dir, f.path, options.repo);
  mkdirSync(dir, { recursive: true });

  const total = files.reduce((s, f) => s + (f.size ?? 0), 0);
  let present = 0;
  for (const p of placements) present += whole(p) ? p.file.size! : presentBytes(p.store, p.file);
  options.onPlan?.(files, total, present);
  let done = present;
  let transferred = 0;
  const progress = (delta: number) => {
    done += delta;
    if (delta > 0) transferred += delta;
    options.onProgress?.(done, total);
  };

  const result: DownloadResult = { dir, files: [], transferred: 0 };
  for (const p of placements) {
    const fetched = whole(p) ? false : await fetchFile(options.repo, p.file, p.store, ctx, options, progress);
    if (p.store !== p.target) linkIntoSnapshot(p);
    result.files.push({ path: p.file.path, size: statSync(p.target).size, fetched });
  }
  result.transferred = transferred;
  verifyWeights(dir, files.map((f) => f.path));
  if (ref) {
    mkdirSync(dirname(ref.path), { recursive: true });
    writeFileSync(ref.path, ref.commit); // last: the cache names this revision only once it is whole
  }
  return result;
}

/** The local path of a listed file, refused when the listing's path could leave the folder. */
function listedPath(dir: string, path: string, repo: string): string {
  return insideFolder(dir, path, (why) => new DownloadError(`the file listing of ${repo} names ${JSON.stringify(path)}, ` +
    `which would be written outside ${dir} (${why}); nothing was downloaded. Is HF_ENDPOINT a server you trust?`));
}

/** The blob's name in the cache: the sha256 of an LFS file, else the git blob id (both from the listing). */
function blobName(f: RepoFile): string {
  const id = (f.sha256 ?? f.blobId ?? "").toLowerCase();
  if (!HEX_ID.test(id)) throw new DownloadError(`${f.path}: the listing gives no sha256 nor git blob id (got ${JSON.stringify(f.sha256 ?? f.blobId ?? null)}) to name it in the cache; use --dir DIR`);
  return id;
}

/** Whether the file is already in place with its listed size (through a snapshot link or as a file). */
function whole(p: Placement): boolean {
  return p.file.size !== undefined && existsSync(p.target) && statSync(p.target).size === p.file.size;
}

/** snapshots/{commit}/{path} -> ../../blobs/{id}, a relative link as the Hub's clients make. Where links
 * cannot be made (Windows without Developer Mode) the blob is moved there instead, as huggingface_hub does. */
function linkIntoSnapshot(p: Placement): void {
  if (existsSync(p.target) && statSync(p.target).size === statSync(p.store, { throwIfNoEntry: false })?.size) return;
  if (!existsSync(p.store)) return; // moved here by an earlier run without links
  mkdirSync(dirname(p.target), { recursive: true });
  if (lstatSync(p.target, { throwIfNoEntry: false })) unlinkSync(p.target); // a stale link or copy
  try {
    symlinkSync(relative(dirname(p.target), p.store), p.target, "file");
  } catch {
    renameSync(p.store, p.target);
  }
}

/** Bytes of `f` already on disk: the finished file (if its size is right) or the partial one. */
function presentBytes(dest: string, f: RepoFile): number {
  if (existsSync(dest) && f.size !== undefined && statSync(dest).size === f.size) return f.size;
  const tmp = `${dest}.incomplete`;
  if (existsSync(tmp)) {
    const n = statSync(tmp).size;
    return f.size === undefined || n <= f.size ? n : 0;
  }
  return 0;
}

const BATCH = 16 << 20; // received bytes are gathered and written 16 MiB at a time

/** One file, with resume and retries. Returns false when it was already complete. */
async function fetchFile(repo: string, f: RepoFile, dest: string, ctx: Ctx, o: DownloadOptions,
  progress: (delta: number) => void): Promise<boolean> {
  if (f.size !== undefined && existsSync(dest) && statSync(dest).size === f.size) return false;
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.incomplete`;
  const url = `${ctx.endpoint}/${repo}/resolve/${encodeURIComponent(ctx.revision)}/${encodePath(f.path)}`;
  const retries = o.retries ?? 5;
  let expected = f.size;
  let hash: Hash | null = null; // covers exactly the bytes in tmp
  let hashed = 0;

  for (let attempt = 0; ; attempt++) {
    let have = existsSync(tmp) ? statSync(tmp).size : 0;
    if (expected !== undefined && have > expected) {
      truncateSync(tmp, 0); // longer than the file can be (not counted as present)
      have = 0;
    }
    if (f.sha256 && (hash === null || hashed !== have)) {
      // Start (or restart) the running hash from what is on disk.
      hash = createHash("sha256");
      hashed = have > 0 ? await hashFile(tmp, hash) : 0;
    }
    if (expected !== undefined && have === expected && (have > 0 || existsSync(tmp))) break;

    let res: Response;
    try {
      res = await get(url, ctx, have > 0 ? { range: `bytes=${have}-` } : {});
    } catch (e) {
      if (attempt >= retries) throw e;
      await pause(o, attempt, `${f.path}: ${(e as Error).message}`);
      continue;
    }
    if (res.status === 416 && have > 0) {
      // The range starts at or past the end: what we have is wrong or stale; start over.
      await res.body?.cancel();
      progress(-have);
      truncateSync(tmp, 0);
      continue;
    }
    if (!res.ok) {
      const err = await httpError(res, f.path, ctx);
      if ((res.status >= 500 || res.status === 429) && attempt < retries) {
        await pause(o, attempt, err.message);
        continue;
      }
      throw err;
    }

    // Where this response's bytes go, and how many should come.
    let start = 0;
    let total: number | undefined;
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
      if (!m) throw new DownloadError(`${f.path}: the server answered a range request with Content-Range "${res.headers.get("content-range")}"`);
      start = Number(m[1]);
      if (start !== have) throw new DownloadError(`${f.path}: asked for bytes from ${have}, the server sent them from ${start}`);
      if (m[3] !== "*") total = Number(m[3]);
    } else {
      // 200: the whole file (a server may ignore Range).
      const len = res.headers.get("content-length");
      if (len !== null && /^\d+$/.test(len) && res.headers.get("content-encoding") === null) total = Number(len);
    }
    if (total !== undefined) {
      if (expected !== undefined && total !== expected) {
        await res.body?.cancel();
        throw new DownloadError(`${f.path}: size mismatch: the repository listing says ${expected} bytes but the server sends ${total} (Content-${res.status === 206 ? "Range" : "Length"})`);
      }
      expected = total;
    }
    if (start === 0 && have > 0) {
      progress(-have);
      have = 0;
      if (hash) {
        hash = createHash("sha256");
        hashed = 0;
      }
    }

    const fh = await open(tmp, start === 0 ? "w" : "r+");
    let pos = start;
    const buf = new Uint8Array(BATCH);
    let used = 0;
    const flush = async () => {
      for (let off = 0; off < used; ) off += (await fh.write(buf, off, used - off, pos + off)).bytesWritten;
      hash?.update(buf.subarray(0, used));
      pos += used;
      hashed = pos;
      used = 0;
    };
    let failure: unknown = null;
    try {
      if (!res.body) throw new DownloadError(`${f.path}: empty response`);
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        for (let off = 0; off < chunk.byteLength; ) {
          const n = Math.min(chunk.byteLength - off, BATCH - used);
          buf.set(chunk.subarray(off, off + n), used);
          used += n;
          off += n;
          if (used === BATCH) await flush();
        }
        progress(chunk.byteLength);
        if (expected !== undefined && pos + used > expected) break;
      }
    } catch (e) {
      failure = e; // a cut connection: keep what arrived, resume from there
    } finally {
      await flush();
      await fh.close();
    }
    if (expected !== undefined && pos > expected) {
      unlinkSync(tmp);
      throw new DownloadError(`${f.path}: size mismatch: the server sent more than the ${expected} bytes announced`);
    }
    if (expected === undefined && failure === null) expected = pos; // no size known: trust a clean end
    if (pos === expected) break;
    const why = failure ? `${(failure as Error).message}${(failure as { cause?: Error }).cause ? ` (${(failure as { cause: Error }).cause.message})` : ""}` : "the connection ended early";
    if (attempt >= retries) {
      throw new DownloadError(`${f.path}: ${why} after ${pos} of ${expected ?? "?"} bytes; ${retries + 1} attempts made. Run the command again to resume (${basename(tmp)} is kept).`);
    }
    await pause(o, attempt, `${f.path}: ${why} at ${pos} of ${expected ?? "?"} bytes`, "resuming");
  }

  if (f.sha256 && hash) {
    const digest = hash.digest("hex");
    if (digest !== f.sha256.toLowerCase()) {
      unlinkSync(tmp);
      throw new DownloadError(`${f.path}: sha256 mismatch: the repository listing says ${f.sha256}, the downloaded file is ${digest} (the partial file was removed; run again)`);
    }
  }
  renameSync(tmp, dest);
  return true;
}

async function hashFile(path: string, hash: Hash): Promise<number> {
  const fh = await open(path, "r");
  try {
    const buf = new Uint8Array(BATCH);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
      if (bytesRead === 0) return pos;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

async function pause(o: DownloadOptions, attempt: number, why: string, verb = "retrying"): Promise<void> {
  const ms = Math.min(30_000, (o.retryDelayMs ?? 1000) * 2 ** attempt);
  o.log?.(`${why}; ${verb} in ${(ms / 1000).toFixed(1)}s (attempt ${attempt + 2} of ${(o.retries ?? 5) + 1})`);
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Checks downloaded weights: every .safetensors file opens (valid header, tensors tile the data to the
 * last byte), and where an index exists, each name is in the shard it names and the shards hold
 * exactly the index's total_size bytes of tensor data.
 */
export function verifyWeights(dir: string, paths: string[]): void {
  const open1 = (p: string): SafetensorsFile => {
    try {
      return SafetensorsFile.open(join(dir, p));
    } catch (e) {
      if (e instanceof SafetensorsError) throw new DownloadError(`${p}: not a valid safetensors file: ${e.message}`);
      throw e;
    }
  };
  for (const indexPath of paths.filter((p) => basename(p) === "model.safetensors.index.json")) {
    const base = dirname(indexPath) === "." ? "" : `${dirname(indexPath)}/`;
    const index = JSON.parse(readFileSync(join(dir, indexPath), "utf8")) as { metadata?: { total_size?: number }; weight_map?: Record<string, string> };
    if (!index.weight_map) throw new DownloadError(`${indexPath}: no weight_map`);
    let held = 0;
    for (const shard of [...new Set(Object.values(index.weight_map))].sort()) {
      if (!paths.includes(base + shard)) throw new DownloadError(`${indexPath}: names ${shard}, which the repository does not have`);
      const file = open1(base + shard);
      try {
        for (const [name, f] of Object.entries(index.weight_map)) {
          if (f === shard && !file.tensors.has(name)) throw new DownloadError(`${base}${shard}: has no tensor "${name}", which ${indexPath} places there`);
        }
        for (const t of file.tensors.values()) held += t.byteLength;
      } finally {
        file.close();
      }
    }
    const want = index.metadata?.total_size;
    if (typeof want === "number" && want !== held) {
      throw new DownloadError(`${indexPath}: total_size is ${want} bytes but the shards hold ${held} bytes of tensors`);
    }
  }
  for (const p of paths.filter((q) => q.endsWith(".safetensors"))) open1(p).close();
}
