import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { UsageError } from "../src/cli/args.js";
import * as parseCli from "../src/cli/parse.js";
import * as renderCli from "../src/cli/render.js";
import { getTokenizer } from "../src/tokenizer/tokenizer.js";

const harmonyDir = fileURLToPath(new URL("./fixtures/harmony/", import.meta.url));
const templateDir = fileURLToPath(new URL("./fixtures/chat-template/", import.meta.url));
const cases = JSON.parse(readFileSync(join(harmonyDir, "cases.json"), "utf8")).cases as any[];
const renders = JSON.parse(readFileSync(join(templateDir, "chat-template-renders.json"), "utf8")).cases;
const tmp = mkdtempSync(join(tmpdir(), "gpt-oss-ts-cli-"));

function writeJson(name: string, value: unknown): string {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

let out = "";
let err = "";
beforeEach(() => {
  out = "";
  err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => {
    err += `${a.join(" ")}\n`;
  });
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => {
    out += `${a.join(" ")}\n`;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const fixture = (id: string) => cases.find((c) => c.id === id);
const expectedText = (c: any) => readFileSync(join(harmonyDir, c.expected_file), "utf8").trimEnd();

describe("gpt-oss-ts render", () => {
  it("prints the Harmony prompt exactly, without a newline", async () => {
    const c = fixture("test_render_functions_with_parameters");
    const file = writeJson("functions.json", c.conversation);
    expect(await renderCli.run(["--conversation", file])).toBe(0);
    expect(out).toBe(expectedText(c));
  });

  it("supports --mode, --no-drop-analysis and --next-role", async () => {
    const keep = fixture("test_keep_analysis_between_finals");
    await renderCli.run(["--conversation", writeJson("keep.json", keep.conversation), "--mode", "conversation"]);
    expect(out).toBe(expectedText(keep));

    out = "";
    const preserve = fixture("test_preserve_cot");
    await renderCli.run(["--conversation", writeJson("preserve.json", preserve.conversation), "--no-drop-analysis"]);
    expect(out).toBe(expectedText(preserve));

    out = "";
    await renderCli.run(["--conversation", writeJson("keep2.json", keep.conversation), "--mode=training"]);
    expect(out.endsWith("8<|return|>")).toBe(true);

    out = "";
    await renderCli.run(["--conversation", writeJson("keep3.json", keep.conversation), "--next-role", "user"]);
    expect(out.endsWith("<|end|><|start|>user")).toBe(true);
  });

  it("prints token ids with --tokens", async () => {
    const c = fixture("test_simple_convo");
    await renderCli.run(["--conversation", writeJson("simple.json", c.conversation), "--tokens"]);
    expect(out).toBe(`${getTokenizer().encode(expectedText(c), { allowSpecial: true }).join(",")}\n`);
  });

  it("renders through the model's chat_template.jinja", async () => {
    const file = writeJson("hf.json", renders.tool_call.context);
    await renderCli.run(["--conversation", file, "--template", "jinja", "--model", templateDir, "--date", "2025-06-28"]);
    expect(out).toBe(renders.tool_call.rendered);

    // A Harmony conversation goes through the template too (its date comes from the system content).
    out = "";
    const c = fixture("test_no_tools");
    await renderCli.run(["--conversation", writeJson("notools.json", c.conversation), "--template", "jinja", "--model", templateDir]);
    expect(out).toBe(renders.simple.rendered.replace("<|start|>user<|message|>What is 2 + 2?<|end|>", ""));
  });

  it("rejects bad usage and bad files clearly", async () => {
    const file = writeJson("ok.json", fixture("test_simple_convo").conversation);
    await expect(renderCli.run([])).rejects.toThrow(/--conversation is required/);
    await expect(renderCli.run(["--conversation", file, "--mode", "chat"])).rejects.toThrow(UsageError);
    await expect(renderCli.run(["--conversation", file, "--next-role", "robot"])).rejects.toThrow(/--next-role: expected one of/);
    await expect(renderCli.run(["--conversation", file, "--template", "jinja"])).rejects.toThrow(/--model is required/);
    await expect(renderCli.run(["--conversation", file, "--model", templateDir])).rejects.toThrow(/only applies to --template jinja/);
    await expect(renderCli.run(["--conversation", file, "--bogus"])).rejects.toThrow(/unknown flag --bogus/);
    await expect(renderCli.run(["--conversation", join(tmp, "missing.json")])).rejects.toThrow(/cannot read/);
    const bad = join(tmp, "bad.json");
    writeFileSync(bad, "{nope");
    await expect(renderCli.run(["--conversation", bad])).rejects.toThrow(/not valid JSON/);
    await expect(renderCli.run(["--conversation", writeJson("role.json", { messages: [{ role: "bot", content: "x" }] })])).rejects.toThrow(
      /messages\[0\]\.role/,
    );
    expect(await renderCli.run(["--help"])).toBe(0);
    expect(out).toContain("usage: gpt-oss-ts render");
  });
});

describe("gpt-oss-ts parse", () => {
  it("parses token ids (inline or @FILE) into the cases.json shape", async () => {
    const c = fixture("test_simple_tool_call");
    expect(await parseCli.run(["--tokens", c.input_tokens.join(",")])).toBe(0);
    expect(JSON.parse(out)).toEqual(c.expected_messages);
    expect(err).toBe("");

    out = "";
    await parseCli.run(["--tokens", `@${join(harmonyDir, "test_simple_reasoning_response.txt")}`]);
    expect(JSON.parse(out)).toEqual(fixture("test_simple_reasoning_response").expected_messages);
  });

  it("parses text with special tokens", async () => {
    const c = fixture("test_streamable_parser");
    await parseCli.run(["--text", join(harmonyDir, "test_streamable_parser.txt")]);
    expect(JSON.parse(out)).toEqual(c.expected_messages);

    out = "";
    const file = join(tmp, "convo.txt");
    writeFileSync(file, "<|start|>user<|message|>hi<|end|><|start|>assistant<|channel|>final<|message|>Hello!<|return|>\n");
    await parseCli.run(["--text", file, "--role", "none"]);
    expect(JSON.parse(out)).toEqual([
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", channel: "final", content: [{ type: "text", text: "Hello!" }] },
    ]);
  });

  it("warns about problems on stderr, and fails on them with --strict", async () => {
    const file = join(tmp, "odd.txt");
    writeFileSync(file, "<|channel|>musings<|message|>hm<|end|>");
    expect(await parseCli.run(["--text", file])).toBe(0);
    expect(err).toMatch(/warning: unknown channel "musings"/);
    expect(JSON.parse(out)[0].channel).toBe("musings");
    expect(await parseCli.run(["--text", file, "--strict"])).toBe(1);
  });

  it("rejects bad usage", async () => {
    await expect(parseCli.run([])).rejects.toThrow(/exactly one of --text FILE or --tokens IDS/);
    await expect(parseCli.run(["--text", "a", "--tokens", "1"])).rejects.toThrow(UsageError);
    await expect(parseCli.run(["--tokens", "1,x"])).rejects.toThrow(/"x" is not a token id/);
    await expect(parseCli.run(["--tokens", "1", "--role", "robot"])).rejects.toThrow(/--role/);
    await expect(parseCli.run(["--text", join(tmp, "missing.txt")])).rejects.toThrow(/cannot read/);
  });
});
