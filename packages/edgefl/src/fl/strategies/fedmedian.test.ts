import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FedMedian } from './fedmedian.js';
import { Rng } from '../../util/rng.js';

function round(global: number[], deltas: number[][]): number[] {
  const agg = new FedMedian().beginRound({ round: 1, global: Float32Array.from(global), rng: new Rng(1) });
  deltas.forEach((d, i) => agg.add({ clientId: `c${i}`, delta: Float32Array.from(d), numExamples: 1 + i }));
  return [...agg.finish().global];
}

test('FedMedian: coordinate-wise median of an odd number of updates', () => {
  assert.deepEqual(
    round(
      [0, 0, 0],
      [
        [1, 10, -3],
        [2, 0, 5],
        [100, -7, 4],
      ],
    ),
    [2, 0, 4],
  );
  assert.deepEqual(
    round(
      [1, 1, 1],
      [
        [1, 10, -3],
        [2, 0, 5],
        [100, -7, 4],
      ],
    ),
    [3, 1, 5],
  );
});

test('FedMedian: even count averages the two middle values', () => {
  // columns sorted: [1, 2, 3, 100] -> 2.5; [-7, 0, 1, 10] -> 0.5; [-3, -1, 4, 5] -> 1.5
  assert.deepEqual(
    round(
      [0, 0, 0],
      [
        [1, 10, -3],
        [2, 0, 5],
        [100, -7, 4],
        [3, 1, -1],
      ],
    ),
    [2.5, 0.5, 1.5],
  );
});

test('FedMedian: a minority of huge updates cannot move it past the honest values; weights are ignored', () => {
  const honest = [[0.1], [0.2], [0.3]];
  assert.deepEqual(round([0], [...honest, [1e30], [-1e30]]), [Math.fround(0.2)]);
  assert.equal(new FedMedian().aggregation, 'individual');
});
