// The project installs wherever a JS developer works: no package that npm must install may exclude one of
// the platforms below by its os / cpu / libc fields (npm ci stops with EBADPLATFORM on it), and the published
// package ships what its install scripts and entry points name.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

interface Platform {
  os: string;
  cpu: string;
  libc?: "glibc" | "musl";
}

export const PLATFORMS: Platform[] = [
  { os: "darwin", cpu: "arm64" },
  { os: "darwin", cpu: "x64" },
  { os: "win32", cpu: "x64" },
  { os: "linux", cpu: "arm64", libc: "glibc" },
  { os: "linux", cpu: "arm64", libc: "musl" },
  { os: "linux", cpu: "x64", libc: "glibc" },
  { os: "linux", cpu: "x64", libc: "musl" },
];

interface LockEntry {
  version?: string;
  os?: string | string[];
  cpu?: string | string[];
  libc?: string | string[];
  optional?: boolean;
  link?: boolean;
}

/** npm's rule for one field: a value is refused when it is negated ("!x"), or when positive values are
 * listed and it is not among them. */
export function allows(field: string | string[] | undefined, value: string | undefined): boolean {
  if (field === undefined || value === undefined) return true;
  const list = Array.isArray(field) ? field : [field];
  if (list.includes(`!${value}`)) return false;
  const positive = list.filter((v) => !v.startsWith("!"));
  return positive.length === 0 || positive.includes(value) || positive.includes("any");
}

/** The required packages of a package-lock.json that npm would refuse on `p`, as "name@version (why)". */
export function refusedOn(lock: { packages: Record<string, LockEntry> }, p: Platform): string[] {
  const refused: string[] = [];
  for (const [path, e] of Object.entries(lock.packages)) {
    if (path === "" || e.optional || e.link) continue; // the project itself; optional ones are skipped by npm
    const why = [
      !allows(e.os, p.os) && `os ${JSON.stringify(e.os)}`,
      !allows(e.cpu, p.cpu) && `cpu ${JSON.stringify(e.cpu)}`,
      p.os === "linux" && !allows(e.libc, p.libc) && `libc ${JSON.stringify(e.libc)}`,
    ].filter(Boolean);
    if (why.length) refused.push(`${path.replace(/^.*node_modules\//, "")}@${e.version} (${why.join(", ")})`);
  }
  return refused;
}

const name = (p: Platform) => `${p.os}-${p.cpu}${p.libc ? `-${p.libc}` : ""}`;

describe("platforms", () => {
  const lock = JSON.parse(readFileSync("package-lock.json", "utf8"));

  it.each(PLATFORMS.map((p) => [name(p), p] as const))("npm ci installs every required package on %s", (_name, p) => {
    expect(refusedOn(lock, p)).toEqual([]);
  });

  it("the check itself: a darwin-only or glibc-only required package is caught, an optional one is not", () => {
    const fake = {
      packages: {
        "": {},
        "node_modules/mac-only": { version: "1.0.0", os: ["darwin"] },
        "node_modules/glibc-only": { version: "2.0.0", os: ["linux"], cpu: ["x64"], libc: ["glibc"] },
        "node_modules/not-windows": { version: "3.0.0", os: "!win32" },
        "node_modules/a/node_modules/opt": { version: "4.0.0", os: ["darwin"], optional: true },
      },
    };
    expect(refusedOn(fake, { os: "linux", cpu: "x64", libc: "glibc" })).toEqual(['mac-only@1.0.0 (os ["darwin"])']);
    expect(refusedOn(fake, { os: "linux", cpu: "x64", libc: "musl" })).toEqual(['mac-only@1.0.0 (os ["darwin"])', 'glibc-only@2.0.0 (libc ["glibc"])']);
    expect(refusedOn(fake, { os: "win32", cpu: "x64" })).toEqual([
      'mac-only@1.0.0 (os ["darwin"])', 'glibc-only@2.0.0 (os ["linux"])', 'not-windows@3.0.0 (os "!win32")',
    ]);
    expect(refusedOn(fake, { os: "darwin", cpu: "arm64" })).toEqual(['glibc-only@2.0.0 (os ["linux"], cpu ["x64"])']);
  });

  it("the published package ships LICENSE and every file its install scripts, bin and main name", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8"));
    const npm = process.env.npm_execpath;
    const [cmd, pre] = npm && /\.[cm]?js$/.test(npm) ? [process.execPath, [npm]] : ["npm", []];
    const r = spawnSync(cmd, [...pre, "pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8", shell: process.platform === "win32" });
    expect(r.status, r.stderr).toBe(0);
    const files = new Set((JSON.parse(r.stdout)[0].files as { path: string }[]).map((f) => f.path));
    expect(files.has("LICENSE")).toBe(true);
    expect(readFileSync("LICENSE", "utf8")).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    expect(pkg.license).toBe("Apache-2.0");
    const named: string[] = [];
    for (const hook of ["preinstall", "install", "postinstall", "prepare"]) {
      for (const m of String(pkg.scripts?.[hook] ?? "").matchAll(/\bnode\s+(\S+\.[cm]?js)\b/g)) named.push(m[1]);
    }
    named.push(...Object.values(pkg.bin as Record<string, string>), pkg.main);
    for (const f of named) expect(files.has(f.replace(/^\.\//, "")), `${f} is shipped`).toBe(true);
  });
});
