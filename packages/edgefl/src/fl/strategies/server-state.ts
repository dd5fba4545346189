/**
 * Checkpointing of server-side vectors (momentum, optimizer moments, centers): copies out, validated
 * copies in, so a checkpoint never aliases live state and a corrupt one is refused with a reason.
 */
import type { StrategyState } from '../strategy.js';

/** Copies the defined arrays into a state record tagged with the strategy's name. */
export function saveState(
  strategy: string,
  json: Record<string, unknown>,
  arrays: Record<string, Float32Array | undefined>,
): StrategyState {
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(arrays)) if (v) out[k] = Float32Array.from(v);
  return { json: { strategy, ...json }, arrays: out };
}

/** Checks the tag and that every present array is a finite Float32Array of one common length. */
export function checkState(strategy: string, state: StrategyState, names: readonly string[]): void {
  const tag = state?.json?.strategy;
  if (tag !== strategy) throw new Error(`state is for strategy '${String(tag)}', not '${strategy}'`);
  let length: number | undefined;
  for (const name of names) {
    const a = state.arrays?.[name];
    if (a === undefined) continue;
    if (!(a instanceof Float32Array)) throw new Error(`state array '${name}' must be a Float32Array`);
    if (length !== undefined && a.length !== length)
      throw new Error(`state array '${name}' has ${a.length} values, the others ${length}`);
    length = a.length;
    for (let i = 0; i < a.length; i++)
      if (!Number.isFinite(a[i])) throw new Error(`state array '${name}' holds ${a[i]} at index ${i}`);
  }
}

/** A private copy of a state array, or undefined. */
export function loadArray(state: StrategyState, name: string): Float32Array | undefined {
  const a = state.arrays?.[name];
  return a ? Float32Array.from(a) : undefined;
}

/** Throws when a server vector from an earlier round or a checkpoint does not fit this model. */
export function assertStateFits(what: string, a: Float32Array | undefined, length: number): void {
  if (a && a.length !== length)
    throw new Error(`${what} has ${a.length} values but the model has ${length} (state from another model?)`);
}
