// A byte-counting progress report for long jobs (loading, downloading, writing checkpoints).
// On a terminal: one line redrawn in place, at most ~10 times a second, so a tight loop calling
// update() costs next to nothing. Elsewhere (CI logs, files, pipes): a plain line every 10% and one
// at the end, so logs stay short and readable.

const REDRAW_MS = 100;

export interface ProgressOptions {
  /** bytes already done before this run (a resumed download): counted in the bar, not in the speed */
  startBytes?: number;
  /** clock in milliseconds (tests) */
  now?: () => number;
}

export class Progress {
  private readonly startedAt: number;
  private readonly startBytes: number;
  private readonly now: () => number;
  private readonly tty: boolean;
  private done: number;
  private lastDraw = -Infinity;
  private lastDecile = -1;
  private finished = false;

  constructor(
    readonly label: string,
    readonly totalBytes: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    options: ProgressOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.startBytes = options.startBytes ?? 0;
    this.done = this.startBytes;
    this.tty = stream.isTTY === true;
    if (!this.tty) this.lastDecile = Math.floor(this.fraction() * 10);
  }

  update(doneBytes: number): void {
    if (this.finished) return;
    this.done = doneBytes;
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = t;
      this.stream.write(`\r\x1b[2K${this.line(t)}`);
    } else {
      // One line per 10% crossed; the end is reported by finish().
      const decile = Math.floor(this.fraction() * 10);
      if (decile > this.lastDecile && decile < 10) {
        this.lastDecile = decile;
        this.stream.write(`${this.line(t)}\n`);
      }
    }
  }

  /** Draws the final state (with the total time) and ends the line. Safe to call twice. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const t = this.now();
    const line = this.line(t, true);
    this.stream.write(this.tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  private fraction(): number {
    return this.totalBytes > 0 ? Math.min(1, this.done / this.totalBytes) : 0;
  }

  private line(t: number, final = false): string {
    const seconds = Math.max(1e-3, (t - this.startedAt) / 1000);
    const rate = (this.done - this.startBytes) / seconds; // bytes/s of this run
    const parts = [this.label];
    if (this.tty) parts.push(bar(this.fraction(), barWidth(this.stream)));
    parts.push(`${formatBytes(this.done)} / ${formatBytes(this.totalBytes)}`);
    parts.push(`${Math.floor(this.fraction() * 100)}%`);
    parts.push(`${formatBytes(rate)}/s`);
    if (final) parts.push(`in ${formatDuration(seconds)}`);
    else if (rate > 0 && this.totalBytes > this.done) parts.push(`${formatDuration((this.totalBytes - this.done) / rate)} left`);
    return parts.join("  ");
  }
}

function barWidth(stream: NodeJS.WriteStream): number {
  const columns = stream.columns ?? 80;
  return Math.max(10, Math.min(40, columns - 70));
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(fraction * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

/** 1234567 -> "1.23 MB": decimal units as disks and networks are sold, or binary ("1.18 MiB") for memory. */
export function formatBytes(n: number, units: "decimal" | "binary" = "decimal"): string {
  if (!Number.isFinite(n) || n < 0) n = 0;
  const step = units === "binary" ? 1024 : 1000;
  const names = units === "binary" ? ["B", "KiB", "MiB", "GiB", "TiB"] : ["B", "kB", "MB", "GB", "TB"];
  let u = 0;
  while (n >= step && u < names.length - 1) {
    n /= step;
    u++;
  }
  return u === 0 ? `${Math.round(n)} B` : `${n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)} ${names[u]}`;
}

/** 75 -> "1:15", 3700 -> "1:01:40". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}
