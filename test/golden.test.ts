// Parity with the official PyTorch reference (float32 run) on the dev checkpoint, over every kernel
// configuration: the checks are test/golden-parity.mjs's, the same that `npm run test:runtimes` runs
// under Node 24 and Deno.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import { SafetensorsFile } from "../src/checkpoint/safetensors.js";
import { createKernels, simdLevels, type Backend, type KernelOptions } from "../src/backends/index.js";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import { Rope } from "../src/model/rope.js";
import { Goldens, parityChecks, parityConfigs, toleranceRatio } from "./golden-parity.mjs";
import { DEV, DEV_CKPT } from "./helpers.js";

const goldens = new Goldens(SafetensorsFile.open(`${DEV}/golden_f32.safetensors`));
const configs = parityConfigs(simdLevels()) as [string, Backend, KernelOptions][];

describe.each(configs)("golden parity: %s", (_, backend, options) => {
  let model: GptOssModel;
  beforeAll(async () => {
    model = await loadModel(DEV_CKPT, { kernels: await createKernels(backend, options) });
  });
  afterAll(() => model.dispose());

  for (const { name } of parityChecks(null, goldens)) {
    it(name, () => {
      const check = parityChecks(model, goldens).find((c: { name: string }) => c.name === name)!;
      const { ok, detail } = check.run();
      expect(ok, detail).toBe(true);
    });
  }
});

it("YaRN inverse frequencies and cos/sin tables", () => {
  const ckpt = Checkpoint.open(DEV_CKPT);
  const config = ckpt.config;
  ckpt.close();
  const rope = new Rope(config.headDim, config.rope);
  const g = (name: string) => goldens.read(name) as Float32Array;
  expect(toleranceRatio(rope.invFreq, g("rope.inv_freq"))).toBeLessThanOrEqual(0.01);
  expect(rope.concentration).toBeCloseTo(g("rope.concentration")[0], 6);
  const n = g("rope.cos").length / (config.headDim / 2);
  const cos = new Float32Array(g("rope.cos").length), sin = new Float32Array(cos.length);
  rope.table(0, n, cos, sin);
  expect(toleranceRatio(cos, g("rope.cos"))).toBeLessThanOrEqual(0.1);
  expect(toleranceRatio(sin, g("rope.sin"))).toBeLessThanOrEqual(0.1);
});
