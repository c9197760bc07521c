// `chat` and `run` as people use them: the built binary on a random-weight checkpoint with the real
// vocabulary, piped stdin, and the REPL in a pseudo-terminal (tmux) with a scripted model.
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runOneShot } from "../src/cli/run.js";
import { DEV_CKPT, tempDir } from "./helpers.js";
import { synthesize } from "../src/checkpoint/synth.js";

const tmp = tempDir();
const ckpt = join(tmp, "real-vocab");
// the tiny preset: random weights with the real vocabulary (201088), so the real tokenizer drives it
beforeAll(() => synthesize({ preset: "tiny", outDir: ckpt, seed: 7 }));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, ["dist/src/cli/main.js", ...args], { encoding: "utf8", input, env: { ...process.env, NO_COLOR: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe("run and chat on a random-weight checkpoint with the real vocabulary", () => {
  it("run --json prints the parsed messages as JSON", () => {
    const r = cli(["run", "--model", ckpt, "--json", "--max-tokens", "8", "--seed", "1", "What is 2 + 2?"]);
    expect(r.stderr).toMatch(/prompt tokens, prefill [\d.]+ s, 8 generated, .*stop: max_tokens/);
    expect(r.code).toBe(0);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(true);
  });

  it("run streams the output, repeatably with a seed", () => {
    const a = cli(["run", "--model", ckpt, "--max-tokens", "6", "--seed", "3", "Hello"]);
    const b = cli(["run", "--model", ckpt, "--max-tokens", "6", "--seed", "3", "Hello"]);
    expect(a.code).toBe(0);
    expect(a.stdout.trim()).not.toBe("");
    expect(a.stdout).toBe(b.stdout);
  });

  it("chat reads piped lines as turns and exits 0 at the end of input", () => {
    const r = cli(["chat", "--model", ckpt, "--max-tokens", "6", "--seed", "1"], "hi\n");
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("> hi\n")).toBe(true);
    expect(r.stderr).toMatch(/6 generated/);
  });

  it("chat keeps its session's KV cache across turns", () => {
    const r = cli(["chat", "--model", ckpt, "--max-tokens", "4", "--seed", "1"], "hi\nhow are you?\n");
    expect(r.code).toBe(0);
    const stats = r.stderr.split("\n").filter((l) => /prompt tokens/.test(l));
    expect(stats).toHaveLength(2);
    expect(stats[0]).not.toMatch(/cached/);
    expect(stats[1]).toMatch(/prompt tokens \(\d+ cached\)/);
  });

  it("runOneShot streams to the given outputs", async () => {
    let out = "", err = "";
    await runOneShot(ckpt, "Hi", { maxTokens: 5, seed: 2, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
    expect(out).not.toBe("");
    expect(err).toMatch(/5 generated/);
  });

  it("says clearly when a checkpoint cannot chat, and rejects bad flags", () => {
    const r = cli(["chat", "--model", DEV_CKPT], "");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^gpt-oss-ts chat: the model's vocabulary has 1024 tokens, but chat needs .* 201088/);
    expect(cli(["run", "--model", ckpt]).code).toBe(2);
    expect(cli(["run", "--model", ckpt, "--reasoning", "max", "hi"]).stderr).toMatch(/--reasoning must be low, medium or high/);
    expect(cli(["chat", "--model", ckpt, "--tools", join(tmp, "missing.json")]).stderr).toMatch(/cannot read .*missing\.json/);
  });
});

describe("chat REPL with a scripted model", () => {
  const script = "test/pty/scripted-chat.mjs";

  it("piped: reasoning and answer marked apart, a tool call answered from the next line, history kept", () => {
    const input = "hi\nWhat is the weather in Paris?\n{\"sunny\": true}\n";
    const r = spawnSync(process.execPath, [script], { encoding: "utf8", input });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe([
      "> hi",
      "[reasoning] The user greets me.",
      "[answer] Hello from the script!",
      "> What is the weather in Paris?",
      "[reasoning] Need the weather.",
      "[tool call] functions.get_weather {\"location\": \"Paris\"}",
      "result of functions.get_weather> {\"sunny\": true}",
      "[answer] It is sunny in Paris.",
      "",
    ].join("\n"));
    expect(r.stderr).toMatch(/stop: return\][\s\S]*stop: call\][\s\S]*stop: return\]/);
  });

  const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
  it.skipIf(!hasTmux)("in a terminal: streams, dims the reasoning, Ctrl-C stops a reply, Ctrl-C on an empty line exits", async () => {
    const session = `gpt-oss-ts-chat-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
    const screen = (escapes = false) => tmux("capture-pane", "-p", ...(escapes ? ["-e"] : []), "-t", session);
    const waitFor = async (what: RegExp, escapes = false) => {
      for (let i = 0; i < 200; i++) {
        if (what.test(screen(escapes))) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what} on the screen:\n${screen()}`);
    };
    tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "50", `${process.execPath} ${script}; echo EXIT=$?; sleep 30`);
    try {
      await waitFor(/^>\s*$/m);
      tmux("send-keys", "-t", session, "hi there", "Enter");
      await waitFor(/Hello from the script!/);
      // the reasoning is dimmed (SGR 2), the answer is not, and neither is marked
      await waitFor(/\x1b\[2mThe user greets me\./, true);
      expect(screen()).not.toContain("[reasoning]");
      await waitFor(/stop: return\]\n>\s*$/m);

      tmux("send-keys", "-t", session, "tell me more", "Enter");
      await waitFor(/and so on and so on/);
      tmux("send-keys", "-t", session, "C-c");
      await waitFor(/\[stopped\]\n.*stop: aborted\]\n>\s*$/m);
      const before = screen().match(/(and so on ?)+/g)!.join("").length;
      await new Promise((r) => setTimeout(r, 300));
      expect(screen().match(/(and so on ?)+/g)!.join("").length).toBe(before); // it really stopped

      // a second turn after the interruption works, and Ctrl-C at an empty prompt exits
      tmux("send-keys", "-t", session, "again", "Enter");
      await waitFor(/> again\n.*and so on/);
      tmux("send-keys", "-t", session, "C-c");
      await waitFor(/stop: aborted\][\s\S]*stop: aborted\]\n>\s*$/m);
      tmux("send-keys", "-t", session, "C-c");
      await waitFor(/EXIT=0/);
    } finally {
      spawnSync("tmux", ["kill-session", "-t", session]);
    }
  });
});
