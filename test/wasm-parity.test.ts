// The golden parity suite with the WebAssembly kernels at `exact` precision: every activation of the
// official reference's float32 run on the dev checkpoint (test/fixtures/dev, README there), layer by
// layer, at |a - g| <= 1e-4 + 1e-4 |g|; router choices and the greedy decode exactly.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKernels, type KernelOptions } from "../src/backends/index.js";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import type { ActivationName } from "../src/model/forward.js";
import { SafetensorsFile } from "../src/checkpoint/safetensors.js";

const DEV = new URL("./fixtures/dev/", import.meta.url).pathname;
const meta = JSON.parse(readFileSync(DEV + "meta.json", "utf8")) as {
  sequences: Record<string, number[]>;
  decode_prompt: number[];
  runs: { f32: { decode_tokens: number[] } };
};

/** The golden tensors, as f32 (or i32 for topk_idx). */
function readGoldens(): Map<string, Float32Array | Int32Array> {
  const f = SafetensorsFile.open(DEV + "golden_f32.safetensors");
  const out = new Map<string, Float32Array | Int32Array>();
  for (const info of f.tensors.values()) {
    const raw = new Uint8Array(info.byteLength);
    f.readInto(info.name, raw);
    out.set(info.name, info.dtype === "I32" ? new Int32Array(raw.buffer) : new Float32Array(raw.buffer));
  }
  f.close();
  return out;
}

function closeTo(name: string, actual: ArrayLike<number>, golden: ArrayLike<number>): void {
  expect(actual.length, name).toBe(golden.length);
  for (let i = 0; i < golden.length; i++) {
    const g = golden[i], d = Math.abs(actual[i] - g);
    if (!(d <= 1e-4 + 1e-4 * Math.abs(g))) throw new Error(`${name}[${i}]: ${actual[i]} vs golden ${g} (|diff| ${d})`);
  }
}

const SETUPS: [string, KernelOptions][] = [
  ["one thread", { threads: 1 }],
  ["2 threads, several memories", { threads: 2, parallelMinBytes: 0, weightBytesPerMemory: 200_000 }],
];

describe.each(SETUPS)("golden parity, wasm exact, %s", (_, options) => {
  let model: GptOssModel;
  let goldens: Map<string, Float32Array | Int32Array>;
  beforeAll(async () => {
    model = await loadModel(DEV + "checkpoint", { kernels: await createKernels("wasm", { precision: "exact", ...options }) });
    goldens = readGoldens();
  });
  afterAll(() => model.dispose());

  it("runs on the wasm backend", () => {
    expect(model.kernels.name).toBe("wasm");
  });

  const seqs = ["seq0", "seq1", "seq2", "seq3"];
  it.each(seqs)("%s: every activation of every layer, and the logits", (seq) => {
    const tokens = seq === "seq3" ? Array.from(goldens.get("seq3.input_ids")!) : meta.sequences[seq];
    const seen = new Set<string>();
    const logits = model.forward(tokens, {
      observe: (name: ActivationName, layer, data, width) => {
        const key = layer < 0 ? `${seq}.${name}` : `${seq}.layer${layer}.${name}`;
        const golden = goldens.get(key);
        if (!golden) return;
        seen.add(key);
        const actual = data.subarray(0, tokens.length * width);
        if (name === "topk_idx") expect(Array.from(actual), key).toEqual(Array.from(golden));
        else closeTo(key, actual, golden);
      },
    });
    closeTo(`${seq}.logits`, logits, goldens.get(`${seq}.logits`)!);
    // every golden key of this sequence was compared
    const expected = [...goldens.keys()].filter((k) => k.startsWith(`${seq}.`) && k !== `${seq}.input_ids`);
    expect([...seen, `${seq}.logits`].sort()).toEqual(expect.arrayContaining(expected.sort()));
  });

  it("greedy decode with the KV cache: the reference's tokens and per-step logits", async () => {
    const want = meta.runs.f32.decode_tokens;
    const seq3 = goldens.get("seq3.logits") as Float32Array, V = model.config.vocabSize;
    const cache = model.newCache();
    const prompt = meta.decode_prompt;
    let logits = model.transformer.forward(prompt, cache);
    const got: number[] = [];
    for (let i = 0; i < want.length; i++) {
      closeTo(`decode step ${i}`, logits, seq3.subarray((prompt.length - 1 + i) * V, (prompt.length + i) * V));
      let best = 0;
      for (let j = 1; j < V; j++) if (logits[j] > logits[best]) best = j;
      got.push(best);
      logits = model.transformer.forward([best], cache);
    }
    expect(got).toEqual(want);
  });
});
