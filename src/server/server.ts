// An OpenAI-style HTTP server: GET /v1/models, POST /v1/chat/completions and the Responses API
// (POST /v1/responses, GET and DELETE /v1/responses/{id}), plain or streamed as server-sent events, and
// GET /health. One model, one request at a time: the model runs on the JavaScript thread, so requests
// wait in a bounded queue; a client that goes away aborts its generation (or leaves the queue).
// The server owns one session (KV cache): a request whose conversation extends the previous one's
// prompt runs only what is new; any other request rewinds it as far as they agree.
// node:http only, so Deno runs it too.
import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { chat, checkChatModel, ContextFullError, type ChatDone, type ChatEvent, type TokenSource } from "../chat/chat.js";
import { ResponseFormatError } from "../structured/response-format.js";
import type { Message } from "../harmony/types.js";
import { Session, type SessionModel } from "../generation/session.js";
import { getTokenizer } from "../tokenizer/tokenizer.js";
import {
  checkNesting, DeltaStream, finishReason, InvalidRequestError, logprobJson, MessageBuilder, parseChatRequest, usageOf,
  type ChatRequest, type Delta, type FinishReason,
} from "./openai-chat.js";
import { parseResponsesRequest, ResponseBuilder, ResponseStore, type ResponsesRequest, type StreamEvent } from "./responses.js";
import { checkApiKey, corsHeaders, preflight } from "./access.js";

/** max tokens of a reply when the request sets none: minutes of the only slot, not an hour (README) */
export const DEFAULT_MAX_TOKENS = 2048;
/** requests that may wait while one runs, by default; more are answered 429 */
export const DEFAULT_MAX_QUEUE = 16;

export interface ServerOptions {
  /** the id in /v1/models and in every response (default: the checkpoint folder's name, else "gpt-oss") */
  modelId?: string;
  /** max tokens of a reply when the request sets none (default DEFAULT_MAX_TOKENS) */
  maxTokens?: number;
  /** most tokens a request's rendered prompt may have (default: the model's context) */
  maxPromptTokens?: number;
  /** requests that may wait while one runs (default DEFAULT_MAX_QUEUE); more get 429 with Retry-After */
  maxQueue?: number;
  /** when set, /v1/* needs `Authorization: Bearer <apiKey>` (401 otherwise) */
  apiKey?: string;
  /** origins a web page may call from ("*" for any); default none: no CORS headers */
  cors?: string[];
  /** responses kept for previous_response_id and GET /v1/responses/{id} (default 1000, 64 MiB) */
  store?: { maxCount?: number; maxBytes?: number };
  /** `Current date:` in the system message (default today; null for none): for repeatable prompts */
  date?: string | null;
  /** largest request body accepted (default 16 MiB) */
  maxBodyBytes?: number;
  /** where the one line per request goes (default stderr) */
  log?: (line: string) => void;
  /**
   * More models served beside `model`, by id: LoRA adapters on the same loaded weights
   * (`model.withAdapters([adapter])`), so a request switches by its `model` field without reloading.
   * With any, an unknown `model` is refused (404); without, `model` is accepted and ignored.
   */
  models?: Record<string, SessionModel | TokenSource>;
}

/** What a request runs on (a session of its own for each served model), and its id in the reply. */
type Served = { id: string; model: TokenSource };

/** A model served: a session of the server's own for a loaded model, a Session or a TokenSource as given. */
function sourceOf(model: SessionModel | TokenSource): TokenSource {
  const session = "transformer" in model ? new Session(model) : model instanceof Session ? model : null;
  if (session) checkChatModel(session.model);
  return session ?? (model as TokenSource);
}

/**
 * An http.Server answering OpenAI's chat completions API with `model`: a loaded GptOssModel (the server
 * makes a session of its own for it), a Session, or any TokenSource (tests use scripted ones). Call
 * `.listen(port, host)` on it.
 */
export function createServer(model: SessionModel | TokenSource, options: ServerOptions = {}): Server {
  return createHttpServer(requestListener(model, options));
}

