/**
 * What the main thread (server) and the client worker threads say to each other in
 * runSecAggInWorkers. Protocol messages cross as the codec's bytes, transferred rather than copied,
 * so the worker boundary carries exactly what a network would. Node only (worker_threads, /proc).
 */
import { readFileSync } from 'node:fs';
import {
  SecAggAbortError,
  SecAggError,
  SecAggRefusalError,
  type SecAggErrorCode,
  type SecAggStage,
} from 'edgefl/internal/privacy/secagg/errors';
import type { InProcessStage } from 'edgefl/internal/privacy/secagg/in-process';
import type { SecAggParams } from 'edgefl/internal/privacy/secagg/params';

export type ClientCryptoChoice = 'fastest' | 'portable';

/** Sent once after spawning: which crypto suite the worker's clients use. */
export interface StartMessage {
  readonly kind: 'start';
  readonly crypto: ClientCryptoChoice;
}

/** Sent at the start of every round: the round's parameters and the clients this worker hosts. */
export interface RoundMessage {
  readonly kind: 'round';
  readonly params: SecAggParams;
  readonly clientIds: readonly number[];
}

/** One client's step: the server's encoded message for it (none for advertising) and its input. */
export interface TaskMessage {
  readonly kind: 'task';
  readonly seq: number;
  readonly stage: InProcessStage;
  readonly clientId: number;
  readonly wire?: Uint8Array;
  readonly input?: Float32Array;
}

export type ToWorker = StartMessage | RoundMessage | TaskMessage;

/** An Error flattened for postMessage, keeping what a caller of the runner inspects. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: SecAggErrorCode;
  readonly stage?: SecAggStage;
  readonly clientId?: number;
}

export type FromWorker =
  /** `cpuMs` in every reply: this thread's CPU time so far (NaN off Linux), for the runner's report. */
  | { readonly kind: 'ready'; readonly cpuMs: number }
  | { readonly kind: 'start-failed'; readonly error: WireError }
  | { readonly kind: 'round-ready'; readonly cpuMs: number }
  | { readonly kind: 'round-failed'; readonly error: WireError; readonly cpuMs: number }
  | {
      readonly kind: 'reply';
      readonly seq: number;
      readonly bytes: Uint8Array;
      /** Wall time the client spent on this step: decoding, its protocol work, encoding. */
      readonly ms: number;
      readonly cpuMs: number;
    }
  | {
      readonly kind: 'failed';
      readonly seq: number;
      readonly error: WireError;
      readonly ms: number;
      readonly cpuMs: number;
    };

export function toWireError(e: unknown): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const base = { name: e.name, message: e.message, stack: e.stack };
  if (e instanceof SecAggRefusalError) return { ...base, code: e.code, stage: e.stage, clientId: e.clientId };
  if (e instanceof SecAggError) return { ...base, code: e.code, stage: e.stage };
  return base;
}

/**
 * The error the single-threaded runner would have thrown: same class, code, stage, client and
 * message (the constructors prefix the message, so the original text is put back as it was).
 */
export function fromWireError(w: WireError): Error {
  let e: Error;
  if (w.code !== undefined && w.stage !== undefined) {
    if (w.name === 'SecAggRefusalError' && w.clientId !== undefined)
      e = new SecAggRefusalError(w.clientId, w.code, w.stage, '');
    else if (w.name === 'SecAggAbortError') e = new SecAggAbortError(w.code, w.stage, '');
    else e = new SecAggError(w.code, w.stage, '');
  } else {
    e = w.name === 'RangeError' ? new RangeError() : w.name === 'TypeError' ? new TypeError() : new Error();
    e.name = w.name;
  }
  e.message = w.message;
  if (w.stack !== undefined) e.stack = w.stack;
  return e;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU time of the calling thread in ms, from /proc/thread-self (Linux; NaN elsewhere). A synchronous
 * read runs on the calling thread, so in a worker it is that worker's time. On a shared machine this
 * shows how much work each thread did when wall time is inflated by other people's load.
 */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime: fields 14 and 15 of the line
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}
