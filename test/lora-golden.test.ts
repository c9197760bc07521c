// The LoRA goldens (fixtures/lora-dev/README.md): the dev checkpoint with each PEFT adapter applied,
// against float64 logits (every logit within 1e-3 + 1e-3 |g|) and the 12-token greedy decodes (exact),
// on every kernel configuration parity runs over: the reference, and the wasm builds on one thread and
// on two threads over several memories, exact precision.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SafetensorsFile } from "../src/checkpoint/safetensors.js";
import { createKernels, simdLevels, type Backend, type KernelOptions } from "../src/backends/index.js";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import { Goldens, parityConfigs, toleranceRatio } from "./golden-parity.mjs";
import { DECODE_PROMPT, DEV_CKPT, LORA_DEV, logitsTrail, sameBits } from "./helpers.js";

const META = JSON.parse(readFileSync(join(LORA_DEV, "meta.json"), "utf8"));
const ADAPTERS = Object.keys(META.adapters) as string[];
const { atol, rtol } = META.tolerance as { atol: number; rtol: number };
const configs = parityConfigs(simdLevels()) as [string, Backend, KernelOptions][];

describe.each(configs)("LoRA goldens: %s", (_, backend, options) => {
  let base: GptOssModel;
  const models = new Map<string, GptOssModel>();
  beforeAll(async () => {
    base = await loadModel(DEV_CKPT, {
      kernels: await createKernels(backend, options),
      lora: ADAPTERS.map((name) => ({ path: join(LORA_DEV, META.adapters[name].dir) })),
    });
    // one load, every adapter: each applied alone through a view of the same weights
    for (const a of base.adapters) models.set(a.name, base.withAdapters([a]));
  });
  afterAll(() => base.dispose());

  describe.each(ADAPTERS)("%s", (name) => {
    const goldens = new Goldens(SafetensorsFile.open(join(LORA_DEV, META.adapters[name].golden)));

    it.each(Object.keys(META.sequences))("%s: every logit within the tolerance, and the base model's without the adapter", (seq) => {
      const ids = goldens.ids(seq);
      const r = toleranceRatio(models.get(name)!.forward(ids), goldens.read(`${seq}.logits`), undefined, atol, rtol);
      expect(r, `worst logit at ${r.toFixed(4)} of the tolerance`).toBeLessThanOrEqual(1);
      const rb = toleranceRatio(base.withAdapters([]).forward(ids), goldens.read(`${seq}.logits_base`), undefined, atol, rtol);
      expect(rb).toBeLessThanOrEqual(1);
    });

    it("the 12-token greedy decode, token for token", async () => {
      const prompt = Array.from(goldens.read("decode.prompt") as Int32Array);
      const tokens: number[] = [];
      for await (const { token } of models.get(name)!.generate(prompt, { maxTokens: 12, temperature: 0 })) tokens.push(token);
      expect(tokens).toEqual(Array.from(goldens.read("decode.tokens") as Int32Array));
      expect(tokens).toEqual(META.adapters[name].decode_tokens);
    });
  });
});

it("with adapters, 1, 2 and 3 threads give the same bits (prefill and decode), exact and fast", async () => {
  const seq = [410, 664, 47, 164, 663, 868, 985, 687, 404, 508, 758, 52, 3, 99, 1000, 5, 17];
  const lora = ADAPTERS.map((name) => ({ path: join(LORA_DEV, META.adapters[name].dir), scale: 0.7 })); // all three at once
  for (const precision of ["exact", "fast"] as const) {
    const trails = [];
    for (const threads of [1, 2, 3]) {
      const model = await loadModel(DEV_CKPT, { lora, kernels: await createKernels("wasm", { precision, threads, parallelMinBytes: 0 }) });
      trails.push(logitsTrail(model, seq, DECODE_PROMPT, 6));
      model.dispose();
    }
    expect(sameBits(trails[1], trails[0])).toBe(true);
    expect(sameBits(trails[2], trails[0])).toBe(true);
  }
});
