// The golden parity harness (test/golden-parity.mjs) as a plain script, for runtimes other than the one
// vitest runs on (Deno 2, Node 24): the built package (dist/) over every kernel configuration this
// runtime supports. GPT_OSS_TS_BACKEND=wasm|ts keeps one backend's configurations. Prints
// "N passed, N failed".
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Goldens, parityChecks, parityConfigs } from "../golden-parity.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { loadModel, createKernels, simdLevels, SafetensorsFile } = await import(join(root, "dist", "src", "index.js"));
const dev = join(root, "test", "fixtures", "dev");
const runtime = globalThis.Deno ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
const only = process.env.GPT_OSS_TS_BACKEND;

const goldens = new Goldens(SafetensorsFile.open(join(dev, "golden_f32.safetensors")));
let passed = 0, failed = 0;
for (const [label, backend, options] of parityConfigs(simdLevels())) {
  if (only && backend !== only) continue;
  const model = await loadModel(join(dev, "checkpoint"), { kernels: await createKernels(backend, options) });
  for (const check of parityChecks(model, goldens)) {
    const { ok, detail } = check.run();
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${label}: ${check.name}  (${detail})`);
  }
  model.dispose();
}
console.log(`${runtime}${only ? ` (backend ${only})` : ""}: ${passed} passed, ${failed} failed`);
if (failed) (globalThis.Deno ? Deno.exit(1) : process.exit(1));
