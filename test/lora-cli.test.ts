// --lora DIR [--lora-scale S] on the command line, run as users run it (the built bin): the goldens'
// README's own checks (forward, generate), scales, usage errors, refusals and warnings.
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SafetensorsFile } from "../src/checkpoint/safetensors.js";
import { toleranceRatio } from "./golden-parity.mjs";
import { DEV_CKPT, LORA_DEV, readTensor, tempDir } from "./helpers.js";

const tmp = tempDir("gpt-oss-ts-lora-cli-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ["dist/src/cli/main.js", ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const META = JSON.parse(readFileSync(join(LORA_DEV, "meta.json"), "utf8"));
const adapter = (name: string) => join(LORA_DEV, "adapters", name);
const golden = (name: string) => SafetensorsFile.open(join(LORA_DEV, `golden_${name}.safetensors`));

describe("--lora", () => {
  it("forward --lora writes the adapted logits (within the goldens' tolerance); --lora-scale 0 gives the base model's", () => {
    const g = golden("r4_rslora");
    const ids = META.sequences.seq2 as number[];
    for (const [scale, key] of [[[], "seq2.logits"], [["--lora-scale", "0"], "seq2.logits_base"]] as const) {
      const out = join(tmp, `logits-${key}.safetensors`);
      const r = cli("forward", "--model", DEV_CKPT, "--lora", adapter("r4_rslora"), ...scale, "--tokens", ids.join(","), "--out", out);
      expect(r.code, r.stderr).toBe(0);
      const f = SafetensorsFile.open(out);
      expect(toleranceRatio(readTensor(f, "logits") as Float32Array, readTensor(g, key) as Float32Array, undefined, 1e-3, 1e-3)).toBeLessThanOrEqual(1);
      f.close();
    }
  });

  it("generate --lora --json: the adapter's greedy decode", () => {
    const r = cli("generate", "--model", DEV_CKPT, "--lora", adapter("r8_bf16"), "--tokens", META.decode_prompt.join(","), "--max-tokens", "12", "--temperature", "0", "--json", "--backend", "ts");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!).tokens).toEqual(META.adapters.r8_bf16.decode_tokens);
  });

  it("repeated --lora adapters apply together, each with its own --lora-scale", () => {
    // r4 at scale 1 and again at scale -1 cancel out: the base model's decode
    const r = cli("generate", "--model", DEV_CKPT, "--lora", adapter("r4"), "--lora", adapter("r4"), "--lora-scale=-1",
      "--tokens", META.decode_prompt.join(","), "--max-tokens", "12", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!).tokens).toEqual(META.base_decode_tokens);
  });

  it("usage errors: a scale without its adapter, two scales, a scale that is not a number", () => {
    const base = ["generate", "--model", DEV_CKPT, "--tokens", "1,2"];
    expect(cli(...base, "--lora-scale", "0.5", "--lora", adapter("r4"))).toMatchObject({ code: 2, stderr: expect.stringMatching(/--lora-scale must follow the --lora it scales/) });
    expect(cli(...base, "--lora", adapter("r4"), "--lora-scale", "1", "--lora-scale", "2")).toMatchObject({ code: 2, stderr: expect.stringMatching(/has two --lora-scale values/) });
    expect(cli(...base, "--lora", adapter("r4"), "--lora-scale", "half")).toMatchObject({ code: 2, stderr: expect.stringMatching(/--lora-scale: invalid value "half"/) });
  });

  it("a bad adapter is one line naming the file and key, exit 1; a warning goes to stderr and the command runs", () => {
    const bad = join(tmp, "dora");
    cpSync(adapter("r4"), bad, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(bad, "adapter_config.json"), "utf8"));
    writeFileSync(join(bad, "adapter_config.json"), JSON.stringify({ ...cfg, use_dora: true }));
    const r = cli("generate", "--model", DEV_CKPT, "--lora", bad, "--tokens", "1,2");
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^gpt-oss-ts generate: .*dora\/adapter_config\.json: "use_dora" is true: DoRA/)]);

    const other = join(tmp, "other-base");
    cpSync(adapter("r4"), other, { recursive: true });
    writeFileSync(join(other, "adapter_config.json"), JSON.stringify({ ...cfg, base_model_name_or_path: "openai/gpt-oss-120b" }));
    const w = cli("generate", "--model", DEV_CKPT, "--lora", other, "--tokens", META.decode_prompt.join(","), "--max-tokens", "12", "--json");
    expect(w.code).toBe(0);
    expect(w.stderr).toMatch(/warning: .*other-base\/adapter_config\.json: the adapter was trained on "openai\/gpt-oss-120b"/);
    expect(JSON.parse(w.stdout.trim().split("\n").pop()!).tokens).toEqual(META.adapters.r4.decode_tokens);
  });

  it("profile --lora times the adapters on their own row", () => {
    const r = cli("profile", "--model", DEV_CKPT, "--lora", adapter("r4"), "--prompt-tokens", "4", "--gen-tokens", "2");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/LoRA adapters/);
    expect(cli("profile", "--model", DEV_CKPT, "--prompt-tokens", "4", "--gen-tokens", "2").stdout).not.toMatch(/LoRA/);
  });
});
