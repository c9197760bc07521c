// Deno as a first-class runtime, as the README's "Deno" section documents it: a Deno project (deno.json with
// nodeModulesDir "manual", the package in node_modules) imports "gpt-oss-ts" and generates, and the CLI runs
// under `deno run`, each with exactly the permissions the README lists. Deno 2 comes from scripts/runtimes.mjs
// (`npm run runtimes` fetches it; CI does); without it the test is skipped, saying so.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script, no types
import { findRuntimes } from "../scripts/runtimes.mjs";
import { DECODE_PROMPT, DEV_CKPT, GOLDEN_DECODE, tempDir } from "./helpers.js";

const deno = (findRuntimes() as { deno2: { path?: string; missing?: string } }).deno2;
if (!deno.path) console.warn(`deno.test.ts: SKIPPED: ${deno.missing}`);

/** The permissions the README's Deno section gives, per use. */
const PERMISSIONS = {
  library: ["--allow-read", "--allow-sys=systemMemoryInfo"],
  cli: ["--allow-read", "--allow-sys=systemMemoryInfo"],
};

const app = tempDir("gpt-oss-deno-");
afterAll(() => rmSync(app, { recursive: true, force: true }));

describe.skipIf(!deno.path)(deno.path ? "Deno 2" : `Deno 2: SKIPPED (${deno.missing})`, () => {
  const run = (args: string[]) => {
    const r = spawnSync(deno.path!, args, { cwd: app, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }, timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("a Deno app imports the package and generates the golden greedy tokens", () => {
    mkdirSync(join(app, "node_modules"), { recursive: true });
    symlinkSync(resolve("."), join(app, "node_modules", "gpt-oss-ts"), "dir"); // what npm does for a file: dependency
    writeFileSync(join(app, "package.json"), JSON.stringify({ type: "module", dependencies: { "gpt-oss-ts": `file:${resolve(".")}` } }));
    writeFileSync(join(app, "deno.json"), JSON.stringify({ nodeModulesDir: "manual" }));
    writeFileSync(join(app, "main.ts"), `import { loadModel } from "gpt-oss-ts";

const model = await loadModel(Deno.args[0]);
const tokens: number[] = [];
for await (const { token } of model.generate(${JSON.stringify(DECODE_PROMPT)}, { maxTokens: 16, temperature: 0 })) tokens.push(token);
model.dispose();
console.log(JSON.stringify({ backend: model.kernels.name, tokens }));
`);
    const r = run(["run", ...PERMISSIONS.library, "main.ts", DEV_CKPT]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ backend: "wasm", tokens: GOLDEN_DECODE });
  });

  it("the CLI runs under deno run: --version, generate --json, inspect", () => {
    const version = run(["run", ...PERMISSIONS.cli, "npm:gpt-oss-ts", "--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^gpt-oss-ts \d+\.\d+\.\d+\n$/);
    const gen = run(["run", ...PERMISSIONS.cli, "npm:gpt-oss-ts", "generate", "--model", DEV_CKPT, "--tokens", DECODE_PROMPT.join(","), "--max-tokens", "16", "--json"]);
    expect(gen.code).toBe(0);
    expect(JSON.parse(gen.stdout.trim().split("\n").pop()!)).toEqual({ tokens: GOLDEN_DECODE, stopReason: "max_tokens" });
    const inspect = run(["run", ...PERMISSIONS.cli, "npm:gpt-oss-ts", "inspect", "--model", DEV_CKPT]);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toMatch(/memory needed/);
    const typo = run(["run", ...PERMISSIONS.cli, "npm:gpt-oss-ts", "inspect", "--modle", DEV_CKPT]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown flag --modle \(did you mean --model\?\)/);
  });
});
