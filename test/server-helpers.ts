// What the server tests share: a scripted token source (Harmony written by hand and tokenised, so every
// reply is known), a server on a free port of 127.0.0.1, and OpenAI's npm client pointed at it.
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import OpenAI from "openai";
import type { TokenSource } from "../src/chat/chat.js";
import type { GenerateOptions } from "../src/model/model.js";
import { createServer, type ServerOptions } from "../src/server/server.js";
import { getTokenizer } from "../src/tokenizer/tokenizer.js";

export const tok = getTokenizer();
export const ids = (harmony: string) => tok.encode(harmony, { allowSpecial: true });

export const REASONED = "<|channel|>analysis<|message|>User says hi. Reply politely.<|end|><|start|>assistant<|channel|>final<|message|>Hello! How can I help?<|return|>";
export const CALL = "<|channel|>analysis<|message|>Need the weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"location\": \"Paris\"}<|call|>";
export const SUNNY = "<|channel|>final<|message|>It is sunny in Paris.<|return|>";

/**
 * Yields one script per call, honouring maxTokens, stop tokens and the signal; records the prompts and the
 * options. With `topLogprobs`, each token has a made-up log-probability: -id / 1e6, alternatives 0 and 1.
 */
export class Scripted implements TokenSource {
  prompts: string[] = [];
  options: GenerateOptions[] = [];
  /** tokens yielded so far, all calls together */
  yielded = 0;
  aborted = 0;
  contextLength?: number;
  constructor(private readonly scripts: number[][], private readonly delayMs = 0) {}
  async *generate(prompt: readonly number[], options: GenerateOptions) {
    this.prompts.push(tok.decode([...prompt]));
    this.options.push(options);
    const script = this.scripts[this.prompts.length - 1] ?? [];
    for (let index = 0; index < script.length && index < (options.maxTokens ?? Infinity); index++) {
      if (options.signal?.aborted) return void this.aborted++;
      const token = script[index];
      const top = [{ token: 0, logprob: -0.5 }, { token: 1, logprob: -1.5 }].slice(0, options.topLogprobs ?? 0);
      this.yielded++;
      yield { token, index, ...(options.topLogprobs !== undefined ? { logprobs: { logprob: -token / 1e6, top } } : {}) };
      if (options.stopTokens?.includes(token)) return;
      await new Promise((r) => (this.delayMs ? setTimeout(r, this.delayMs) : setImmediate(r)));
    }
    if (options.signal?.aborted) this.aborted++;
  }
}

export interface Running {
  url: string;
  logs: string[];
  /** OpenAI's client for this server (no retries, so that a 429 is seen as it is) */
  client: OpenAI;
  close(): Promise<void>;
}

export async function serve(source: Parameters<typeof createServer>[0], options: ServerOptions = {}): Promise<Running> {
  const logs: string[] = [];
  const server: Server = createServer(source, { modelId: "test-model", date: "2025-06-28", log: (l) => logs.push(l), ...options });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    logs,
    client: new OpenAI({ baseURL: `${url}/v1`, apiKey: options.apiKey ?? "none", maxRetries: 0 }),
    close: () => new Promise((ok) => (server.closeAllConnections(), server.close(() => ok()))),
  };
}

export const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "Gets the weather.",
  strict: null,
  parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `gpt-oss-ts serve ARGS --port 0` as a child process, once it has printed its URL (stderr so far in
 * `stderr()`); `stop()` sends SIGTERM and resolves to the exit code. `url` is undefined when it exited first. */
export async function serveCli(args: string[]): Promise<{ url: string | undefined; stderr: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ["dist/src/cli/main.js", "serve", ...args, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((ok) => child.on("exit", ok));
  const URL_RE = /(http:\/\/127\.0\.0\.1:\d+)\/v1/;
  for (let i = 0; i < 600 && !URL_RE.test(stderr) && child.exitCode === null; i++) await sleep(50);
  return { url: URL_RE.exec(stderr)?.[1], stderr: () => stderr, stop: () => (child.kill("SIGTERM"), exited) };
}
