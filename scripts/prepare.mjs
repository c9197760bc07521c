// Runs on `npm ci` / `npm install`: builds the TypeScript and the WebAssembly kernels, so that a fresh
// clone needs no second set-up command.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

// The packages' own entry points, not node_modules/.bin (shell shims on Windows).
const tsc = join("node_modules", "typescript", "bin", "tsc");
const asc = join("node_modules", "assemblyscript", "bin", "asc.js");
if (!existsSync(tsc)) {
  // Installed as a dependency of another project, without our devDependencies: dist/ ships prebuilt.
  process.exit(0);
}
execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { stdio: "inherit" });
if (existsSync("asconfig.json") && existsSync(asc)) {
  execFileSync(process.execPath, ["scripts/build-kernels.mjs"], { stdio: "inherit" });
}
