// The trace report: one self-contained HTML file, checked in a real headless Chromium (Debian's
// `chromium`, driven by playwright-core). Without Chromium the browser test is skipped, saying so;
// scripts/install-chromium.sh installs it.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../src/cli/args.js";
import { run as traceCommand } from "../src/cli/trace.js";
import { loadModel, type GptOssModel } from "../src/model/model.js";
import { renderReport } from "../src/trace/report.js";
import { HARMONY_VOCAB_SIZE, idsOnly, loadTokenText } from "../src/trace/token-text.js";
import { traceGenerate } from "../src/trace/trace.js";
import { DEV_CHECKPOINT, Golden } from "./golden.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`report.test.ts: the headless-browser test is SKIPPED: no Chromium at ${CHROMIUM}; run scripts/install-chromium.sh (or set CHROMIUM_PATH)`);
const OUT = new URL("../tmp/", import.meta.url).pathname; // git-ignored
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run"];

let model: GptOssModel;
let html: string;
const golden = new Golden();
const prompt = Array.from(golden.i32("seq2.input_ids")).slice(0, 20);
const GEN = 4;

beforeAll(async () => {
  model = await loadModel(DEV_CHECKPOINT);
  const { trace } = traceGenerate(model, prompt, {}, { maxTokens: GEN + 1, temperature: 0 });
  html = renderReport(trace, idsOnly("test model"), { title: "dev checkpoint", promptLength: prompt.length });
  mkdirSync(OUT, { recursive: true });
});

describe("trace report", () => {
  it("is self-contained: no external scripts, styles, images or links", () => {
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href="(?!data:)/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*['"]?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import/);
  });

  it("escapes token text that looks like markup", () => {
    const { trace } = traceGenerate(model, [1, 2], { attention: true }, { maxTokens: 1, temperature: 0 });
    const evil = { ...idsOnly("x"), label: () => "</script><script>alert(1)</script>" };
    const page = renderReport(trace, evil, { title: "<b>t</b>" });
    expect(page).not.toContain("</script><script>alert(1)");
    expect(page).not.toContain("<b>t</b>");
  });

  describe.skipIf(!HAVE_CHROMIUM)(HAVE_CHROMIUM ? "in headless Chromium" : `in headless Chromium: SKIPPED, no Chromium at ${CHROMIUM} (run scripts/install-chromium.sh)`, () => {
    it("loads without console errors, draws the heatmaps, and is screenshotted", async () => {
      const { chromium } = await import("playwright-core");
      const file = join(OUT, "trace-report.html");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(file, html);
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
      try {
        const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
        const errors: string[] = [], requests: string[] = [];
        page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
        page.on("pageerror", (e) => errors.push(String(e)));
        page.on("request", (r) => { if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url()); });
        await page.goto(pathToFileURL(file).href);
        await page.waitForSelector("body[data-ready]", { timeout: 10_000 });
        const c = model.config, T = prompt.length + GEN;
        const counts = await page.evaluate(() => ({
          router: document.querySelectorAll("#router-heatmap rect.cell").length,
          choices: document.querySelectorAll("#choices-heatmap rect.cell").length,
          sinks: document.querySelectorAll("#sink-heatmap rect.cell").length,
          heads: document.querySelectorAll("canvas.attn-head").length,
          focus: (document.getElementById("attn-focus") as HTMLCanvasElement).width,
          lens: document.querySelectorAll("#lens-table tbody td").length,
          chips: document.querySelectorAll("#tokens .tok").length,
        }));
        expect(counts).toEqual({ router: c.numLayers * c.numExperts, choices: T * c.numExperts, sinks: c.numLayers * c.numHeads,
          heads: c.numHeads, focus: counts.focus, lens: (c.numLayers + 1) * T, chips: T });
        expect(counts.focus).toBeGreaterThan(100);
        // The attention canvases hold pixels, not blanks: some cell of head 0 is darker than white.
        const inked = await page.evaluate(() => {
          const cv = document.querySelector("canvas.attn-head") as HTMLCanvasElement;
          const px = cv.getContext("2d")!.getImageData(0, 0, cv.width, cv.height).data;
          let dark = 0;
          for (let i = 0; i < px.length; i += 4) if (px[i] < 200) dark++;
          return dark;
        });
        expect(inked).toBeGreaterThan(0);
        // Another layer and another head redraw without errors.
        await page.selectOption("#attn-layer", "1");
        await page.click("#attn-heads figure[data-head='3']");
        await page.selectOption("#choices-layer", String(c.numLayers - 1));
        await page.hover("#attn-focus", { position: { x: 200, y: 150 } });
        expect(await page.textContent("#attn-focus-title")).toMatch(/layer 1 .*head 3/);
        // Numbers in the heatmap cells are legible: white on dark cells, dark on light ones, as the browser
        // computes it (a CSS rule once forced dark text everywhere), with a contrast ratio of at least 4.
        const cells = await page.evaluate(() => {
          const rgb = (c: string) => (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
          const lum = (c: number[]) => {
            const [r, g, b] = c.map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
          };
          return [...document.querySelectorAll("svg.heatmap text.cell-text")].map((t) => {
            const rect = t.previousElementSibling as SVGRectElement;
            const ink = rgb(getComputedStyle(t).fill), cell = rgb(getComputedStyle(rect).fill);
            const [hi, lo] = [lum(ink), lum(cell)].sort((a, b) => b - a);
            return { ink: ink.join(","), dark: lum(cell) < 0.18, contrast: (hi + 0.05) / (lo + 0.05) };
          });
        });
        expect(cells.length).toBeGreaterThan(0);
        const darkCells = cells.filter((c) => c.dark);
        expect(darkCells.length).toBeGreaterThan(0);
        for (const c of darkCells) expect(c.ink).toBe("255,255,255");
        expect(Math.min(...cells.map((c) => c.contrast))).toBeGreaterThanOrEqual(4);
        const shot = join(OUT, "trace-report.png");
        await page.screenshot({ path: shot, fullPage: true });
        expect(statSync(shot).size).toBeGreaterThan(10_000);
        expect(errors).toEqual([]);
        expect(requests).toEqual([]);
      } finally {
        await browser.close();
      }
    }, 60_000);
  });
});

