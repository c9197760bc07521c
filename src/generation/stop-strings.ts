// Stop strings over streamed text: text is passed on as it comes, except a tail that could be the start
// of a stop string, which is held back until the next piece says. Once a stop string appears, the text
// before it is the last passed on.

export class StopStrings {
  /** a stop string was found: nothing more is passed on */
  stopped = false;
  private held = "";

  constructor(private readonly stops: readonly string[]) {
    if (!stops.every((s) => typeof s === "string" && s !== "")) throw new RangeError("stop strings must be non-empty strings");
  }

  /** The text that is safe to pass on after `text` ("" while it may be a stop string's start). */
  push(text: string): string {
    if (this.stopped) return "";
    if (this.stops.length === 0) return text;
    this.held += text;
    const { send, stop } = splitHeld(this.held, this.stops);
    const out = this.held.slice(0, send);
    this.held = stop ? "" : this.held.slice(send);
    this.stopped = stop;
    return out;
  }

  /** The text held back, at the end of the text (or of a part that a stop string may not span). */
  flush(): string {
    const text = this.held;
    this.held = "";
    return this.stopped ? "" : text;
  }
}

/**
 * Where held-back text splits: `stop` when a stop string occurs in it (then `send` is where the earliest
 * one begins), else `send` is how much may go out, keeping the longest tail some stop string starts with.
 */
export function splitHeld(held: string, stops: readonly string[]): { send: number; stop: boolean } {
  let cut = -1;
  for (const s of stops) {
    const at = held.indexOf(s);
    if (at >= 0 && (cut < 0 || at < cut)) cut = at;
  }
  if (cut >= 0) return { send: cut, stop: true };
  let keep = Math.min(held.length, Math.max(0, ...stops.map((s) => s.length)) - 1);
  while (keep > 0 && !stops.some((s) => s.startsWith(held.slice(held.length - keep)))) keep--;
  return { send: held.length - keep, stop: false };
}
