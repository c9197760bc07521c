// Reading untrusted JSON (request bodies, tool definitions, conversation files).

/** A plain JSON object (not null, not a list). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
