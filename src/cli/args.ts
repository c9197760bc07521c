// A small, strict flag parser: `--name value`, `--name=value`, boolean `--flag`, and positionals.
// Unknown flags are errors, so a typo never silently changes what runs.

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

export function parseArgs(argv: string[], spec: FlagSpec): ParsedArgs {
  const flags: ParsedArgs["flags"] = {};
  const positionals: string[] = [];
  const sequence: ParsedArgs["sequence"] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--") || a === "--") {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown flag --${name}`);
    if (kind === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
    } else {
      if (eq < 0 && i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (kind === "list") {
        flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
        sequence.push({ name, value });
      } else {
        flags[name] = value;
      }
    }
  }
  return { flags, positionals, sequence };
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

/** "3,492,827" -> [3, 492, 827] (spaces allowed). */
export function parseTokenList(text: string, flag = "tokens"): number[] {
  const parts = text.split(/[,\s]+/).filter((p) => p !== "");
  if (parts.length === 0) throw new UsageError(`--${flag}: no token ids`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`--${flag}: "${p}" is not a token id (expected comma-separated non-negative integers)`);
    return Number(p);
  });
}