describe("trace command", () => {
  it("writes a report for --tokens", async () => {
    const file = join(OUT, "cli-report.html");
    expect(await traceCommand(["--model", DEV_CHECKPOINT, "--tokens", "3,492,827,960", "--gen-tokens", "2", "--out", file])).toBe(0);
    const page = readFileSync(file, "utf8");
    expect(page).toContain('id="trace-data"');
    expect(page).toContain("with the wasm backend"); // the default: the kernels someone profiling runs
    const data = JSON.parse(page.match(/<script type="application\/json" id="trace-data">(.*?)<\/script>/s)![1]);
    expect(data.tokens.slice(0, 4)).toEqual([3, 492, 827, 960]);
    expect(data.tokens.length).toBe(6);
    expect(data.labels[0]).toBe("#3");
  });

  it("--prompt explains why it cannot encode for this model", async () => {
    const err = await traceCommand(["--model", DEV_CHECKPOINT, "--prompt", "hello", "--out", join(OUT, "x.html")]).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(String(err.message)).toMatch(/1024 ids, not the 201088.*--tokens/);
  });

  it("needs exactly one of --tokens and --prompt", async () => {
    await expect(traceCommand(["--model", DEV_CHECKPOINT, "--out", "x.html"])).rejects.toThrow(/exactly one of --tokens or --prompt/);
  });
});

describe("token text", () => {
  it("shows ids for a model whose vocabulary is not o200k_harmony", async () => {
    const t = await loadTokenText(1024);
    expect(t.hasTokenizer).toBe(false);
    expect(t.label(42)).toBe("#42");
    expect(t.note).toMatch(/1024 ids/);
    expect(() => t.encode("hi")).toThrow(/cannot encode/);
  });

  it("uses the tokenizer when this build has one, and says so when not", async () => {
    const t = await loadTokenText(HARMONY_VOCAB_SIZE);
    if (t.hasTokenizer) {
      expect(t.note).toBeNull();
      expect(typeof t.label(200006)).toBe("string");
    } else {
      expect(t.note).toMatch(/tokenizer is not available/);
      expect(t.label(7)).toBe("#7");
    }
  });
});
