// Shows chat events in a terminal or a pipe: each kind of text in its own block, reasoning dimmed on a
// terminal (or marked `[reasoning]` in plain text), tool calls and raw output labelled.
import { envVar } from "../util/env.js";
import type { ChatDone, ChatEvent } from "../chat/chat.js";

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface PrinterOptions {
  out: Output;
  /** where reasoning goes (default `out`); `run` sends it to stderr so stdout holds only the answer */
  reasoningOut?: Output;
  /** where the statistics line goes (default `reasoningOut`) */
  statsOut?: Output;
  /** ANSI styles (default: per stream, when it is a terminal and NO_COLOR is unset); without them,
   * blocks are marked with `[reasoning]`, `[tool call]`, ... */
  color?: boolean;
  hideReasoning?: boolean;
  /** mark the answer block with `[answer]` when not colouring (chat); `run` prints it bare */
  markAnswer?: boolean;
}

type Block = "reasoning" | "answer" | "commentary" | "tool" | "other" | "raw";

const DIM = "\x1b[2m", UNDIM = "\x1b[22m", CYAN = "\x1b[36m", RESET_FG = "\x1b[39m", YELLOW = "\x1b[33m";

/** Colour when the stream is a terminal, unless NO_COLOR is set (https://no-color.org). */
export function useColor(stream: Output): boolean {
  return stream.isTTY === true && !envVar("NO_COLOR");
}

export class ChatPrinter {
  private block: Block | undefined;
  private blockKey = "";
  /** per stream: is the cursor at the start of a line? */
  private readonly atLineStart = new Map<Output, boolean>();

  constructor(private readonly o: PrinterOptions) {}

  handle(e: ChatEvent): void {
    switch (e.type) {
      case "reasoning":
        if (!this.o.hideReasoning) this.text("reasoning", "", e.text);
        break;
      case "answer":
      case "commentary":
      case "raw":
        this.text(e.type, "", e.text);
        break;
      case "tool-call-delta":
        this.text("tool", e.recipient, e.text);
        break;
      case "tool-call":
        // Arguments were streamed; say when they cannot be used.
        if (e.argumentsError) {
          this.text("tool", e.recipient, "");
          this.endBlock();
          const c = this.colored(this.o.out);
          this.line(this.o.out, `${c ? YELLOW : ""}(the arguments of ${e.recipient} are ${e.argumentsError})${c ? RESET_FG : ""}`);
        }
        break;
      case "other":
        this.text("other", `${e.role}${e.channel !== undefined ? `, channel ${e.channel}` : ", no channel"}`, e.text);
        break;
      case "message":
      case "warning":
        break; // counted in done
      case "done":
        this.endBlock();
        break;
    }
  }

  /** Ends the current block and line (before a prompt, or an interruption notice). */
  endBlock(): void {
    if (this.block === undefined) return;
    const stream = this.streamOf(this.block);
    if (this.colored(stream)) stream.write(this.styleEnd(this.block));
    if (this.atLineStart.get(stream) === false) this.newline(stream);
    this.block = undefined;
  }

  /** One line of statistics for a finished reply. */
  stats(done: ChatDone): void {
    const reused = done.reusedPromptTokens > 0 ? ` (${done.reusedPromptTokens} cached)` : "";
    const speed = done.decodeTokensPerSecond > 0 ? `, ${done.decodeTokensPerSecond.toFixed(1)} tokens/s` : "";
    const warn = done.warnings > 0 ? `, ${done.warnings} Harmony format problem${done.warnings === 1 ? "" : "s"} in the output` : "";
    const text = `[${done.promptTokens} prompt tokens${reused}, prefill ${(done.prefillMs / 1000).toFixed(2)} s, ` +
      `${done.generatedTokens} generated${speed}, stop: ${done.stopReason}${warn}]`;
    this.line(this.o.statsOut ?? this.o.reasoningOut ?? this.o.out, text, true);
  }

  /** A line of its own, outside any block; dimmed when `dim` and colouring. */
  line(stream: Output, text: string, dim = false): void {
    this.endBlock();
    if (this.atLineStart.get(stream) === false) this.newline(stream);
    stream.write(dim && this.colored(stream) ? `${DIM}${text}${UNDIM}\n` : `${text}\n`);
    this.atLineStart.set(stream, true);
  }

  private text(block: Block, key: string, text: string): void {
    if (this.block !== block || this.blockKey !== key) {
      this.endBlock();
      const stream = this.streamOf(block);
      if (this.atLineStart.get(stream) === false) this.newline(stream);
      stream.write(this.styleStart(block, key, this.colored(stream)));
      this.atLineStart.set(stream, false);
      this.block = block;
      this.blockKey = key;
    }
    if (text === "") return;
    const stream = this.streamOf(block);
    stream.write(text);
    this.atLineStart.set(stream, text.endsWith("\n"));
  }

  private newline(stream: Output): void {
    stream.write("\n");
    this.atLineStart.set(stream, true);
  }

  private streamOf(block: Block): Output {
    return block === "reasoning" ? (this.o.reasoningOut ?? this.o.out) : this.o.out;
  }

  private colored(stream: Output): boolean {
    return this.o.color ?? useColor(stream);
  }

  private styleStart(block: Block, key: string, c: boolean): string {
    switch (block) {
      case "reasoning":
        return c ? DIM : "[reasoning] ";
      case "answer":
        return c || !this.o.markAnswer ? "" : "[answer] ";
      case "commentary":
        return c ? "" : "[preamble] ";
      case "tool":
        return c ? `${CYAN}[tool call] ${key}${RESET_FG} ` : `[tool call] ${key} `;
      case "raw":
        return c ? `${DIM}[raw output, no Harmony message]${UNDIM} ` : "[raw output, no Harmony message] ";
      case "other":
        return c ? `${DIM}[${key}]${UNDIM} ` : `[${key}] `;
    }
  }

  private styleEnd(block: Block): string {
    return block === "reasoning" ? UNDIM : "";
  }
}
