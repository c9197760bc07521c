// JSON text exactly as Python's `json.dumps` writes it, so that generated config.json and
// model.safetensors.index.json files are byte-identical to the Hub's (which were written by Python):
// separators ", " and ": ", optional indentation, and floats in Python's repr (7.0, 1e-05), which
// JavaScript cannot tell apart from integers, so the caller names the keys whose numbers are floats.

export interface PythonJsonOptions {
  /** like json.dumps(indent=...): pretty-print with this many spaces; omit for one line */
  indent?: number;
  /** like json.dumps(sort_keys=True) */
  sortKeys?: boolean;
  /** object keys whose numeric values are Python floats (written 7.0, not 7) */
  floatKeys?: ReadonlySet<string>;
}

export function pythonJson(value: unknown, options: PythonJsonOptions = {}): string {
  const { indent, sortKeys = false, floatKeys = new Set<string>() } = options;
  const write = (v: unknown, depth: number, isFloat: boolean): string => {
    if (v === null) return "null";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") return isFloat ? pythonFloat(v) : pythonNumber(v);
    if (typeof v === "string") return pythonString(v);
    const pad = indent === undefined ? "" : "\n" + " ".repeat(indent * (depth + 1));
    const end = indent === undefined ? "" : "\n" + " ".repeat(indent * depth);
    const sep = indent === undefined ? ", " : ",";
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      return `[${v.map((x) => pad + write(x, depth + 1, isFloat)).join(sep)}${end}]`;
    }
    if (typeof v === "object") {
      let keys = Object.keys(v as object);
      if (keys.length === 0) return "{}";
      if (sortKeys) keys = [...keys].sort();
      const o = v as Record<string, unknown>;
      return `{${keys.map((k) => `${pad}${pythonString(k)}: ${write(o[k], depth + 1, floatKeys.has(k))}`).join(sep)}${end}}`;
    }
    throw new Error(`cannot write ${typeof v} as JSON`);
  };
  return write(value, 0, false);
}

function pythonNumber(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as JSON`);
  return Number.isInteger(v) ? String(v) : pythonFloat(v);
}

/** Python's float repr: shortest round-trip digits, scientific below 1e-4 and from 1e16. */
export function pythonFloat(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as JSON`);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e16)) {
    // JavaScript: "1e-5", "1.5e+20"; Python: "1e-05", "1.5e+20" (at least two exponent digits).
    const [mantissa, exponent] = v.toExponential().split("e");
    const sign = exponent[0] === "-" ? "-" : "+";
    return `${mantissa}e${sign}${exponent.slice(1).padStart(2, "0")}`;
  }
  const s = String(v);
  return Number.isInteger(v) ? `${s}.0` : s;
}

/** json.dumps escapes every non-ASCII character (ensure_ascii=True). */
function pythonString(s: string): string {
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
