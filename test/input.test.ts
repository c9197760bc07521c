// Bad input to a loaded model: a clear error, never a crash or a wrong answer.
import { describe, expect, it } from "vitest";
import { loadModel } from "../src/model/model.js";
import { DEV_CKPT } from "./helpers.js";

const model = await loadModel(DEV_CKPT);

describe("input checks", () => {
  it("token id out of range names the id, its index and the valid range", () => {
    expect(() => model.forward([1, 2, 1024])).toThrow("token id 1024 at index 2 is out of range: the vocabulary has ids 0..1023");
    expect(() => model.forward([-1])).toThrow(/token id -1 at index 0/);
    expect(() => model.forward([1.5])).toThrow(/token id 1.5/);
  });

  it("empty input", () => expect(() => model.forward([])).toThrow(/no tokens/));

  it("a context longer than the model allows", () => {
    const cache = model.newCache();
    cache.length = model.config.maxPositionEmbeddings - 1; // as if that much were cached
    expect(() => model.transformer.forward([1, 2], cache)).toThrow(`context of ${model.config.maxPositionEmbeddings + 1} tokens exceeds the model's limit of ${model.config.maxPositionEmbeddings}`);
  });

  it("not enough memory: refused before loading, with the numbers", async () => {
    await expect(loadModel(DEV_CKPT, { memoryLimit: 1_000_000 })).rejects.toThrow(/needs about 3\.\d+ MiB \(weights .* KV cache .*\) but only 977 KiB is available/);
  });

  it("generate stops at a stop token and honours an abort signal", async () => {
    const first: number[] = [];
    for await (const { token } of model.generate([1, 2, 3], { temperature: 0, maxTokens: 5 })) first.push(token);
    expect(first.length).toBe(5);
    const stopped: number[] = [];
    for await (const { token } of model.generate([1, 2, 3], { temperature: 0, maxTokens: 5, stopTokens: [first[1]] })) stopped.push(token);
    expect(stopped).toEqual(first.slice(0, 2));
    const ac = new AbortController();
    const aborted: number[] = [];
    for await (const { token } of model.generate([1, 2, 3], { temperature: 0, maxTokens: 5, signal: ac.signal })) {
      aborted.push(token);
      ac.abort();
    }
    expect(aborted).toEqual(first.slice(0, 1));
  });

  it("sampling with a seed is repeatable", async () => {
    const run = async () => {
      const out: number[] = [];
      for await (const { token } of model.generate([5, 6, 7], { temperature: 1, seed: 42, maxTokens: 8 })) out.push(token);
      return out;
    };
    expect(await run()).toEqual(await run());
  });
});
