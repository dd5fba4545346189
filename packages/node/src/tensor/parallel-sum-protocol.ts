/**
 * The control block shared by the main thread and the parallel-sum helper thread: a few Int32
 * slots in a SharedArrayBuffer, written and read with Atomics, so that a command and its answer
 * cost no message passing.
 */
import type { MessagePort } from 'node:worker_threads';

/** Slots of the Int32Array control block. */
export const CTRL = {
  /** Sequence number of the latest command (the helper waits for it to change). */
  command: 0,
  /** Sequence number of the latest command the helper has finished. */
  done: 1,
  /** What the command asks (one of OP). */
  op: 2,
  /** Which attached memory it is about. */
  memory: 3,
  /** The helper's answer to CHECK: 1 when its half holds a NaN or ±Infinity. */
  result: 4,
  /** Element offset and count of the helper's half, and the byte offset of the stage (the sum is at 0). */
  first: 5,
  count: 6,
  stage: 7,
  slots: 8,
} as const;

export const OP = { attach: 1, check: 2, add: 3 } as const;

/** Sent on the helper's port before an ATTACH command: the memory it will be asked to work in. */
export interface AttachMessage {
  id: number;
  memory: WebAssembly.Memory;
}

/** Sent when a sum is garbage-collected: the helper may let go of its instance. */
export interface DetachMessage {
  detach: number;
}

/** The helper's start message. */
export interface HelperInit {
  control: SharedArrayBuffer;
  /** Float64 slot: the weight of the ADD being run. */
  weight: SharedArrayBuffer;
  module: WebAssembly.Module;
  port: MessagePort;
}
