// Relative paths that come from outside (a Hub file listing, a shard index) and name files inside a folder
// this program writes or reads: they must stay inside it, whatever the platform's path rules.
import { isAbsolute, relative, resolve, sep } from "node:path";

/** Why `path` ("/"-separated, relative) could name something outside its folder, or null when it cannot. */
export function unsafeRelativePath(path: string): string | null {
  if (typeof path !== "string" || path === "") return "it is empty";
  if (path.includes("\0")) return "it holds a NUL character";
  if (path.includes("\\")) return "it holds a backslash (a separator on Windows)";
  if (path.startsWith("/") || isAbsolute(path) || /^[A-Za-z]:/.test(path)) return "it is absolute";
  const parts = path.split("/");
  if (parts.includes("..")) return 'it climbs out with ".."';
  if (parts.some((p) => p === "" || p === ".")) return 'it has an empty or "." part';
  return null;
}

/** `folder`/`path`, after checking that `path` is relative, has no ".." or "\\", and resolves inside `folder`.
 * Throws `makeError(reason)` otherwise. (A symlink inside the folder may still point elsewhere, as the
 * Hugging Face cache's snapshot links do by design.) */
export function insideFolder(folder: string, path: string, makeError: (reason: string) => Error): string {
  const why = unsafeRelativePath(path);
  if (why) throw makeError(why);
  const root = resolve(folder);
  const full = resolve(root, path);
  const rel = relative(root, full);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) throw makeError("it resolves outside the folder");
  return full;
}
