// gpt-oss-ts serve --model DIR: the OpenAI-style HTTP server of src/server/server.ts, until Ctrl-C.
// The port is taken before the model loads, so a port in use is reported at once, and /health answers
// "loading" meanwhile.
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, resolve } from "node:path";
import { checkChatModel } from "../chat/chat.js";
import { DEFAULT_MAX_QUEUE, DEFAULT_MAX_TOKENS, loadingListener, requestListener, type ServerOptions } from "../server/server.js";
import { optionalDate, optionalNumber, parseArgs, UsageError } from "./args.js";
import { envVar } from "../util/env.js";
import { defaultChatPrecision } from "../backends/index.js";
import { LORA_FLAGS_HELP, loadFromArgs, loraOf, MODEL_FLAGS, precisionOf, backendOf } from "./common.js";


/** The environment variable that can hold the API key (so that it is not in `ps`). */
export const API_KEY_ENV = "GPT_OSS_TS_API_KEY";

const HELP = `usage: gpt-oss-ts serve --model DIR [--host 127.0.0.1] [--port 8000] [flags]

Serves POST /v1/responses (OpenAI's Responses API; GET and DELETE /v1/responses/{id}),
POST /v1/chat/completions (plain or "stream": true), GET /v1/models and GET /health.
Requests run one at a time, in arrival order; a client that disconnects stops its generation.
One line per request is logged on stderr. Ctrl-C stops the server.

  --host HOST                   address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N                      default 8000; 0 picks a free port (the line on stderr says which)
  --api-key KEY                 require "Authorization: Bearer KEY" on /v1/* (or set ${API_KEY_ENV})
  --cors ORIGIN[,ORIGIN]        let web pages from these origins call the API ("*": any); default none
  --max-tokens N                max tokens of a reply when the request sets none (default ${DEFAULT_MAX_TOKENS})
  --max-prompt-tokens N         refuse requests whose prompt is longer (default: the model's context)
  --max-queue N                 requests that may wait while one runs (default ${DEFAULT_MAX_QUEUE}); more get 429
  --date YYYY-MM-DD|none        "Current date:" in the system message (default today)
  --backend wasm|ts             kernel backend (default wasm)
  --precision exact|fast        wasm kernels' precision (default fast on runtimes with relaxed SIMD, else exact)
  --threads N                   threads for the wasm kernels (default: the number of cores)
${LORA_FLAGS_HELP}

With --lora, each adapter is served under its own model id (its folder's name) beside the base model
(the checkpoint folder's name): GET /v1/models lists them all and a request picks one by "model" (the
base model when it names none). The base weights are loaded once and shared; each model keeps its own
KV cache of the previous request.`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    ...MODEL_FLAGS, host: "string", port: "string", "max-tokens": "string", "max-prompt-tokens": "string", "max-queue": "string",
    "api-key": "string", cors: "string", date: "string", help: "boolean",
  });
  if (args.flags.help) return void console.log(HELP), 0;
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
  const host = (args.flags.host as string | undefined) ?? "127.0.0.1";
  const port = optionalNumber(args, "port", 8000, (n) => Number.isInteger(n) && n >= 0 && n <= 65535);
  const positive = (n: number) => Number.isInteger(n) && n > 0;
  const options: ServerOptions = {
    maxTokens: optionalNumber(args, "max-tokens", DEFAULT_MAX_TOKENS, positive),
    maxQueue: optionalNumber(args, "max-queue", DEFAULT_MAX_QUEUE, (n) => Number.isInteger(n) && n >= 0),
  };
  if (args.flags["max-prompt-tokens"] !== undefined) options.maxPromptTokens = optionalNumber(args, "max-prompt-tokens", 0, positive);
  const apiKey = (args.flags["api-key"] as string | undefined) ?? envVar(API_KEY_ENV);
  if (apiKey !== undefined) {
    if (apiKey.trim() === "") throw new UsageError(`--api-key (or ${API_KEY_ENV}) is empty`);
    options.apiKey = apiKey;
  }
  if (args.flags.cors !== undefined) {
    const origins = String(args.flags.cors).split(",").map((o) => o.trim()).filter((o) => o !== "");
    const bad = origins.find((o) => o !== "*" && !/^https?:\/\/[^/\s]+$/.test(o));
    if (origins.length === 0 || bad !== undefined) throw new UsageError(`--cors: expected origins like http://localhost:3000 (or *), got ${JSON.stringify(bad ?? args.flags.cors)}`);
    options.cors = origins;
  }
  const date = optionalDate(args);
  if (date !== undefined) options.date = date;
  backendOf(args);
  precisionOf(args, defaultChatPrecision());
  if (typeof args.flags.model !== "string" || args.flags.model === "") throw new UsageError("--model DIR is required");
  const modelId = basename(resolve(args.flags.model));
  const ids = loraOf(args).map((s) => basename(resolve(s.path)));
  for (const [i, id] of ids.entries()) {
    if (id === modelId || ids.indexOf(id) !== i) throw new UsageError(`two models would be served as "${id}": give each --lora folder its own name`);
  }

  // Bind first: a port in use is reported now, not after minutes of loading.
  const loading = loadingListener();
  const server = createHttpServer(loading);
  await new Promise<void>((ok, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) => fail(new Error(`cannot listen on ${host}:${port}: ${e.code === "EADDRINUSE" ? "the port is in use" : e.message}`)));
    server.listen(port, host, ok);
  });
  let model;
  try {
    model = await loadFromArgs(args, defaultChatPrecision());
    checkChatModel(model);
  } catch (e) {
    server.close();
    model?.dispose();
    throw e;
  }
  try {
    options.modelId = modelId;
    // Adapters: the base model and each adapter alone, as views of the one loaded model.
    options.models = Object.fromEntries(model.adapters.map((a) => [a.name, model!.withAdapters([a])]));
    server.off("request", loading);
    server.on("request", requestListener(model.adapters.length > 0 ? model.withAdapters([]) : model, options));
    return await serve(server, modelId, Object.keys(options.models));
  } finally {
    model.dispose(); // stops the kernel threads
  }
}

async function serve(server: Server, modelId: string, adapters: string[]): Promise<number> {
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const also = adapters.length > 0 ? ` and LoRA adapters ${adapters.join(", ")}` : "";
  process.stderr.write(`gpt-oss-ts serve: ${modelId}${also} on http://${shown}:${address.port}/v1 (POST /v1/responses, POST /v1/chat/completions, GET /v1/models, GET /health); Ctrl-C stops\n`);

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
