// The one golden-parity harness: the dev checkpoint's reference goldens (test/fixtures/dev/README.md),
// their tolerance, and the checks every kernel configuration must pass. Plain JavaScript over the public
// API handed in, so vitest runs it on the sources (test/golden.test.ts) and other runtimes run it on
// the built package (test/runtime/parity.mjs) with the same code.
//
// Tolerance (the goldens' README): |a - g| <= 1e-4 + 1e-4 |g| on every intermediate and on the logits;
// the router's top-k indices and the greedy decode identical.

/** The goldens of the dev checkpoint: `read(name)` gives F32 keys as Float32Array, I32 as Int32Array. */
export class Goldens {
  /** @param file an open SafetensorsFile of golden_f32.safetensors */
  constructor(file) {
    this.file = file;
    this.cache = new Map();
  }

  has(name) {
    return this.file.tensors.has(name);
  }

  read(name) {
    let t = this.cache.get(name);
    if (!t) {
      const info = this.file.get(name);
      const bytes = new Uint8Array(info.byteLength);
      this.file.readInto(name, bytes);
      t = info.dtype === "I32" ? new Int32Array(bytes.buffer) : info.dtype === "F32" ? new Float32Array(bytes.buffer) : bytes;
      this.cache.set(name, t);
    }
    return t;
  }

  ids(seq) {
    return Array.from(this.read(`${seq}.input_ids`));
  }
}

/** Largest |a - g| / (atol + rtol |g|) over the first n values: <= 1 means within tolerance (NaN is Infinity). */
export function toleranceRatio(actual, golden, n = golden.length, atol = 1e-4, rtol = 1e-4) {
  if (actual.length < n) return Infinity;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.abs(actual[i] - golden[i]) / (atol + rtol * Math.abs(golden[i]));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

/** The first value outside atol + rtol |g|, described, or null. */
export function mismatch(actual, golden, atol = 1e-4, rtol = 1e-4) {
  if (actual.length !== golden.length) return `length ${actual.length} != ${golden.length}`;
  for (let i = 0; i < golden.length; i++) {
    const a = actual[i], g = golden[i];
    if (!(Math.abs(a - g) <= atol + rtol * Math.abs(g))) return `index ${i}: ${a} vs golden ${g}`;
  }
  return null;
}

/** The greedy decode of the goldens' README (f32 reference): prompt, then the 16 tokens it generates. */
export const DECODE_PROMPT = [410, 664, 47, 164, 663, 868, 985, 687, 404, 508, 758, 52];
export const GOLDEN_DECODE = [8, 777, 664, 731, 508, 342, 297, 508, 225, 872, 391, 106, 802, 711, 515, 95];

const argmax = (xs) => {
  let best = 0;
  for (let j = 1; j < xs.length; j++) if (xs[j] > xs[best]) best = j;
  return best;
};

/**
 * The parity checks for one loaded model: a list of { name, run } where run() returns
 * { ok, detail }. The checks use only `model.forward(ids, { observe })`, `model.newCache()`,
 * `model.transformer.forward(tokens, cache)` and `model.config`.
 */
export function parityChecks(model, goldens) {
  const checks = [];
  for (const seq of ["seq0", "seq1", "seq2", "seq3"]) {
    checks.push({
      name: `${seq}: every intermediate and the logits within 1e-4 + 1e-4|g|, top-k experts identical`,
      run() {
        const ids = goldens.ids(seq);
        const seen = new Set();
        let worst = 0, where = "", topk = null;
        const logits = model.forward(ids, {
          observe(name, layer, data, width) {
            const key = layer >= 0 ? `${seq}.layer${layer}.${name}` : `${seq}.${name}`;
            if (!goldens.has(key)) return;
            seen.add(key);
            const g = goldens.read(key);
            if (g.length !== ids.length * width) topk ??= `${key}: ${ids.length * width} values, golden has ${g.length}`;
            else if (name === "topk_idx") {
              for (let i = 0; i < g.length; i++) if (data[i] !== g[i]) { topk ??= `${key}[${i}]: expert ${data[i]}, golden ${g[i]}`; break; }
            } else {
              const r = toleranceRatio(data, g);
              if (r > worst) (worst = r), (where = key);
            }
          },
        });
        seen.add(`${seq}.logits`);
        const r = toleranceRatio(logits, goldens.read(`${seq}.logits`));
        if (r > worst) (worst = r), (where = `${seq}.logits`);
        const missing = [...goldens.file.tensors.keys()].filter((k) => k.startsWith(`${seq}.`) && k !== `${seq}.input_ids` && !seen.has(k));
        const ok = worst <= 1 && topk === null && missing.length === 0;
        const detail = topk ?? (missing.length ? `not compared: ${missing.slice(0, 3).join(", ")}` : `${seen.size} tensors, worst ${worst.toFixed(3)} of tolerance at ${where}`);
        return { ok, detail };
      },
    });
  }
  checks.push({
    name: "greedy decode with the KV cache: the reference's 16 tokens and every step's logits",
    run() {
      const stepLogits = goldens.read("seq3.logits"), V = model.config.vocabSize;
      const cache = model.newCache();
      let logits = model.transformer.forward(DECODE_PROMPT, cache);
      const got = [];
      let worst = 0;
      for (let i = 0; i < GOLDEN_DECODE.length; i++) {
        // seq3 is the prompt followed by the first 15 generated tokens: step i's logits are row 11 + i
        worst = Math.max(worst, toleranceRatio(logits, stepLogits.subarray((DECODE_PROMPT.length - 1 + i) * V, (DECODE_PROMPT.length + i) * V)));
        got.push(argmax(logits));
        logits = model.transformer.forward([got[i]], cache);
      }
      const ok = worst <= 1 && got.join() === GOLDEN_DECODE.join();
      return { ok, detail: `tokens ${got.join(",")}; worst step ${worst.toFixed(3)} of tolerance` };
    },
  });
  return checks;
}

/**
 * The kernel configurations parity runs over, as [label, createKernels backend, options]: the oracle,
 * the wasm backend on one thread, on 2 threads with every call split over weights spread across several
 * memories, and each SIMD build this runtime accepts (the relaxed one is the build behind the headline
 * speeds).
 */
export function parityConfigs(simdLevels) {
  const configs = [["ts (reference)", "ts", {}]];
  for (const simd of simdLevels) {
    configs.push([`wasm ${simd}, exact, one thread`, "wasm", { simd, precision: "exact", threads: 1 }]);
    configs.push([`wasm ${simd}, exact, 2 threads over several memories`, "wasm",
      { simd, precision: "exact", threads: 2, parallelMinBytes: 0, weightBytesPerMemory: 200_000 }]);
  }
  return configs;
}
