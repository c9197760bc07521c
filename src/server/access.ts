// Who may call the server: an optional API key on /v1/* and, for web pages, CORS for the origins given.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** Why the request may not use the API (undefined when it may): `Authorization: Bearer <key>` is needed. */
export function checkApiKey(req: IncomingMessage, key: string): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return "this server needs an API key: send the header Authorization: Bearer <key>";
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
  // Compared as digests: same length, and no timing that tells how much of the key was right.
  const digest = (s: string) => createHash("sha256").update(s).digest();
  if (given === undefined || !timingSafeEqual(digest(given), digest(key))) return "the API key in the Authorization header is not this server's";
  return undefined;
}

/** The CORS headers for this request: none unless its Origin is allowed (or "*" is). */
export function corsHeaders(req: IncomingMessage, origins: string[] | undefined): Record<string, string> {
  if (!origins || origins.length === 0) return {};
  const origin = req.headers.origin;
  const allowed = origins.includes("*") ? "*" : origin !== undefined && origins.includes(origin) ? origin : undefined;
  if (allowed === undefined) return {};
  return {
    "access-control-allow-origin": allowed,
    "access-control-expose-headers": "retry-after",
    ...(allowed === "*" ? {} : { vary: "origin" }),
  };
}

/** Answers a CORS preflight (OPTIONS) from an allowed origin: the methods and headers the API takes. */
export function preflight(req: IncomingMessage, res: ServerResponse): string {
  req.resume();
  res.writeHead(204, {
    "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
    "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "authorization, content-type",
    "access-control-max-age": "600",
  });
  res.end();
  return "preflight";
}
