import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, Progress } from "../src/util/progress.js";

function fakeStream(isTTY: boolean) {
  const out: string[] = [];
  const stream = { isTTY, columns: 100, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream;
  return { stream, out };
}

describe("Progress", () => {
  it("prints a few plain lines when the stream is not a terminal", () => {
    const { stream, out } = fakeStream(false);
    let t = 0;
    const p = new Progress("load", 1000, stream, { now: () => t });
    for (let done = 0; done <= 1000; done += 10) {
      t += 10;
      p.update(done);
    }
    p.finish();
    p.finish();
    // one line per 10% from 10% to 90%, then the final line
    expect(out.length).toBe(10);
    expect(out.every((l) => l.endsWith("\n") && !l.includes("\r"))).toBe(true);
    expect(out[0]).toMatch(/^load {2}100 B \/ 1.00 kB {2}10% {2}.* left\n$/);
    expect(out[9]).toMatch(/^load {2}1.00 kB \/ 1.00 kB {2}100% {2}.*B\/s {2}in 1.0s\n$/);
  });

  it("redraws one line in place on a terminal, at most every 100 ms", () => {
    const { stream, out } = fakeStream(true);
    let t = 0;
    const p = new Progress("dl", 10_000_000, stream, { now: () => t });
    for (let i = 1; i <= 100; i++) {
      t += 10; // 1 s in all: about 10 redraws
      p.update(i * 100_000);
    }
    p.finish();
    expect(out.length).toBeGreaterThanOrEqual(10);
    expect(out.length).toBeLessThanOrEqual(12);
    expect(out.slice(0, -1).every((l) => l.startsWith("\r\x1b[2K") && !l.endsWith("\n"))).toBe(true);
    expect(out.at(-1)).toMatch(/^\r\x1b\[2Kdl {2}\[#+\] {2}10.0 MB \/ 10.0 MB {2}100% {2}10.0 MB\/s {2}in 1.0s\n$/);
    expect(out[1]).toMatch(/\[#+-+\]/);
    expect(out[1]).toMatch(/ left$/);
  });

  it("leaves bytes done before a resumed run out of the speed", () => {
    const { stream, out } = fakeStream(false);
    let t = 0;
    const p = new Progress("dl", 2_000_000, stream, { now: () => t, startBytes: 1_000_000 });
    t = 1000;
    p.update(2_000_000);
    p.finish();
    expect(out.at(-1)).toContain("1.00 MB/s");
  });

  it("formats sizes and durations", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(13_761_264_768)).toBe("13.8 GB");
    expect(formatBytes(250_000_000)).toBe("250 MB");
    expect(formatDuration(3.25)).toBe("3.3s");
    expect(formatDuration(75)).toBe("1:15");
    expect(formatDuration(3700)).toBe("1:01:40");
  });
});
