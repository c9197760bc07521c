// Environment variables, read so that a runtime that guards them (Deno without --allow-env) gets "unset"
// rather than an exception in the middle of an error message.

/** The variable's value; undefined when unset, empty, or not readable here. */
export function envVar(name: string): string | undefined {
  try {
    const v = typeof process !== "undefined" ? process.env[name] : undefined;
    return v === "" ? undefined : v;
  } catch {
    return undefined;
  }
}
