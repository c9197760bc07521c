// The golden parity check as a plain script, for runtimes other than the one vitest runs on (Deno 2,
// Node 24). Imports the built package (dist/), compares logits and every intermediate of the dev
// goldens, and the greedy decode with the KV cache; with the wasm backend, the same again on 2 worker
// threads with every call split and the weights over several memories. Prints "N passed, N failed".
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { loadModel, createKernels, SafetensorsFile, argmax } = await import(join(root, "dist", "src", "index.js"));
const dev = join(root, "test", "fixtures", "dev");
const runtime = globalThis.Deno ? `Deno ${Deno.version.deno}` : `Node ${process.version}`;
const backend = process.env.GPT_OSS_TS_BACKEND ?? "wasm";

const golden = SafetensorsFile.open(join(dev, "golden_f32.safetensors"));
const read = (name) => {
  const t = golden.get(name);
  const bytes = new Uint8Array(t.byteLength);
  golden.readInto(name, bytes);
  return t.dtype === "I32" ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
};
const ratio = (a, g) => {
  let worst = 0;
  for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(a[i] - g[i]) / (1e-4 + 1e-4 * Math.abs(g[i])));
  return worst;
};

let passed = 0, failed = 0;
const check = (name, ok, detail = "") => {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? `  (${detail})` : ""}`);
};

async function parity(label, model) {
for (const seq of ["seq0", "seq1", "seq2"]) {
  const ids = Array.from(read(`${seq}.input_ids`));
  let worst = 0, compared = 0, topkOk = true;
  const logits = model.forward(ids, {
    observe(name, layer, data) {
      const key = layer >= 0 ? `${seq}.layer${layer}.${name}` : `${seq}.${name}`;
      if (!golden.tensors.has(key)) return;
      const g = read(key);
      compared++;
      if (name === "topk_idx") topkOk &&= g.every((v, i) => data[i] === v);
      else worst = Math.max(worst, ratio(data, g));
    },
  });
  worst = Math.max(worst, ratio(logits, read(`${seq}.logits`)));
  check(`${label}${seq}: ${compared} intermediates and logits within 1e-4 + 1e-4|g|`, worst <= 1 && compared > 10, `worst ${worst.toFixed(3)} of tolerance`);
  check(`${label}${seq}: top-k experts identical`, topkOk);
}

const prompt = [410, 664, 47, 164, 663, 868, 985, 687, 404, 508, 758, 52];
const want = [8, 777, 664, 731, 508, 342, 297, 508, 225, 872, 391, 106, 802, 711, 515, 95];
const got = [];
for await (const { token } of model.generate(prompt, { temperature: 0, maxTokens: 16 })) got.push(token);
check(`${label}greedy decode with the KV cache equals the reference's 16 tokens`, got.join() === want.join(), got.join(","));
model.dispose();
}

await parity("", await loadModel(join(dev, "checkpoint"), { backend, precision: "exact" }));
if (backend === "wasm") {
  const kernels = await createKernels("wasm", { threads: 2, parallelMinBytes: 0, weightBytesPerMemory: 200_000 });
  await parity("2 threads, several memories: ", await loadModel(join(dev, "checkpoint"), { kernels }));
}
check("argmax helper", argmax([0, 3, 3, 1]) === 1);

console.log(`${runtime} (backend ${backend}): ${passed} passed, ${failed} failed`);
if (failed) (globalThis.Deno ? Deno.exit(1) : process.exit(1));
