// The server with LoRA adapters: each served under its own model id beside the base model, a request
// picking one by `model`, all on one loaded set of weights.
import { serveCli } from "./server-helpers.js";
import { rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TokenSource } from "../src/chat/chat.js";
import { synthesize } from "../src/checkpoint/synth.js";
import { loadModel, type GenerateOptions, type GptOssModel } from "../src/model/model.js";
import { synthesizeAdapter } from "../src/lora/synth.js";
import { createServer, type ServerOptions } from "../src/server/server.js";
import { getTokenizer } from "../src/tokenizer/tokenizer.js";
import { tempDir } from "./helpers.js";

const tok = getTokenizer();

/** Always answers `text` (a final message). */
class Fixed implements TokenSource {
  calls = 0;
  constructor(private readonly text: string) {}
  async *generate(_prompt: readonly number[], options: GenerateOptions) {
    this.calls++;
    const script = tok.encode(`<|channel|>final<|message|>${this.text}<|return|>`, { allowSpecial: true });
    for (let index = 0; index < script.length && index < (options.maxTokens ?? Infinity); index++) yield { token: script[index], index };
  }
}

async function serve(main: Parameters<typeof createServer>[0], options: ServerOptions) {
  const server = createServer(main, { date: "2025-06-28", log: () => {}, ...options });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))) };
}
const ask = (url: string, body: Record<string, unknown>) =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }], ...body }) });

describe("serving adapters by model id", () => {
  it("lists every model; a request picks by `model`; the base model when none is named; unknown ids are a 404", async () => {
    const base = new Fixed("from the base"), adapter = new Fixed("from the adapter");
    const s = await serve(base, { modelId: "gpt-oss-20b", models: { "my-adapter": adapter } });
    try {
      const list = await (await fetch(`${s.url}/v1/models`)).json();
      expect(list.data).toEqual([
        { id: "gpt-oss-20b", object: "model", created: 0, owned_by: "gpt-oss-ts" },
        { id: "my-adapter", object: "model", created: 0, owned_by: "gpt-oss-ts", parent: "gpt-oss-20b" },
      ]);
      expect((await (await fetch(`${s.url}/v1/models/my-adapter`)).json()).id).toBe("my-adapter");
      const reply = async (body: Record<string, unknown>) => {
        const r = await (await ask(s.url, body)).json();
        return [r.model, r.choices[0].message.content];
      };
      expect(await reply({ model: "my-adapter" })).toEqual(["my-adapter", "from the adapter"]);
      expect(await reply({ model: "gpt-oss-20b" })).toEqual(["gpt-oss-20b", "from the base"]);
      expect(await reply({})).toEqual(["gpt-oss-20b", "from the base"]);
      const missing = await ask(s.url, { model: "nope" });
      expect(missing.status).toBe(404);
      expect((await missing.json()).error).toMatchObject({ param: "model", code: "model_not_found", message: expect.stringMatching(/"nope" does not exist here; this server has: gpt-oss-20b, my-adapter/) });
      expect((await ask(s.url, { model: 7 })).status).toBe(400);
      expect([base.calls, adapter.calls]).toEqual([2, 1]);
    } finally {
      await s.close();
    }
    // one model: `model` is accepted and ignored, as before
    const single = await serve(new Fixed("only"), { modelId: "gpt-oss-20b" });
    try {
      expect((await ask(single.url, { model: "gpt-4o" })).status).toBe(200);
    } finally {
      await single.close();
    }
  });

  describe("on a real random-weight model", () => {
    const tmp = tempDir("gpt-oss-ts-lora-serve-");
    const ckpt = join(tmp, "tiny-real-vocab"), adapterDir = join(tmp, "tiny-adapter");
    let model: GptOssModel;
    beforeAll(async () => {
      await synthesize({ preset: "tiny", outDir: ckpt, seed: 7 });
      model = await loadModel(ckpt);
      synthesizeAdapter(adapterDir, model.config, { r: 4, expertLayers: [0], bStd: 2, seed: 3 });
    });
    afterAll(() => {
      model?.dispose();
      rmSync(tmp, { recursive: true, force: true });
    });

    it("switches per request on one loaded model: each reply is what that model alone serves", async () => {
      const adapter = model.loadAdapter({ path: adapterDir });
      const base = model.withAdapters([]), adapted = model.withAdapters([adapter]);
      const content = async (url: string, id?: string) => {
        const r = await (await ask(url, { ...(id ? { model: id } : {}), max_tokens: 6, temperature: 0 })).json();
        return [r.model, r.choices[0].message.content];
      };
      // each model alone (fresh views: their own KV caches)
      const want: Record<string, string> = {};
      for (const [id, m] of [["tiny-real-vocab", base], ["tiny-adapter", adapted]] as const) {
        const alone = await serve(m.withAdapters(m.adapters), { modelId: id });
        try {
          want[id] = (await content(alone.url))[1];
        } finally {
          await alone.close();
        }
      }
      expect(want["tiny-adapter"]).not.toBe(want["tiny-real-vocab"]);
      const s = await serve(base, { modelId: "tiny-real-vocab", models: { "tiny-adapter": adapted } });
      try {
        for (const id of ["tiny-adapter", "tiny-real-vocab", "tiny-adapter", "tiny-real-vocab"]) expect(await content(s.url, id)).toEqual([id, want[id]]);
      } finally {
        await s.close();
      }
      expect(adapted.transformer.weights).toBe(base.transformer.weights);
    });

    it("gpt-oss-ts serve --lora lists the base model and the adapter", async () => {
      const { url, stderr, stop } = await serveCli(["--model", ckpt, "--lora", adapterDir, "--max-tokens", "2"]);
      let code: number | null;
      try {
        expect(url, stderr()).toBeDefined();
        expect(stderr()).toMatch(/serve: tiny-real-vocab and LoRA adapters tiny-adapter on/);
        const list = await (await fetch(`${url}/v1/models`)).json();
        expect(list.data.map((m: { id: string }) => m.id)).toEqual(["tiny-real-vocab", "tiny-adapter"]);
        expect((await ask(url!, { model: "tiny-adapter" })).status).toBe(200);
      } finally {
        code = await stop();
      }
      expect(code).toBe(0);
      expect(stderr()).toMatch(/POST \/v1\/chat\/completions 200 [\d.]+ s: model tiny-adapter: \d+ prompt tokens/);
    });
  });
});
