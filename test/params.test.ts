// Parameter counts as people quote them: 21B total / 3.6B active for gpt-oss-20b, 117B / 5.1B for 120b
// (OpenAI's model card: 20.91B / 3.61B and 116.83B / 5.13B), computed from the config's shapes.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Checkpoint } from "../src/checkpoint/checkpoint.js";
import { parseConfig } from "../src/checkpoint/config.js";
import { countParameters, formatCount } from "../src/checkpoint/params.js";
import { planCheckpoint } from "../src/checkpoint/synth.js";
import { DEV_SHARDED, FIXTURES } from "./helpers.js";

describe("parameter counts", () => {
  it("gpt-oss-20b's config.json: 20.91B total, 3.61B active per token", () => {
    const file = join(FIXTURES, "gpt-oss-20b-hf", "config.json");
    const p = countParameters(parseConfig(JSON.parse(readFileSync(file, "utf8")), file, "hf"));
    expect(p.total).toBe(20_914_757_184);
    expect(p.activePerToken).toBe(3_608_307_264);
    expect(p.embedding).toBe(201_088 * 2880);
    expect([formatCount(p.total), formatCount(p.activePerToken)]).toEqual(["20.91B", "3.61B"]);
  });

  it("gpt-oss-120b's shapes: 116.83B total, 5.13B active", () => {
    const p = countParameters(planCheckpoint("120b").modelConfig);
    expect([formatCount(p.total), formatCount(p.activePerToken)]).toEqual(["116.83B", "5.13B"]);
  });

  it("the total is what the tensors hold (MXFP4: two per byte, scales not counted)", () => {
    const ckpt = Checkpoint.open(DEV_SHARDED);
    let held = 0;
    for (const name of ckpt.tensorNames) {
      const { info } = ckpt.tensor(name);
      const n = info.shape.reduce((a, b) => a * b, 1);
      held += name.endsWith("_scales") ? 0 : name.endsWith("_blocks") ? 2 * n : n;
    }
    expect(countParameters(ckpt.config).total).toBe(held);
    ckpt.close();
  });

  it("inspect prints them beside the bytes", () => {
    const r = spawnSync(process.execPath, ["dist/src/cli/main.js", "inspect", "--model", DEV_SHARDED], { encoding: "utf8" });
    expect(r.stdout).toMatch(/^parameters {2}814\.72K total, 450\.18K active per token \(814720 \/ 450176; 4 of 8 experts/m);
    const j = spawnSync(process.execPath, ["dist/src/cli/main.js", "inspect", "--model", DEV_SHARDED, "--json"], { encoding: "utf8" });
    expect(JSON.parse(j.stdout).parameters).toMatchObject({ total: 814720, activePerToken: 450176 });
  });
});
