// A kernel worker thread (threads.ts starts it, in Node or Deno). It instantiates the kernel module over
// every shared memory, says it is ready, then runs jobs from the control block until told to stop:
// wait for the sequence number to change, run this thread's band (jobs.ts), count itself done.
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { FAILED, HEAP, JOBS, OPCODE, PENDING, readArgs, runSlice, SEQ, STOP, THREADS, ARGS, MAX_ARGS, RESULTS, MAX_THREADS } from "./jobs.js";
import type { WorkerInit } from "./threads.js";
import { instantiateKernels, type KernelExports, type WasmMemory } from "./heap.js";

const init = workerData as WorkerInit;
const ctl = new Int32Array(init.control);
const args = new Uint32Array(init.control, ARGS * 4, MAX_ARGS);
const fargs = new Float32Array(init.control, ARGS * 4, MAX_ARGS);
const results = new Float32Array(init.control, RESULTS * 4, MAX_THREADS);
const instances: KernelExports[] = init.memories.map((m) => instantiateKernels(init.module, m));

/** The instance over memory `h`; memories opened after start are waiting on the port, in order. */
function instance(h: number): KernelExports {
  while (instances.length <= h) {
    const m = receiveMessageOnPort(init.port);
    if (!m) throw new Error(`memory ${h} was never sent to kernel worker ${init.tid}`);
    instances.push(instantiateKernels(init.module, m.message as WasmMemory));
  }
  return instances[h];
}

/** Waits until the sequence number moves past `seen`: spins for spinMs (the next job usually comes
 * within microseconds), then sleeps. */
function next(seen: number): number {
  const until = performance.now() + init.spinMs;
  for (;;) {
    for (let i = 0; i < 1024; i++) {
      const s = Atomics.load(ctl, SEQ);
      if (s !== seen) return s;
    }
    if (performance.now() > until) break;
  }
  Atomics.wait(ctl, SEQ, seen);
  return Atomics.load(ctl, SEQ);
}

function loop(): void {
  let seen = Atomics.load(ctl, SEQ);
  parentPort!.postMessage("ready");
  for (;;) {
    const s = next(seen);
    if (s === seen) continue;
    seen = s;
    const op = ctl[OPCODE];
    if (op === STOP) return;
    const n = ctl[THREADS];
    if (init.tid < n) {
      try {
        const job = JOBS[op];
        runSlice(instance(ctl[HEAP]), job, readArgs(job, args, fargs), init.tid, n, results);
      } catch (e) {
        init.port.postMessage(`thread ${init.tid}: ${(e as Error)?.message ?? String(e)}`);
        Atomics.add(ctl, FAILED, 1);
      }
    }
    if (Atomics.sub(ctl, PENDING, 1) === 1) Atomics.notify(ctl, PENDING);
  }
}

loop();
init.port.close();
