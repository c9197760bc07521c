// Stop strings over streamed text: text is passed on as it comes, except a tail that could be the start
// of a stop string, which is held back until the next piece says. Once a stop string appears, the text
// before it is the last passed on.

export class StopStrings {
  /** a stop string was found: nothing more is passed on */
  stopped = false;
  private held = "";
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    if (!stops.every((s) => typeof s === "string" && s !== "")) throw new RangeError("stop strings must be non-empty strings");
    this.longest = Math.max(0, ...stops.map((s) => s.length));
  }

  /** The text that is safe to pass on after `text` ("" while it may be a stop string's start). */
  push(text: string): string {
    if (this.stopped) return "";
    if (this.stops.length === 0) return text;
    this.held += text;
    let cut = -1;
    for (const s of this.stops) {
      const at = this.held.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      const before = this.held.slice(0, cut);
      this.held = "";
      this.stopped = true;
      return before;
    }
    // Keep the longest tail that some stop string starts with; the rest is safe to send.
    let keep = Math.min(this.held.length, this.longest - 1);
    while (keep > 0 && !this.stops.some((s) => s.startsWith(this.held.slice(this.held.length - keep)))) keep--;
    const send = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return send;
  }

  /** The text held back, at the end of the text (or of a part that a stop string may not span). */
  flush(): string {
    const text = this.held;
    this.held = "";
    return this.stopped ? "" : text;
  }
}
