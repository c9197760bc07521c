// The command line behaves like the tools people know: -h/--help everywhere, --version, an unknown flag is a
// usage error (exit 2) with a did-you-mean, and nothing that looks like a flag silently joins the prompt.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { didYouMean, optionalDate, optionalInteger, optionalSeed, parseArgs, UsageError } from "../src/cli/args.js";

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ["dist/src/cli/main.js", ...args], { encoding: "utf8", input: "" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const COMMANDS = ["forward", "generate", "inspect", "synth", "download", "demo", "render", "parse", "trace", "profile", "bench", "chat", "run", "serve"];
const VERSION = JSON.parse(readFileSync("package.json", "utf8")).version as string;

describe("parseArgs", () => {
  const spec = { model: "string", json: "boolean", "max-tokens": "string" } as const;

  it("reads --name value, --name=value, booleans, -h, and positionals (after -- even when they start with -)", () => {
    expect(parseArgs(["--model", "m", "--json", "--max-tokens=8", "hi", "there"], spec)).toEqual({
      flags: { model: "m", json: true, "max-tokens": "8" }, positionals: ["hi", "there"], sequence: [],
    });
    expect(parseArgs(["-h"], spec).flags.help).toBe(true);
    expect(parseArgs(["--help"], {}).flags.help).toBe(true); // every command takes --help
    expect(parseArgs(["--model", "m", "--", "-n 8 hi", "--json"], spec)).toEqual({ flags: { model: "m" }, positionals: ["-n 8 hi", "--json"], sequence: [] });
    expect(parseArgs(["-"], spec).positionals).toEqual(["-"]); // "-" is stdin, a positional
    expect(parseArgs(["--model=-odd"], spec).flags.model).toBe("-odd");
  });

  it("\"list\" flags repeat, in order, with the order of every list flag kept (--lora DIR --lora-scale S)", () => {
    const lists = { ...spec, lora: "list", "lora-scale": "list" } as const;
    const r = parseArgs(["--lora", "a", "--json", "--lora=b", "--lora-scale", "0.5"], lists);
    expect(r.flags).toEqual({ lora: ["a", "b"], "lora-scale": ["0.5"], json: true });
    expect(r.sequence).toEqual([{ name: "lora", value: "a" }, { name: "lora", value: "b" }, { name: "lora-scale", value: "0.5" }]);
  });

  it("refuses what it does not know, saying what was meant", () => {
    const err = (argv: string[]) => {
      try {
        parseArgs(argv, spec);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error(`no error for ${argv.join(" ")}`);
    };
    expect(err(["--modle", "x"])).toBe("unknown flag --modle (did you mean --model?)");
    expect(err(["--max", "3"])).toBe("unknown flag --max (did you mean --max-tokens?)");
    expect(err(["--frobnicate"])).toBe("unknown flag --frobnicate");
    expect(err(["-n", "8", "hi"])).toMatch(/^unknown flag -n \(flags are spelled --name; put text that starts with "-" after --\)$/);
    expect(err(["-hn"])).toMatch(/^unknown flag -n/);
    expect(err(["--model"])).toBe("--model needs a value");
    expect(err(["--model", "--json"])).toMatch(/--model needs a value, got the flag-like "--json"; write --model=--json if that is the value/);
    expect(err(["--json=yes"])).toBe("--json takes no value");
  });

  it("did-you-mean picks the one close candidate, or none", () => {
    const names = ["model", "max-tokens", "temperature", "top-p", "tokens", "threads"];
    expect(didYouMean("temprature", names)).toBe("temperature");
    expect(didYouMean("tokns", names)).toBe("tokens");
    expect(didYouMean("thread", names)).toBe("threads");
    expect(didYouMean("xyz", names)).toBeUndefined();
    expect(didYouMean("chta", ["chat", "run", "serve"])).toBe("chat");
  });

  it("value checks: whole numbers, 32-bit seeds, calendar dates", () => {
    const a = (flags: Record<string, string>) => ({ flags, positionals: [] });
    expect(optionalInteger(a({ n: "12" }), "n", 0, 1, 20)).toBe(12);
    expect(optionalInteger(a({}), "n", 5)).toBe(5);
    for (const bad of ["1e3", "0x10", "2.0", "-1", "", "21"]) {
      expect(() => optionalInteger(a({ n: bad }), "n", 0, 0, 20)).toThrow(`--n must be a whole number from 0 to 20, got ${JSON.stringify(bad)}`);
    }
    expect(optionalSeed(a({ seed: "4294967295" }), 0)).toBe(4294967295);
    expect(() => optionalSeed(a({ seed: "4294967296" }), 0)).toThrow(/--seed must be a whole number from 0 to 4294967295/);
    expect(optionalDate(a({ date: "2024-02-29" }))).toBe("2024-02-29");
    expect(optionalDate(a({ date: "none" }))).toBeNull();
    expect(optionalDate(a({}))).toBeUndefined();
    for (const bad of ["2025-02-29", "2025-13-01", "2025-04-31", "2025-1-1", "today"]) {
      expect(() => optionalDate(a({ date: bad }))).toThrow(`--date must be a calendar date YYYY-MM-DD or none, got ${JSON.stringify(bad)}`);
    }
  });
});

describe("the CLI", () => {
  it.each(COMMANDS)("%s -h and --help print its usage and exit 0", (command) => {
    for (const flag of ["-h", "--help"]) {
      const r = cli(command, flag);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: gpt-oss-ts ${command}\\b`));
    }
  });

  it("--version, alone or after a command", () => {
    for (const argv of [["--version"], ["-v"], ["run", "--version"], ["inspect", "--model", "x", "--version"]]) {
      const r = cli(...argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`gpt-oss-ts ${VERSION}\n`);
    }
    expect(cli("--help").stdout).toMatch(/-h\/--help.*--version/s);
  });

  it("a typo is a usage error with a did-you-mean; an unknown short flag never joins the prompt", () => {
    const typo = cli("run", "--modle", "m", "hi");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^gpt-oss-ts run: unknown flag --modle \(did you mean --model\?\)\n\(try: gpt-oss-ts run --help\)/);
    const short = cli("run", "--model", "m", "-n", "8", "hi");
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/unknown flag -n/);
    const command = cli("chta");
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/unknown command "chta" \(did you mean chat\?\)/);
    expect(cli("chat", "--date", "2025-02-30").stderr).toMatch(/--date must be a calendar date/);
    expect(cli("generate", "--model", "m", "--tokens", "1", "--seed", "-3").code).toBe(2);
  });
});