/** The request handler of `createServer`, for a server that is already listening (`serve` binds first). */
export function requestListener(model: SessionModel | TokenSource, options: ServerOptions = {}): RequestListener {
  const source = sourceOf(model);
  const dir = ((source instanceof Session ? source.model : undefined) as { checkpoint?: { dir: string } } | undefined)?.checkpoint?.dir;
  const modelId = options.modelId ?? (dir ? basename(dir) : "gpt-oss");
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const queue = new Queue(options.maxQueue ?? DEFAULT_MAX_QUEUE);
  const store = new ResponseStore(options.store?.maxCount, options.store?.maxBytes);
  const defaults = { maxTokens: options.maxTokens ?? DEFAULT_MAX_TOKENS, date: options.date };
  // Every model by id, the main one first; all share the queue (they share the kernels and weights).
  const served = new Map<string, TokenSource>([[modelId, source]]);
  for (const [id, m] of Object.entries(options.models ?? {})) {
    if (served.has(id)) throw new Error(`createServer: model id "${id}" is given twice`);
    served.set(id, sourceOf(m));
  }
  const card = (id: string) => ({ id, object: "model", created: 0, owned_by: "gpt-oss-ts", ...(id !== modelId ? { parent: modelId } : {}) });

  /** The model a request names in `model` (the main one when it names none, or when only one is served). */
  function pick(json: unknown): Served {
    const want = (json as { model?: unknown } | null)?.model;
    if (served.size === 1 || want === undefined || want === null) return { id: modelId, model: source };
    if (typeof want !== "string") throw new InvalidRequestError(`"model" must be a string, one of: ${[...served.keys()].join(", ")}`, "model");
    const m = served.get(want);
    if (!m) throw new InvalidRequestError(`the model "${want}" does not exist here; this server has: ${[...served.keys()].join(", ")}`, "model", 404);
    return { id: want, model: m };
  }
  getTokenizer(); // built now (a few tenths of a second), not while a first request holds the thread

  return (req, res) => {
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
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<string | void> {
    // The path alone, not new URL(target, base): that reads "//" as an empty host (and throws) and
    // "//x/y" as host x.
    const path = (req.url ?? "/").split("?", 1)[0].replace(/\/+$/, "");
    const cors = corsHeaders(req, options.cors);
    for (const [k, v] of Object.entries(cors)) res.setHeader(k, v);
    if (req.method === "OPTIONS" && cors["access-control-allow-origin"]) return preflight(req, res);
    if (path === "/health") {
      if (req.method !== "GET") return methodNotAllowed(req, res, "GET");
      return sendJson(res, 200, { status: "ok", model: modelId, running: queue.running, waiting: queue.waiting });
    }
    if (path.startsWith("/v1/") && options.apiKey !== undefined) {
      const refused = checkApiKey(req, options.apiKey);
      if (refused) {
        req.resume();
        res.setHeader("www-authenticate", "Bearer");
        sendError(res, 401, refused, "invalid_request_error", null, "invalid_api_key");
        return refused;
      }
    }
    const one = path.startsWith("/v1/models/") ? decodeURIComponent(path.slice("/v1/models/".length)) : null;
    if (path === "/v1/models" || (one !== null && served.has(one))) {
      if (req.method !== "GET") return methodNotAllowed(req, res, "GET");
      return sendJson(res, 200, one === null ? { object: "list", data: [...served.keys()].map(card) } : card(one));
    }
    if (path === "/v1/chat/completions") {
      if (req.method !== "POST") return methodNotAllowed(req, res, "POST");
      return completions(req, res);
    }
    if (path === "/v1/responses") {
      if (req.method !== "POST") return methodNotAllowed(req, res, "POST");
      return responses(req, res);
    }
    const stored = /^\/v1\/responses\/([^/]+)$/.exec(path);
    if (stored) {
      req.resume();
      if (req.method !== "GET" && req.method !== "DELETE") return methodNotAllowed(req, res, "GET, DELETE");
      const id = stored[1];
      const found = store.get(id);
      if (!found) return sendError(res, 404, `no response with id ${JSON.stringify(id)} is stored here`, "invalid_request_error", "response_id");
      if (req.method === "DELETE") store.delete(id);
      return sendJson(res, 200, req.method === "GET" ? found.response : { id, object: "response", deleted: true });
    }
    req.resume();
    sendError(res, 404, `no such endpoint: ${req.method} ${path || "/"} (this server has GET /v1/models, POST /v1/chat/completions, POST /v1/responses, GET and DELETE /v1/responses/{id}, GET /health)`, "invalid_request_error");
  }

  /** Reads and checks the body, then runs `job` in its turn; a disconnect aborts it, or its wait. */
  async function queued<R>(req: IncomingMessage, res: ServerResponse, parse: (json: unknown) => R,
    job: (request: R, controller: AbortController, on: Served) => Promise<string>): Promise<string> {
    let request: R;
    let on: Served;
    try {
      const body = await readBody(req, options.maxBodyBytes ?? 16 * 2 ** 20);
      checkNesting(body);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch (e) {
        throw new InvalidRequestError(`the request body is not valid JSON: ${(e as Error).message}`);
      }
      request = parse(json);
      on = pick(json);
    } catch (e) {
      if (!(e instanceof InvalidRequestError)) throw e;
      sendError(res, e.status, e.message, "invalid_request_error", e.param, e.param === "model" && e.status === 404 ? "model_not_found" : null);
      return e.message;
    }
    if (queue.full) {
      const message = `the server is busy: ${queue.waiting} requests are waiting for the one running (at most ${queue.limit} may wait)`;
      res.setHeader("retry-after", String(queue.retryAfterSeconds()));
      sendError(res, 429, message, "rate_limit_error", null, "rate_limit_exceeded");
      return message;
    }

    const controller = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) controller.abort();
    });
    return queue.run(async () => {
      if (controller.signal.aborted) return "left the queue";
      const summary = await job(request, controller, on);
      return served.size > 1 ? `model ${on.id}: ${summary}` : summary;
    });
  }

  function completions(req: IncomingMessage, res: ServerResponse): Promise<string> {
    return queued(req, res, (json) => parseChatRequest(json, defaults), (request, controller, on) => generate(request, res, controller, on));
  }

  function responses(req: IncomingMessage, res: ServerResponse): Promise<string> {
    return queued(req, res, (json) => parseResponsesRequest(json, store, defaults), (request, controller, on) => respond(request, res, controller, on));
  }

  /**
   * Starts the chat; the first event comes after the prompt has run, so errors about the input (too long)
   * are still a 400. Returns undefined when that 400 was sent.
   */
  async function begin(on: Served, messages: Message[], chatOptions: ChatRequest["options"], res: ServerResponse,
    controller: AbortController, param: string): Promise<{ events: AsyncGenerator<ChatEvent>; first: IteratorResult<ChatEvent> } | string> {
    const events = chat(on.model, messages, { ...chatOptions, maxPromptTokens: options.maxPromptTokens, signal: controller.signal });
    try {
      return { events, first: await events.next() };
    } catch (e) {
      // Too long a prompt, or too small a budget for the response format: the request's fault.
      if (!(e instanceof ContextFullError || e instanceof ResponseFormatError)) throw e;
      sendError(res, 400, e.message, "invalid_request_error", e instanceof ResponseFormatError ? e.param : param);
      return e.message;
    }
  }

  async function generate(request: ChatRequest, res: ServerResponse, controller: AbortController, on: Served): Promise<string> {
    const modelId = on.id;
    const id = `chatcmpl-${randomBytes(12).toString("hex")}`;
    const created = Math.floor(Date.now() / 1000);
    const deltas = new DeltaStream(request.stop);
    const chunk = ({ logprobs, ...delta }: Delta, finish: FinishReason | null = null) => sse(res, {
      id, object: "chat.completion.chunk", created, model: modelId,
      choices: [{ index: 0, delta, logprobs: logprobs ? { content: logprobs.map(logprobJson), refusal: null } : null, finish_reason: finish }],
    });

    const started = await begin(on, request.messages, request.options, res, controller, "messages");
    if (typeof started === "string") return started;
    const { events, first } = started;
    if (request.stream && !res.destroyed) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      await chunk({ role: "assistant", content: "" });
    }
    const message = new MessageBuilder();
    let done: ChatDone | undefined;
    const emit = async (list: Delta[]) => {
      for (const d of list) request.stream ? await chunk(d) : message.add(d);
      if (deltas.stopped && !controller.signal.aborted) controller.abort(); // a stop string was written
    };
    try {
      for (let r = first; !r.done; r = await events.next()) {
        if (r.value.type === "done") done = r.value;
        else await emit(deltas.push(r.value));
      }
    } catch (e) {
      if (!request.stream) throw e;
      // Headers are gone: the error travels as an event, as OpenAI's streams do.
      await sse(res, { error: { message: (e as Error).message, type: "server_error", param: null, code: null } });
      res.end();
      return (e as Error).message;
    }
    await emit(deltas.end());
    if (!done) throw new Error("chat ended without a done event");
    const finish = finishReason(done, deltas.stopped);
    const usage = usageOf(done);
    const summary = `${usage.prompt_tokens} prompt tokens (${usage.prompt_tokens_details.cached_tokens} cached), ${usage.completion_tokens} generated, finish ${finish}${controller.signal.aborted && !deltas.stopped ? " (aborted)" : ""}`;
    if (res.destroyed) return summary;
    if (request.stream) {
      await chunk({}, finish);
      if (request.includeUsage) await sse(res, { id, object: "chat.completion.chunk", created, model: modelId, choices: [], usage });
      res.end("data: [DONE]\n\n");
    } else {
      sendJson(res, 200, {
        id, object: "chat.completion", created, model: modelId,
        choices: [{ index: 0, message: message.message(), logprobs: request.logprobs ? { content: message.logprobs.map(logprobJson), refusal: null } : null, finish_reason: finish }],
        usage,
      });
    }
    return summary;
  }

  async function respond(request: ResponsesRequest, res: ServerResponse, controller: AbortController, on: Served): Promise<string> {
    const builder = new ResponseBuilder(request, on.id);
    const started = await begin(on, request.conversation.messages, request.options, res, controller, "input");
    if (typeof started === "string") return started;
    const { events, first } = started;
    const send = async (list: StreamEvent[]) => {
      if (request.stream) for (const e of list) await sse(res, e, e.type);
    };
    if (request.stream && !res.destroyed) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    }
    await send(builder.start());
    let done: ChatDone | undefined;
    try {
      for (let r = first; !r.done; r = await events.next()) {
        if (r.value.type === "done") done = r.value;
        else await send(builder.push(r.value));
      }
    } catch (e) {
      if (!request.stream) throw e;
      await sse(res, builder.error((e as Error).message), "error");
      res.end();
      return (e as Error).message;
    }
    if (!done) throw new Error("chat ended without a done event");
    await send(builder.finish(done));
    const response = builder.response();
    const aborted = controller.signal.aborted;
    if (request.store && !aborted) store.put({ response, conversation: builder.conversation(done) });
    const usage = response.usage!;
    const summary = `${usage.input_tokens} prompt tokens (${usage.input_tokens_details.cached_tokens} cached), ${usage.output_tokens} generated, ${response.status}${aborted ? " (aborted)" : ""}`;
    if (res.destroyed) return summary;
    if (request.stream) res.end();
    else sendJson(res, 200, response);
    return summary;
  }
}

