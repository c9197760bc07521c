// The command line, run as users run it (the built bin), on the dev checkpoint.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SafetensorsFile } from "../src/checkpoint/safetensors.js";
import { DECODE_PROMPT, DEV_CKPT, DEV_SHARDED, GOLDEN_DECODE, goldenFloat, goldenIds, readTensor, tempDir, toleranceRatio } from "./helpers.js";

const tmp = tempDir();
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ["dist/src/cli/main.js", ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe("CLI", () => {
  it("forward writes the logits of every position as F32 [T, vocab] named logits", () => {
    const out = join(tmp, "logits.safetensors");
    const ids = goldenIds("seq1");
    const r = cli("forward", "--model", DEV_SHARDED, "--tokens", ids.join(","), "--out", out);
    expect(r.stderr).toContain("wrote logits [7, 1024]");
    expect(r.code).toBe(0);
    const f = SafetensorsFile.open(out);
    expect([...f.tensors.keys()]).toEqual(["logits"]);
    expect(f.get("logits")).toMatchObject({ dtype: "F32", shape: [7, 1024] });
    expect(toleranceRatio(readTensor(f, "logits") as Float32Array, goldenFloat("seq1.logits"))).toBeLessThanOrEqual(1);
  });

  it("generate --json prints the greedy continuation as its last line", () => {
    const r = cli("generate", "--model", DEV_CKPT, "--tokens", DECODE_PROMPT.join(","), "--max-tokens", "16", "--temperature", "0", "--json");
    expect(r.code).toBe(0);
    const last = r.stdout.trim().split("\n").pop()!;
    expect(JSON.parse(last)).toEqual({ tokens: GOLDEN_DECODE, stopReason: "max_tokens" });
  });

  it("generate --json at the context limit stops there with context_full, exits 0 and prints every token", () => {
    // the dev checkpoint with a context of 20 tokens: 12 of prompt leave room for 8
    const dir = join(tmp, "context-20");
    mkdirSync(dir);
    copyFileSync(join(DEV_CKPT, "model.safetensors"), join(dir, "model.safetensors"));
    const config = JSON.parse(readFileSync(join(DEV_CKPT, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, max_position_embeddings: 20 }));
    const r = cli("generate", "--model", dir, "--tokens", DECODE_PROMPT.join(","), "--max-tokens", "16", "--temperature", "0", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toEqual({ tokens: GOLDEN_DECODE.slice(0, 8), stopReason: "context_full" });
    expect(r.stderr).toMatch(/8 tokens in .*stopped: the context of 20 tokens is full/);
    const streamed = cli("generate", "--model", dir, "--tokens", DECODE_PROMPT.join(","), "--max-tokens", "16", "--temperature", "0");
    expect(streamed.code).toBe(0);
    expect(streamed.stdout).toBe(`${GOLDEN_DECODE.slice(0, 8).join(",")}\n`);
    // a prompt that fills the context alone is refused, clearly
    const full = cli("generate", "--model", dir, "--tokens", Array.from({ length: 20 }, () => 1).join(","));
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/the prompt is 20 tokens, which fills the context of 20 tokens/);
  });

  it("--threads: the same tokens on 1 and 3 threads, the process exits by itself; a bad count is a usage error", () => {
    for (const threads of ["1", "3"]) {
      const r = cli("generate", "--model", DEV_CKPT, "--tokens", DECODE_PROMPT.join(","), "--max-tokens", "16", "--json", "--threads", threads);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toEqual({ tokens: GOLDEN_DECODE, stopReason: "max_tokens" });
    }
    const bad = cli("generate", "--model", DEV_CKPT, "--tokens", "1", "--threads", "0");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--threads must be a whole number from 1 to 256, got "0"/);
  });

  it("bench --json: load, prefill, decode, bytes per token, the read probe and peak memory", () => {
    const r = cli("bench", "--model", DEV_CKPT, "--prompt-tokens", "9", "--gen-tokens", "3", "--threads", "2", "--json");
    expect(r.code).toBe(0);
    const b = JSON.parse(r.stdout);
    expect(b).toMatchObject({ threads: 2, precision: "exact", prefill: { tokens: 9 }, decode: { tokens: 3 }, model: { layers: 4, vocab: 1024 } });
    for (const v of [b.load.mbPerS, b.prefill.tokensPerS, b.decode.tokensPerS, b.decode.effectiveGBps, b.probe.gbPerS, b.peakRssBytes]) {
      expect(v).toBeGreaterThan(0);
    }
    // dense weights + 4 of 8 experts per layer: between the dense part and the whole model
    expect(b.decode.bytesPerToken).toBeGreaterThan(2 * 1024 * 64 * 2 * 0.5);
    expect(b.decode.bytesPerToken).toBeLessThan(b.load.bytes * 2);
    expect(r.stderr).toMatch(/decode 3\/3/);
    expect(cli("bench", "--model", DEV_CKPT, "--gen-tokens", "0").stderr).toMatch(/--gen-tokens: invalid value "0"/);
  });

  it("generate with a seed is repeatable and streams ids", () => {
    const a = cli("generate", "--model", DEV_CKPT, "--tokens", "1,2,3", "--max-tokens", "6", "--temperature", "0.8", "--seed", "7");
    const b = cli("generate", "--model", DEV_CKPT, "--tokens", "1,2,3", "--max-tokens", "6", "--temperature", "0.8", "--seed", "7");
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^\d+(,\d+){5}\n$/);
    expect(a.stdout).toBe(b.stdout);
  });

  it("inspect prints the config, the tensor table, bytes by dtype and memory", () => {
    const r = cli("inspect", "--model", DEV_SHARDED);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Hugging Face layout, 3 files/);
    expect(r.stdout).toMatch(/model\.layers\.0\.mlp\.experts\.gate_up_proj_blocks\s+U8\s+\[8, 192, 2, 16\]\s+49152/);
    expect(r.stdout).toMatch(/79 tensors/);
    expect(r.stdout).toMatch(/BF16 .*\(449792 bytes\)/);
    expect(r.stdout).toMatch(/memory needed/);
  });

  it("bad input: clear one-line errors and non-zero exits", () => {
    const bad = cli("forward", "--model", DEV_CKPT, "--tokens", "1,5000", "--out", join(tmp, "x.safetensors"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/token id 5000 at index 1 is out of range: the vocabulary has ids 0..1023/);
    expect(bad.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    const usage = cli("generate", "--model", DEV_CKPT, "--tokens", "1,x");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/"x" is not a token id/);
    expect(cli("forward", "--modle", DEV_CKPT).stderr).toMatch(/unknown flag --modle/);
    expect(cli("inspect", "--model", join(tmp, "nowhere")).stderr).toMatch(/nowhere: not a folder/);
    expect(cli("frobnicate").code).toBe(2);
  });
});
