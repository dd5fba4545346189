/**
 * The checks both browser-path tests apply to a scenario run: did it train, and does it agree with
 * the onnxruntime-node reference.
 */
import type { ScenarioResult } from '../page/scenario.js';

/**
 * Two runtimes compute the same float32 graph with different kernels (native SIMD vs WebAssembly
 * SIMD), so sums may round differently; measured, the runs agree to about 1e-7. A lost update or a
 * misplaced output copy is orders of magnitude larger.
 */
export const RELATIVE_TOLERANCE = 1e-5;
export const ABSOLUTE_TOLERANCE = 1e-6;

/** What is wrong with a run that should have trained; empty when it did. */
export function trainingProblems(r: ScenarioResult): string[] {
  const problems: string[] = [];
  const first = r.lossHistory[0];
  const last = r.lossHistory[r.lossHistory.length - 1];
  if (!(last < 0.5 * first))
    problems.push(`${r.runtime}: loss went from ${first} to ${last}, not below half`);
  if (!(r.accuracy >= 0.85)) problems.push(`${r.runtime}: accuracy ${r.accuracy} < 0.85`);
  for (const e of r.layout) {
    let moved = 0;
    for (let i = e.offset; i < e.offset + e.size; i++)
      moved = Math.max(moved, Math.abs(r.final[i] - r.initial[i]));
    if (!(moved > 1e-3))
      problems.push(`${r.runtime}: parameter ${e.name} barely changed (max |change| ${moved})`);
  }
  return problems;
}

/** Where two runs differ beyond the tolerance (at the worst place), or undefined when they agree. */
export function mismatch(
  actual: readonly number[],
  expected: readonly number[],
  what: string,
): string | undefined {
  if (actual.length !== expected.length) return `${what}: ${actual.length} values vs ${expected.length}`;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess =
      Math.abs(actual[i] - expected[i]) - (ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * Math.abs(expected[i]));
    // `!(<=)` also catches NaN.
    if (!(excess <= worstExcess)) [worst, worstExcess] = [i, excess];
  }
  if (worst < 0) return undefined;
  return `${what}: the runs differ at ${worst}: ${actual[worst]} vs ${expected[worst]} (tolerance ${ABSOLUTE_TOLERANCE} + ${RELATIVE_TOLERANCE} relative)`;
}

export function largestDifference(a: readonly number[], b: readonly number[]): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

export function formatLosses(xs: readonly number[]): string {
  return xs.map((x) => x.toFixed(3)).join(' -> ');
}