/** A handler for while the model loads: /health says so, everything else is 503 with Retry-After. */
export function loadingListener(retryAfterSeconds = 10): RequestListener {
  return (req, res) => {
    req.resume();
    const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
    res.setHeader("retry-after", String(retryAfterSeconds));
    if (path === "/health") sendJson(res, 503, { status: "loading" });
    else sendError(res, 503, "the model is still loading", "server_error");
  };
}

/**
 * Runs jobs one after the other, in arrival order; a failing job does not stop the next. At most `limit`
 * wait while one runs.
 */
class Queue {
  private tail: Promise<unknown> = Promise.resolve();
  /** jobs queued or running */
  private size = 0;
  /** mean seconds of the recent jobs (exponential average), for Retry-After */
  private meanSeconds = 0;

  constructor(readonly limit: number) {}

  get running(): number {
    return Math.min(this.size, 1);
  }

  get waiting(): number {
    return Math.max(this.size - 1, 0);
  }

  get full(): boolean {
    return this.waiting >= this.limit && this.size > 0;
  }

  /** Seconds until the queue has room, at the recent pace (at least 1). */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.meanSeconds * (this.waiting - this.limit + 1)));
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    this.size++;
    const result = this.tail.then(async () => {
      const started = performance.now();
      try {
        return await job();
      } finally {
        this.size--;
        const seconds = (performance.now() - started) / 1000;
        this.meanSeconds = this.meanSeconds === 0 ? seconds : 0.8 * this.meanSeconds + 0.2 * seconds;
      }
    });
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

/**
 * Writes one server-sent event; waits while the socket's buffer is full, so that a slow reader slows the
 * generation instead of making the server hold the whole reply.
 */
async function sse(res: ServerResponse, data: unknown, event?: string): Promise<void> {
  if (res.destroyed) return;
  if (res.write(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`)) return;
  await new Promise<void>((resolve) => {
    const go = () => {
      res.off("drain", go);
      res.off("close", go);
      resolve();
    };
    res.on("drain", go);
    res.on("close", go);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, type: string, param: string | null = null, code: string | null = null): void {
  sendJson(res, status, { error: { message, type, param, code } });
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allowed: string): string {
  req.resume();
  res.setHeader("allow", allowed);
  const message = `${req.method} is not allowed here (use ${allowed})`;
  sendError(res, 405, message, "invalid_request_error");
  return message;
}
