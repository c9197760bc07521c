// gpt-oss-ts serve --model DIR: the OpenAI-style HTTP server of src/server/server.ts, until Ctrl-C.
import type { AddressInfo } from "node:net";
import { basename, resolve } from "node:path";
import { checkChatModel } from "../chat/chat.js";
import { createServer } from "../server/server.js";
import type { GptOssModel } from "../model/model.js";
import { optionalDate, optionalNumber, parseArgs, UsageError, type ParsedArgs } from "./args.js";
import { loadFromArgs, MODEL_FLAGS, precisionOf, backendOf } from "./common.js";

export const summary = "OpenAI-style HTTP server: /v1/chat/completions and /v1/models";

const HELP = `usage: gpt-oss-ts serve --model DIR [--host 127.0.0.1] [--port 8000] [flags]

Serves POST /v1/chat/completions (OpenAI's request shape, plain or "stream": true) and GET /v1/models.
Requests run one at a time, in arrival order; a client that disconnects stops its generation.
One line per request is logged on stderr. Ctrl-C stops the server.

  --host HOST                   address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N                      default 8000; 0 picks a free port (the line on stderr says which)
  --max-tokens N                max tokens of a reply when the request sets none (default: the context)
  --date YYYY-MM-DD|none        "Current date:" in the system message (default today)
  --backend wasm|ts             kernel backend (default wasm)
  --precision exact|fast        wasm kernels' precision (default exact)
  --threads N                   threads for the wasm kernels (default: the number of cores)`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { ...MODEL_FLAGS, host: "string", port: "string", "max-tokens": "string", date: "string", help: "boolean" });
  if (args.flags.help) return void console.log(HELP), 0;
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
  const host = (args.flags.host as string | undefined) ?? "127.0.0.1";
  const port = optionalNumber(args, "port", 8000, (n) => Number.isInteger(n) && n >= 0 && n <= 65535);
  const maxTokens = args.flags["max-tokens"] === undefined ? undefined : optionalNumber(args, "max-tokens", 0, (n) => Number.isInteger(n) && n > 0);
  const date = optionalDate(args);
  backendOf(args);
  precisionOf(args);

  const model = await loadFromArgs(args);
  try {
    checkChatModel(model);
    return await serve(model, args, host, port, maxTokens, date);
  } finally {
    model.dispose(); // stops the kernel threads
  }
}

async function serve(model: GptOssModel, args: ParsedArgs, host: string, port: number, maxTokens: number | undefined, date: string | null | undefined): Promise<number> {
  const modelId = basename(resolve(args.flags.model as string));
  const server = createServer(model, { modelId, maxTokens, ...(date !== undefined ? { date } : {}) });

  await new Promise<void>((ok, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) => fail(new Error(`cannot listen on ${host}:${port}: ${e.code === "EADDRINUSE" ? "the port is in use" : e.message}`)));
    server.listen(port, host, ok);
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  process.stderr.write(`gpt-oss-ts serve: ${modelId} on http://${shown}:${address.port}/v1 (POST /v1/chat/completions, GET /v1/models); Ctrl-C stops\n`);

  // Ctrl-C (or a TERM) closes the server; a generation in progress is cut off with its connection.
  await new Promise<void>((ok) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      server.close(() => ok());
      server.closeAllConnections();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return 0;
}
