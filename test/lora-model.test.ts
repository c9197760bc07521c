// Adapters through the API: counted in the memory check before loading, checked before any weight is
// read, applied per view of one loaded model (the base weights are shared, not reloaded).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Checkpoint, expectedOf } from "../src/checkpoint/checkpoint.js";
import { estimateMemory } from "../src/checkpoint/memory.js";
import { loadModel, OutOfMemoryError } from "../src/model/model.js";
import { AdapterError } from "../src/lora/config.js";
import { openAdapter } from "../src/lora/adapter.js";
import { DEV_CKPT, LORA_DEV } from "./helpers.js";

const adapter = (name: string) => join(LORA_DEV, "adapters", name);

describe("LoRA through the API", () => {
  it("the memory check counts the adapters: refused when they are what does not fit, with their size", async () => {
    const ck = Checkpoint.open(DEV_CKPT);
    const base = estimateMemory(ck.config, expectedOf(ck), Math.min(4096, ck.config.maxPositionEmbeddings), 128).total;
    const bytes = openAdapter(adapter("r8_bf16"), ck.config).bytes;
    ck.close();
    expect(bytes).toBeGreaterThan(100_000);
    const limit = base + bytes / 2;
    const model = await loadModel(DEV_CKPT, { memoryLimit: limit, backend: "ts" }); // fits without the adapter
    model.dispose();
    const err = await loadModel(DEV_CKPT, { memoryLimit: limit, backend: "ts", lora: [{ path: adapter("r8_bf16") }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as Error).message).toMatch(/, LoRA adapters [\d.]+ KiB\) but only/);
  });

  it("a bad adapter is refused before the weights are read; bad scales too", async () => {
    let read = 0;
    const err = await loadModel(DEV_CKPT, { lora: [{ path: join(LORA_DEV, "nowhere") }], onProgress: () => void read++ }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterError);
    expect(read).toBe(0);
    await expect(loadModel(DEV_CKPT, { lora: [{ path: adapter("r4"), scale: NaN }] })).rejects.toThrow(/r4: the adapter's scale must be a finite number, got NaN/);
  });

  it("views of one model: base and adapters switch without reloading, each with its own results", async () => {
    const warnings: string[] = [];
    const model = await loadModel(DEV_CKPT, { lora: [{ path: adapter("r4") }, { path: adapter("r4_rslora") }], onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(model.adapters.map((a) => a.name)).toEqual(["r4", "r4_rslora"]);
    const [r4, rs] = model.adapters;
    const base = model.withAdapters([]), onlyR4 = model.withAdapters([r4]);
    expect(base.transformer.weights).toBe(model.transformer.weights); // the same weights, not a copy
    const ids = [1, 2, 3, 4, 5];
    const logits = (m: typeof model) => Array.from(m.forward(ids).subarray(4 * 1024));
    const lb = logits(base), l4 = logits(onlyR4), both = logits(model);
    expect(l4).not.toEqual(lb);
    expect(both).not.toEqual(l4);
    expect(logits(base)).toEqual(lb); // switching back and forth changes nothing
    expect(logits(model.withAdapters([r4, rs]))).toEqual(both);
    // loadAdapter adds one to a loaded model
    const r8 = model.loadAdapter({ path: adapter("r8_bf16"), scale: 2 });
    expect(r8.scale).toBe(2);
    expect(logits(model.withAdapters([r8]))).not.toEqual(lb);
    model.dispose();
  });
});
