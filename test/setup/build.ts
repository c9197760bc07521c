// Before the suite: compiles src/ to dist/ (tests that spawn the CLI run the current code) and rebuilds
// the WebAssembly kernels when a kernels/*.ts source is newer than its build (a stale build/*.wasm
// would otherwise test old kernels after a pull).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";

export default function setup(): void {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
  const newestSource = Math.max(...["asconfig.json", ...readdirSync("kernels").map((f) => `kernels/${f}`)].map((f) => statSync(f).mtimeMs));
  const builds = ["build/kernels.wasm", "build/kernels-relaxed.wasm"];
  if (builds.some((b) => !existsSync(b) || statSync(b).mtimeMs < newestSource)) {
    execFileSync(process.execPath, ["scripts/build-kernels.mjs"], { stdio: "inherit" });
  }
}
