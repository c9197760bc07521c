// An OpenAI-style HTTP server: GET /v1/models and POST /v1/chat/completions (plain or streamed as
// server-sent events). One model, one request at a time: the model runs on the JavaScript thread, so
// requests wait in a queue; a client that goes away aborts its generation (or leaves the queue).
// node:http only, so Deno runs it too.
import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { chat, checkChatModel, ContextFullError, type ChatDone, type ChatEvent, type TokenSource } from "../chat/chat.js";
import { ResponseFormatError } from "../structured/response-format.js";
import type { GptOssModel } from "../model/model.js";
import {
  DeltaStream, finishReason, InvalidRequestError, MessageBuilder, parseChatRequest, usageOf,
  type ChatRequest, type Delta, type FinishReason,
} from "./openai-chat.js";

export interface ServerOptions {
  /** the id in /v1/models and in every response (default: the checkpoint folder's name, else "gpt-oss") */
  modelId?: string;
  /** max tokens of a reply when the request sets none (default: the rest of the context) */
  maxTokens?: number;
  /** `Current date:` in the system message (default today; null for none): for repeatable prompts */
  date?: string | null;
  /** largest request body accepted (default 16 MiB) */
  maxBodyBytes?: number;
  /** where the one line per request goes (default stderr) */
  log?: (line: string) => void;
}

/**
 * An http.Server answering OpenAI's chat completions API with `model`: a loaded GptOssModel or any
 * TokenSource (tests use scripted ones). Call `.listen(port, host)` on it.
 */
export function createServer(model: GptOssModel | TokenSource, options: ServerOptions = {}): Server {
  if ("transformer" in model) checkChatModel(model);
  const modelId = options.modelId ?? ("checkpoint" in model ? basename(model.checkpoint.dir) : "gpt-oss");
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const queue = new Queue();

  return createHttpServer((req, res) => {
    const started = performance.now();
    let note = "";
    route(req, res)
      .then((n) => void (note = n ?? ""))
      .catch((e: unknown) => {
        note = (e as Error)?.message ?? String(e);
        if (!res.headersSent) sendError(res, 500, note, "server_error");
        else res.end();
      })
      .finally(() => {
        const seconds = ((performance.now() - started) / 1000).toFixed(2);
        const status = res.destroyed && !res.writableEnded ? "client gone" : String(res.statusCode);
        log(`${req.method} ${req.url} ${status} ${seconds} s${note ? `: ${note}` : ""}`);
      });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<string | void> {
    const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
    const model = { id: modelId, object: "model", created: 0, owned_by: "gpt-oss-ts" };
    if (path === "/v1/models" || path === `/v1/models/${modelId}`) {
      if (req.method !== "GET") return methodNotAllowed(req, res, "GET");
      return sendJson(res, 200, path === "/v1/models" ? { object: "list", data: [model] } : model);
    }
    if (path === "/v1/chat/completions") {
      if (req.method !== "POST") return methodNotAllowed(req, res, "POST");
      return completions(req, res);
    }
    req.resume();
    sendError(res, 404, `no such endpoint: ${req.method} ${path || "/"} (this server has GET /v1/models and POST /v1/chat/completions)`, "invalid_request_error");
  }

  async function completions(req: IncomingMessage, res: ServerResponse): Promise<string> {
    let request: ChatRequest;
    try {
      const body = await readBody(req, options.maxBodyBytes ?? 16 * 2 ** 20);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch (e) {
        throw new InvalidRequestError(`the request body is not valid JSON: ${(e as Error).message}`);
      }
      request = parseChatRequest(json, { maxTokens: options.maxTokens, date: options.date });
    } catch (e) {
      if (!(e instanceof InvalidRequestError)) throw e;
      sendError(res, e.status, e.message, "invalid_request_error", e.param);
      return e.message;
    }

    // A disconnect aborts the generation, or the wait in the queue.
    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    return queue.run(async () => {
      if (controller.signal.aborted) return "left the queue";
      return generate(request, res, controller);
    });
  }

  async function generate(request: ChatRequest, res: ServerResponse, controller: AbortController): Promise<string> {
    const id = `chatcmpl-${randomBytes(12).toString("hex")}`;
    const created = Math.floor(Date.now() / 1000);
    const deltas = new DeltaStream(request.stop);
    const events = chat(model, request.messages, { ...request.options, signal: controller.signal });
    const chunk = (delta: Delta, finish: FinishReason | null = null) =>
      sse(res, { id, object: "chat.completion.chunk", created, model: modelId, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });

    // The first event comes after the prompt has run: errors about the input (too long) are still a 400.
    let first: IteratorResult<ChatEvent>;
    try {
      first = await events.next();
    } catch (e) {
      // Too long a prompt, or too small a budget for the response format: the request's fault.
      if (!(e instanceof ContextFullError || e instanceof ResponseFormatError)) throw e;
      sendError(res, 400, e.message, "invalid_request_error", e instanceof ResponseFormatError ? e.param : "messages");
      return e.message;
    }
    if (request.stream && !res.destroyed) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      chunk({ role: "assistant", content: "" });
    }
    const message = new MessageBuilder();
    let done: ChatDone | undefined;
    const emit = (list: Delta[]) => {
      for (const d of list) request.stream ? chunk(d) : message.add(d);
      if (deltas.stopped && !controller.signal.aborted) controller.abort(); // a stop string was written
    };
    try {
      for (let r = first; !r.done; r = await events.next()) {
        if (r.value.type === "done") done = r.value;
        else emit(deltas.push(r.value));
      }
    } catch (e) {
      if (!request.stream) throw e;
      // Headers are gone: the error travels as an event, as OpenAI's streams do.
      sse(res, { error: { message: (e as Error).message, type: "server_error", param: null, code: null } });
      res.end();
      return (e as Error).message;
    }
    emit(deltas.end());
    if (!done) throw new Error("chat ended without a done event");
    const finish = finishReason(done, deltas.stopped);
    const usage = usageOf(done);
    const summary = `${usage.prompt_tokens} prompt tokens (${usage.prompt_tokens_details.cached_tokens} cached), ${usage.completion_tokens} generated, finish ${finish}${controller.signal.aborted && !deltas.stopped ? " (aborted)" : ""}`;
    if (res.destroyed) return summary;
    if (request.stream) {
      chunk({}, finish);
      if (request.includeUsage) sse(res, { id, object: "chat.completion.chunk", created, model: modelId, choices: [], usage });
      res.end("data: [DONE]\n\n");
    } else {
      sendJson(res, 200, {
        id, object: "chat.completion", created, model: modelId,
        choices: [{ index: 0, message: message.message(), logprobs: null, finish_reason: finish }],
        usage,
      });
    }
    return summary;
  }
}

/** Runs jobs one after the other, in arrival order; a failing job does not stop the next. */
class Queue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.catch(() => {});
    return result;
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on("data", (b: Buffer) => {
      size += b.length;
      if (size > limit) {
        req.pause();
        reject(new InvalidRequestError(`the request body is larger than ${limit} bytes`, null, 413));
      } else parts.push(b);
    });
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function sse(res: ServerResponse, data: unknown): void {
  if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, type: string, param: string | null = null): void {
  sendJson(res, status, { error: { message, type, param, code: null } });
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allowed: string): string {
  req.resume();
  res.setHeader("allow", allowed);
  const message = `${req.method} is not allowed here (use ${allowed})`;
  sendError(res, 405, message, "invalid_request_error");
  return message;
}
