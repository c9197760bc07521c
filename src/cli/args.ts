// Flags of every command, read with node:util's parseArgs: `--name value`, `--name=value`, boolean
// `--flag`, `-h` for --help, positionals, and `--` before positionals that start with "-". Unknown flags
// are errors with a did-you-mean, so a typo never silently changes what runs (nor joins the prompt).
// The checks of flag values (numbers, seeds, dates) are here too, so every command says the same thing.
import { parseArgs as parseArgv } from "node:util";

export interface FlagSpec {
  /** "string" flags take a value; "boolean" flags do not; "list" flags take a value and may repeat */
  [name: string]: "string" | "boolean" | "list";
}

export interface ParsedArgs {
  /** a "list" flag's values are a string[] */
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** the "list" flags in the order given (for flags that pair up: --lora DIR --lora-scale S) */
  sequence: { name: string; value: string }[];
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One-letter spellings, the same in every command. */
const SHORT: Record<string, string> = { h: "help" };

/** Every command takes --help (-h), whether or not its spec says so. */
export function parseArgs(argv: string[], spec: FlagSpec): ParsedArgs {
  const known: FlagSpec = { help: "boolean", ...spec };
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, type] of Object.entries(known)) options[name] = { type: type === "boolean" ? "boolean" : "string" };
  for (const [short, name] of Object.entries(SHORT)) if (options[name]) options[name].short = short;
  // Not strict: the tokens are checked below, so that each error names the flag in this project's words.
  const { tokens } = parseArgv({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const flags: ParsedArgs["flags"] = {};
  const positionals: string[] = [];
  const sequence: ParsedArgs["sequence"] = [];
  for (const t of tokens) {
    if (t.kind === "positional") positionals.push(t.value);
    if (t.kind !== "option") continue;
    const type = known[t.name];
    if (type === undefined || (!t.rawName.startsWith("--") && SHORT[t.rawName.slice(1)] !== t.name)) throw unknownFlag(t.rawName, Object.keys(known));
    if (type === "boolean") {
      if (t.inlineValue) throw new UsageError(`${t.rawName} takes no value`);
      flags[t.name] = true;
    } else if (t.value === undefined) {
      throw new UsageError(`${t.rawName} needs a value`);
    } else if (!t.inlineValue && t.value.startsWith("-") && t.value !== "-") {
      throw new UsageError(`${t.rawName} needs a value, got the flag-like ${JSON.stringify(t.value)}; ` +
        `write ${t.rawName}=${t.value} if that is the value`);
    } else if (type === "list") {
      flags[t.name] = [...((flags[t.name] as string[] | undefined) ?? []), t.value];
      sequence.push({ name: t.name, value: t.value });
    } else {
      flags[t.name] = t.value;
    }
  }
  return { flags, positionals, sequence };
}

function unknownFlag(raw: string, names: string[]): UsageError {
  if (!raw.startsWith("--")) {
    return new UsageError(`unknown flag ${raw} (flags are spelled --name; put text that starts with "-" after --)`);
  }
  const guess = didYouMean(raw.slice(2), names);
  return new UsageError(`unknown flag ${raw}${guess ? ` (did you mean --${guess}?)` : ""}`);
}

/** The one candidate `word` most likely meant: the only one it begins, or the nearest within a few edits. */
export function didYouMean(word: string, candidates: string[]): string | undefined {
  const prefixed = candidates.filter((c) => word.length >= 2 && c.startsWith(word));
  if (prefixed.length === 1) return prefixed[0];
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance || (d === bestDistance && best === undefined)) [best, bestDistance] = [c, d];
  }
  return best;
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

export function requireString(args: ParsedArgs, name: string): string {
  const v = args.flags[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required`);
  return v;
}

export function optionalNumber(args: ParsedArgs, name: string, fallback: number, check: (n: number) => boolean = Number.isFinite): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !check(n)) throw new UsageError(`--${name}: invalid value ${JSON.stringify(v)}`);
  return n;
}

/** A whole number in [min, max] (decimal digits only: no "1e3", "0x10" or "2.0"). */
export function optionalInteger(args: ParsedArgs, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = args.flags[name];
  if (v === undefined) return fallback;
  const n = typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} must be a whole number ${range}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Seeds are 32-bit: the random streams take seed >>> 0, so larger or negative numbers would alias. */
export const MAX_SEED = 2 ** 32 - 1;

export function optionalSeed(args: ParsedArgs, fallback: number, name = "seed"): number {
  return optionalInteger(args, name, fallback, 0, MAX_SEED);
}

/** --date YYYY-MM-DD (a real calendar date) or "none": the date string, null for none, undefined when absent. */
export function optionalDate(args: ParsedArgs, name = "date"): string | null | undefined {
  const v = args.flags[name];
  if (v === undefined) return undefined;
  if (v === "none") return null;
  const m = typeof v === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(v) : null;
  const day = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!m || !day || day.getUTCFullYear() !== Number(m[1]) || day.getUTCMonth() !== Number(m[2]) - 1 || day.getUTCDate() !== Number(m[3])) {
    throw new UsageError(`--${name} must be a calendar date YYYY-MM-DD or none, got ${JSON.stringify(v)}`);
  }
  return v as string;
}

/** "3,492,827" -> [3, 492, 827] (spaces allowed). */
export function parseTokenList(text: string, flag = "tokens"): number[] {
  const parts = text.split(/[,\s]+/).filter((p) => p !== "");
  if (parts.length === 0) throw new UsageError(`--${flag}: no token ids`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`--${flag}: "${p}" is not a token id (expected comma-separated non-negative integers)`);
    return Number(p);
  });
}
