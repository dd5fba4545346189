/**
 * The admission check every round aggregator runs before an update may touch its state.
 *
 * A malformed update (wrong length, a NaN or ±Infinity anywhere, a weight that is not a positive
 * finite number) must never reach the global model: one NaN in a running sum poisons every later
 * round. Aggregators call `checkUpdate` first and throw `UpdateRejected` with its reason, having
 * changed nothing, so the engine can record why the client was excluded and carry on.
 */
import type { ClientUpdate } from './strategy.js';
import { firstNonFinite } from '../tensor/math.js';

/** Thrown by `RoundAggregator.add` for an update it refuses; the aggregator is unchanged. */
export class UpdateRejected extends Error {
  override readonly name = 'UpdateRejected';
  constructor(
    /** Who sent it. */
    readonly clientId: string,
    /** Why it was refused, e.g. "NaN at index 17". */
    readonly reason: string,
  ) {
    super(`update from client '${clientId}' rejected: ${reason}`);
  }
}

/**
 * Thrown by `RoundAggregator.finish` when the round cannot produce a model from what it received
 * (too few updates for Krum's f, a secure-aggregation round below its threshold...). The engine
 * records the reason and keeps the global model as it was; any other error is a bug and propagates.
 */
export class RoundAborted extends Error {
  override readonly name = 'RoundAborted';
  constructor(readonly reason: string) {
    super(`round aborted: ${reason}`);
  }
}

/**
 * The O(1) part of the check: the delta's length and the example count. Aggregators that scan the
 * values for NaN/Inf themselves in a faster kernel (FedAvg's SIMD sum) call this one, then
 * `nonFiniteReason` for the index their kernel found.
 */
export function checkUpdateShape(update: ClientUpdate, expectedLength: number): string | undefined {
  const delta = update.delta as unknown;
  if (!(delta instanceof Float32Array))
    return `delta must be a Float32Array, got ${delta === null ? 'null' : typeof delta === 'object' ? (delta as object).constructor?.name : typeof delta}`;
  if (update.delta.length !== expectedLength)
    return `delta has ${update.delta.length} values, the model has ${expectedLength}`;
  const n = update.numExamples;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0)
    return `numExamples must be a positive finite number, got ${String(n)}`;
  return undefined;
}

/** The reason for a non-finite value at `index` (as found by `firstNonFinite`). */
export function nonFiniteReason(delta: Float32Array, index: number): string {
  if (index >= delta.length) return 'numExamples × delta overflows float64';
  const v = delta[index];
  return `${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'} at index ${index}`;
}

/**
 * Why `update` must be excluded from a round whose model has `expectedLength` parameters, or
 * undefined when it may be aggregated. Checks, in order: the delta's type and length, numExamples,
 * then every value (the first NaN/±Infinity is named with its index).
 */
export function checkUpdate(update: ClientUpdate, expectedLength: number): string | undefined {
  const shape = checkUpdateShape(update, expectedLength);
  if (shape) return shape;
  const bad = firstNonFinite(update.delta);
  return bad >= 0 ? nonFiniteReason(update.delta, bad) : undefined;
}

/** Runs `checkUpdate` and throws `UpdateRejected` with its reason. */
export function assertUpdate(update: ClientUpdate, expectedLength: number): void {
  const reason = checkUpdate(update, expectedLength);
  if (reason !== undefined) throw new UpdateRejected(String(update.clientId), reason);
}
