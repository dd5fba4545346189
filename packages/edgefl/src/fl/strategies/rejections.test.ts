import { test } from 'node:test';
import assert from 'node:assert/strict';
import { strategyByName, strategyNames } from './index.js';
import { UpdateRejected } from '../update-check.js';
import { Rng } from '../../util/rng.js';
import type { ClientUpdate } from '../strategy.js';

// Every strategy must refuse a malformed update with its reason and end the round exactly as if the
// update had never been sent.
for (const d of [5, 9_000]) {
  for (const name of strategyNames) {
    test(`${name} (${d} parameters) refuses bad updates and is unchanged by them`, () => {
      const rng = new Rng(d);
      const global = Float32Array.from({ length: d }, () => rng.normal());
      const valid: ClientUpdate[] = Array.from({ length: 5 }, (_, i) => ({
        clientId: `ok${i}`,
        delta: Float32Array.from({ length: d }, () => 0.1 * rng.normal()),
        numExamples: 10 * (i + 1),
      }));
      const withValue = (index: number, value: number): Float32Array => {
        const delta = Float32Array.from(valid[0].delta);
        delta[index] = value;
        return delta;
      };
      const bad: [ClientUpdate, string][] = [
        [
          { clientId: 'short', delta: new Float32Array(d - 1), numExamples: 1 },
          `delta has ${d - 1} values, the model has ${d}`,
        ],
        [{ clientId: 'nan', delta: withValue(2, NaN), numExamples: 1 }, 'NaN at index 2'],
        [
          { clientId: 'inf', delta: withValue(d - 1, Infinity), numExamples: 1 },
          `Infinity at index ${d - 1}`,
        ],
        [{ clientId: 'ninf', delta: withValue(0, -Infinity), numExamples: 1 }, '-Infinity at index 0'],
        [
          { clientId: 'zero', delta: valid[1].delta, numExamples: 0 },
          'numExamples must be a positive finite number, got 0',
        ],
        [
          { clientId: 'neg', delta: valid[1].delta, numExamples: -3 },
          'numExamples must be a positive finite number, got -3',
        ],
        [
          { clientId: 'nanw', delta: valid[1].delta, numExamples: NaN },
          'numExamples must be a positive finite number, got NaN',
        ],
      ];

      const reference = strategyByName(name);
      const refAgg = reference.beginRound({ round: 1, global, rng: new Rng(1) });
      for (const u of valid) refAgg.add(u);
      const expected = refAgg.finish().global;

      const strategy = strategyByName(name);
      const agg = strategy.beginRound({ round: 1, global, rng: new Rng(1) });
      for (let i = 0; i < valid.length; i++) {
        agg.add(valid[i]);
        for (const [update, reason] of bad) {
          assert.throws(
            () => agg.add(update),
            (e: unknown) =>
              e instanceof UpdateRejected && e.reason === reason && e.clientId === update.clientId,
            `${update.clientId}: expected "${reason}"`,
          );
          assert.equal(agg.count, i + 1);
        }
      }
      assert.deepEqual(agg.finish().global, expected);
      assert.equal(strategy.aggregation, reference.aggregation);
    });
  }
}
