/**
 * The helper thread of the parallel sum (parallel-sum.ts): it owns the second half of every vector.
 * It waits on the shared control block, runs the command on its own instance of the SIMD kernels
 * over the shared memory, and marks it done. Between commands it polls for SPIN_MS — within a run of
 * `add`s the next command comes sooner — and then sleeps in Atomics.wait, so an idle helper costs no
 * CPU.
 */
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';
import type { SimdKernels } from 'edgefl/internal/tensor/wasm/simd-kernels';
import {
  CTRL,
  OP,
  type AttachMessage,
  type DetachMessage,
  type HelperInit,
} from './parallel-sum-protocol.js';

/**
 * How long to poll for the next command before sleeping. A server adding updates back to back
 * sends the next one within about a millisecond (the caller decodes or copies the next update in
 * between); waking a sleeping thread costs tens of microseconds each time.
 */
const SPIN_MS = 2;

const port = parentPort;
if (!port) throw new Error('parallel-sum-worker.ts must run in a worker thread');
port.once('message', (init: HelperInit) => serve(init));

function serve(init: HelperInit): never {
  const ctrl = new Int32Array(init.control);
  const weight = new Float64Array(init.weight);
  const instances = new Map<number, SimdKernels>();
  // Commands are numbered from 1. Counting from 0 rather than from the slot's current value: the
  // main thread may post its first command as soon as it reads 'ready', before this line would run.
  let seen = 0;
  port!.postMessage('ready');
  for (;;) {
    const idleSince = performance.now();
    for (let spins = 1; Atomics.load(ctrl, CTRL.command) === seen; spins++)
      if ((spins & 0x3ff) === 0 && performance.now() - idleSince > SPIN_MS)
        Atomics.wait(ctrl, CTRL.command, seen);
    seen = Atomics.load(ctrl, CTRL.command);
    const op = ctrl[CTRL.op];
    const id = ctrl[CTRL.memory];
    if (op === OP.attach) {
      // The memory was posted before the command; messages between threads may lag a little.
      for (;;) {
        const m = receiveMessageOnPort(init.port)?.message as AttachMessage | DetachMessage | undefined;
        if (!m) continue;
        if ('detach' in m) instances.delete(m.detach);
        else {
          instances.set(
            m.id,
            new WebAssembly.Instance(init.module, { env: { memory: m.memory } })
              .exports as unknown as SimdKernels,
          );
          if (m.id === id) break;
        }
      }
    } else {
      const k = instances.get(id)!;
      const first = ctrl[CTRL.first];
      const count = ctrl[CTRL.count];
      const stage = ctrl[CTRL.stage] + first * 4;
      if (op === OP.check) ctrl[CTRL.result] = k.nonFinite(stage, count);
      else k.accumulate(first * 8, stage, count, weight[0]);
    }
    Atomics.store(ctrl, CTRL.done, seen);
  }
}
