// Compiles the AssemblyScript kernels in kernels/ to build/*.wasm (baseline: plain simd128).
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
mkdirSync("build", { recursive: true });
execFileSync(process.execPath, ["node_modules/.bin/asc", "--config", "asconfig.json", "--target", "release"], { stdio: "inherit" });
