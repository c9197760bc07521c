// Worker threads for the kernels. Each worker instantiates the kernel module over the same shared
// memories, so weights are never copied: a job is a kernel call's arguments (pointers into one memory)
// written to a small shared control block, and every thread runs its band of the output rows
// (jobs.ts). Synchronisation is Atomics on that block, not a message per call: the caller bumps a
// sequence number and wakes the workers, runs band 0 itself, and waits for a counter to reach zero.
// Workers spin a little (`spinMs`) before sleeping, because the next job usually follows within
// microseconds and waking a sleeping thread takes much longer than that.
//
// One worker file serves Node and Deno: both provide node:worker_threads (Deno maps it onto its Web
// Workers), which posts WebAssembly modules and shared memories, lets a worker take a message
// synchronously (a memory opened mid-load), and can unref a worker so that an idle pool never keeps
// the process alive.
import { existsSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { ARGS, CONTROL_BYTES, FAILED, HEAP, JOBS, MAX_ARGS, MAX_THREADS, OPCODE, PENDING, RESULTS, runSlice, SEQ, STOP, THREADS, writeArgs, type Job, type JobArgs } from "./jobs.js";
import type { WasmMemories } from "./memories.js";
import type { WasmHeap, WasmMemory, WasmModule } from "./heap.js";

/** Cores this process may use: the default thread count. */
export function defaultThreads(): number {
  try {
    return Math.max(1, availableParallelism());
  } catch {
    const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
    return Math.max(1, nav?.hardwareConcurrency ?? cpus().length ?? 1);
  }
}

/** What a worker is started with (worker.ts). */
export interface WorkerInit {
  control: SharedArrayBuffer;
  module: WasmModule;
  memories: WasmMemory[];
  /** later memories arrive here, one message each, in order */
  port: MessagePort;
  tid: number;
  /** how long a worker spins for the next job before it sleeps */
  spinMs: number;
}

/** The compiled worker: next to this file in dist/, or dist/ seen from src/ (tests run the sources). */
function workerUrl(): URL {
  for (const rel of ["./worker.js", "../../../dist/src/backends/wasm/worker.js"]) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error("src/backends/wasm/worker.ts is not compiled: run `npm run build` (npm ci builds it)");
}

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Uint32Array;
  private readonly fargs: Float32Array;
  private readonly results: Float32Array;
  private disposed = false;

  private constructor(private readonly workers: Worker[], private readonly ports: MessagePort[], control: SharedArrayBuffer) {
    this.ctl = new Int32Array(control);
    this.args = new Uint32Array(control, ARGS * 4, MAX_ARGS);
    this.fargs = new Float32Array(control, ARGS * 4, MAX_ARGS);
    this.results = new Float32Array(control, RESULTS * 4, MAX_THREADS);
  }

  /** Starts threads - 1 workers (the calling thread is the first thread) over every memory of `memories`. */
  static async start(threads: number, module: WasmModule, memories: WasmMemories, spinMs = 2): Promise<ThreadPool> {
    if (!Number.isInteger(threads) || threads < 2 || threads > MAX_THREADS) {
      throw new RangeError(`a thread pool needs 2 to ${MAX_THREADS} threads, got ${threads}`);
    }
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const url = workerUrl();
    const workers: Worker[] = [], ports: MessagePort[] = [];
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit = { control, module, memories: memories.heaps.map((h) => h.memory), port: port2, tid, spinMs };
      const w = new Worker(url, { workerData: init, transferList: [port2 as never] });
      ready.push(new Promise<void>((resolve, reject) => {
        w.once("message", () => resolve());
        w.once("error", (e) => reject(new Error(`kernel worker ${tid} failed to start: ${(e as Error).message}`)));
      }));
      workers.push(w);
      ports.push(port1);
    }
    const pool = new ThreadPool(workers, ports, control);
    try {
      await Promise.all(ready);
    } catch (e) {
      pool.dispose();
      throw e;
    }
    for (const w of workers) w.unref(); // idle workers never keep the process alive
    memories.onOpen((heap) => pool.addMemory(heap.memory));
    return pool;
  }

  /** Threads in the pool, the caller's included. */
  get size(): number {
    return this.workers.length + 1;
  }

  /** A memory opened after the workers started: they instantiate over it before its first job. */
  private addMemory(memory: WasmMemory): void {
    for (const p of this.ports) p.postMessage(memory);
  }

  /** Runs one job (jobs.ts) in `heap` on every thread; returns when all are done. */
  run<J extends Job>(heap: WasmHeap, job: J, args: JobArgs<J>): void {
    if (this.disposed) throw new Error("the kernel threads were disposed");
    const ctl = this.ctl, n = this.size;
    writeArgs(job, args, this.args, this.fargs);
    ctl[OPCODE] = JOBS.indexOf(job);
    ctl[HEAP] = heap.index;
    ctl[THREADS] = n;
    ctl[FAILED] = 0;
    Atomics.store(ctl, PENDING, this.workers.length);
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    try {
      runSlice(heap.k, job, args, 0, n, this.results);
    } finally {
      this.wait();
    }
    if (Atomics.load(ctl, FAILED) > 0) {
      const why: string[] = [];
      for (const p of this.ports) {
        for (let m = receiveMessageOnPort(p); m; m = receiveMessageOnPort(p)) why.push(String(m.message));
      }
      throw new Error(`kernel thread failed: ${why.join("; ") || "unknown error"}`);
    }
  }

  /** The per-thread results of the last job (stream). */
  result(tid: number): number {
    return this.results[tid];
  }

  /** Waits for every worker to finish the current job: a short spin (they usually finish together), then sleep. */
  private wait(): void {
    const ctl = this.ctl;
    for (let spin = 0; spin < 200_000; spin++) if (Atomics.load(ctl, PENDING) === 0) return;
    for (let p = Atomics.load(ctl, PENDING); p !== 0; p = Atomics.load(ctl, PENDING)) Atomics.wait(ctl, PENDING, p);
  }

  /** Stops the workers. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ctl[OPCODE] = STOP;
    Atomics.add(this.ctl, SEQ, 1);
    Atomics.notify(this.ctl, SEQ);
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
  }
}
