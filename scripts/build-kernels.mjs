// Compiles the AssemblyScript kernels in kernels/ to build/: kernels.wasm (baseline simd128, runs
// everywhere) and kernels-relaxed.wasm (adds relaxed SIMD; src/backends/wasm/backend.ts picks it at run time
// when WebAssembly.validate accepts it). Both targets are in asconfig.json.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
mkdirSync("build", { recursive: true });
for (const target of ["simd", "relaxed"]) {
  execFileSync(process.execPath, [join("node_modules", "assemblyscript", "bin", "asc.js"), "--config", "asconfig.json", "--target", target], { stdio: "inherit" });
}
