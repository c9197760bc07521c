// What an adapter changes (src/trace/adapter-diff.ts) and its section in the trace report: the logit
// changes and top-token flips agree with the goldens' own figures (meta.json per_sequence).
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel } from "../src/model/model.js";
import { compareWithBase } from "../src/trace/adapter-diff.js";
import { renderReport } from "../src/trace/report.js";
import { idsOnly } from "../src/trace/token-text.js";
import { traceForward } from "../src/trace/trace.js";
import { DEV_CKPT, LORA_DEV, tempDir } from "./helpers.js";

const META = JSON.parse(readFileSync(join(LORA_DEV, "meta.json"), "utf8"));
const tmp = tempDir("gpt-oss-ts-lora-trace-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("adapter vs base", () => {
  it.each(Object.keys(META.adapters))("%s: per position the logit change and top-token flips the goldens report; router changes per layer", async (name) => {
    const model = await loadModel(DEV_CKPT, { backend: "ts", lora: [{ path: join(LORA_DEV, META.adapters[name].dir) }] });
    for (const [seq, ids] of Object.entries(META.sequences) as [string, number[]][]) {
      const d = compareWithBase(model, ids);
      const want = META.adapters[name].per_sequence[seq];
      const max = Math.max(...d.positions.map((p) => p.maxLogitChange));
      expect(Math.abs(max - want.max_abs_dlogit_vs_base)).toBeLessThan(2e-3);
      expect(d.positions.filter((p) => p.before[0].id !== p.after[0].id).length).toBe(want.argmax_changed_positions);
      expect(d.layers.length).toBe(4);
      for (const l of d.layers) {
        expect(l.tokensChanged).toBeLessThanOrEqual(ids.length);
        expect(l.choicesChanged).toBeGreaterThanOrEqual(l.tokensChanged);
        expect(l.choicesChanged).toBeLessThanOrEqual(l.tokensChanged * 4);
      }
      for (const p of d.positions) {
        expect(p.after.length).toBe(5);
        expect(p.kl).toBeGreaterThanOrEqual(0);
      }
    }
    // the base model against itself changes nothing
    const same = compareWithBase(model.withAdapters([]), META.sequences.seq2);
    expect(same.positions.every((p) => p.maxLogitChange === 0 && p.kl === 0)).toBe(true);
    expect(same.layers.every((l) => l.choicesChanged === 0)).toBe(true);
  });

  it("the report's adapter section; trace --lora writes it", async () => {
    const model = await loadModel(DEV_CKPT, { backend: "ts", lora: [{ path: join(LORA_DEV, "adapters", "r4") }] });
    const ids = META.sequences.seq2 as number[];
    const { trace } = traceForward(model, ids);
    const html = renderReport(trace, idsOnly("test"), { title: "dev", adapterDiff: compareWithBase(model, ids) });
    expect(html).toMatch(/<section id="adapter">/);
    expect(html).toMatch(/applies <b>r4<\/b> \(q_proj, k_proj, v_proj, o_proj on layers 0-3; experts\.gate_up_proj, experts\.down_proj on layer 1\)/);
    expect(html).toMatch(new RegExp(`differs at ${META.adapters.r4.per_sequence.seq2.argmax_changed_positions} of 20 positions`));
    expect(renderReport(trace, idsOnly("test"), { title: "dev" })).not.toMatch(/id="adapter"/);

    const out = join(tmp, "report.html");
    const r = spawnSync(process.execPath, ["dist/src/cli/main.js", "trace", "--model", DEV_CKPT, "--lora", join(LORA_DEV, "adapters", "r4_rslora"),
      "--tokens", ids.join(","), "--gen-tokens", "3", "--out", out], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const page = readFileSync(out, "utf8");
    expect(page).toMatch(/What the adapter changes/);
    expect(page).toMatch(/LoRA adapter r4_rslora \(scale 1 x trained\)/);
    expect(page).toMatch(/on the same 23 tokens/); // 20 given + the 3 generated
  });
});
