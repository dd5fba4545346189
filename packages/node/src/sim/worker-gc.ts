/**
 * Garbage-collection tuning for the simulation's worker threads.
 *
 * Every training step, onnxruntime-node hands back each output as a fresh tensor over a new
 * ArrayBuffer, even when the output was written into a preallocated tensor: for the 2NN about
 * 0.8 MB of external memory a step that is garbage at once. V8 counts external memory against the
 * old generation's limit, so a worker (a heap of about 10 MB) reaches that limit every few dozen
 * steps and starts a full marking; with concurrent marking (V8's default) the marking runs on
 * helper threads. In a simulation every core already trains a client, so those helpers take CPU
 * from the training threads. Measured on two cores with the default run (2NN, 100 clients a
 * round): about 18 full collections a worker a round, each ~50 ms of helper-thread CPU, and the
 * whole run 1.5x slower than without them. Marking incrementally on the worker's own thread
 * instead does the work in small steps between training steps; the young-generation collections
 * in between free the step outputs, and a worker needed about 1 full collection a round.
 *
 * V8 flags belong to the process, not to an isolate, so this applies to every isolate that starts
 * marking afterwards (the main thread too, whose heap is small in a simulation). Node documents
 * that changing V8 flags after start-up may have no effect; this one is read when a marking starts,
 * and bench:sim measures that it takes effect.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

/** Turns V8's concurrent marking off for this process, once (see the top of this file). */
export function markOnOwnThread(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--no-concurrent-marking');
}
