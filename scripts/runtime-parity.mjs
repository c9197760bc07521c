// Runs test/runtime/parity.mjs under Node 24 and Deno 2, with the runtimes of scripts/runtimes.mjs (fetched
// from npm into .cache/runtimes when missing and published for this platform). The main test suite (vitest) runs on the system Node (20 here), whose V8 lacks relaxed
// SIMD; so the kernel, precision and thread tests also run under Node 24, where the relaxed-SIMD build (int8
// dot products, fused multiply-add) is the one chosen. A runtime that this platform cannot have is skipped,
// saying why; one that could be fetched but was not is a failure (CI must run both).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fetchRuntimes } from "./runtimes.mjs";

const script = join("test", "runtime", "parity.mjs");
let found;
try {
  found = fetchRuntimes();
} catch (e) {
  console.error(`could not fetch the runtimes: ${e.message}`);
  process.exit(1);
}
const runtimes = [
  { name: "Node 24", found: found.node24, args: [script] },
  { name: "Deno 2", found: found.deno2, args: ["run", "--allow-read", "--allow-env", "--allow-sys", script] },
];
let failed = 0, passed = 0, skipped = 0;
const run = (label, cmd, args, env = {}) => {
  console.log(`--- ${label}`);
  const res = spawnSync(cmd, args, { stdio: "inherit", env: { ...process.env, ...env } });
  if (res.status === 0) passed++;
  else failed++;
};
for (const r of runtimes) {
  if (!r.found.path) {
    console.log(`--- ${r.name}: skipped. ${r.found.missing}`);
    skipped++;
    continue;
  }
  for (const backend of ["wasm", "ts"]) run(`${r.name} (${r.found.how}), ${backend} backend`, r.found.path, r.args, { GPT_OSS_TS_BACKEND: backend });
}
if (found.node24.path) {
  run("Node 24: kernel, precision, thread and LoRA golden tests (relaxed-SIMD build)", found.node24.path,
    [join("node_modules", "vitest", "vitest.mjs"), "run", "test/kernels.test.ts", "test/precision.test.ts", "test/threads.test.ts", "test/lora-golden.test.ts"]);
}
console.log(`runtimes: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed ? 1 : 0);
