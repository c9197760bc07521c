// Where the OS refuses symbolic links (Windows without Developer Mode), a download into the Hugging Face
// cache still gives a whole snapshot: each blob is moved into it, as huggingface_hub does; a second run
// finds the files there and fetches nothing.
import { cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { downloadRepo } from "../src/hub/download.js";
import { loadModel } from "../src/model/model.js";
import { DEFAULT_COMMIT, startHubServer } from "./hub-server.js";
import { DEV_SHARDED } from "./helpers.js";

vi.mock("node:fs", async (original) => ({
  ...(await original<typeof import("node:fs")>()),
  symlinkSync: () => {
    throw Object.assign(new Error("EPERM: operation not permitted, symlink"), { code: "EPERM" });
  },
}));

const tmp = mkdtempSync(join(tmpdir(), "gpt-oss-nolinks-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("download without symbolic links", () => {
  it("moves each blob into the snapshot; the model loads; a second run transfers nothing", async () => {
    const root = join(tmp, "repo");
    cpSync(DEV_SHARDED, root, { recursive: true });
    const server = await startHubServer({ root, repo: "openai/gpt-oss-20b" });
    try {
      const cache = join(tmp, "cache");
      const options = { repo: "openai/gpt-oss-20b", cacheDir: cache, endpoint: server.endpoint, token: "" };
      const result = await downloadRepo(options);
      const repo = join(cache, "models--openai--gpt-oss-20b");
      expect(result.dir).toBe(join(repo, "snapshots", DEFAULT_COMMIT));
      for (const f of readdirSync(DEV_SHARDED)) {
        expect(lstatSync(join(result.dir, f)).isFile(), f).toBe(true);
        expect(readFileSync(join(result.dir, f)).equals(readFileSync(join(root, f))), f).toBe(true);
      }
      expect(readdirSync(join(repo, "blobs"))).toEqual([]);
      expect(readFileSync(join(repo, "refs", "main"), "utf8")).toBe(DEFAULT_COMMIT);
      const model = await loadModel(result.dir);
      expect(model.forward([1, 2]).every(Number.isFinite)).toBe(true);
      model.dispose();
      expect((await downloadRepo(options)).transferred).toBe(0);
    } finally {
      await server.close();
    }
  });
});
