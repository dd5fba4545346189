import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSummaryTable, partitionSummary } from './summary.js';

const labels = new Int32Array([0, 0, 1, 2, 2, 2, 1, 0]);

test('partitionSummary: sizes, histograms, classes per client, coverage', () => {
  const parts = [new Uint32Array([0, 1, 2]), new Uint32Array([3, 4]), new Uint32Array([5, 6, 2])];
  const s = partitionSummary(parts, labels, 4);
  assert.deepEqual(
    s.clients.map((c) => [c.size, Array.from(c.histogram as Uint32Array), c.classes]),
    [
      [3, [2, 1, 0, 0], 2],
      [2, [0, 0, 2, 0], 1],
      [3, [0, 2, 1, 0], 2],
    ],
  );
  assert.equal(s.numClients, 3);
  assert.equal(s.numSamples, 8);
  assert.equal(s.assigned, 8);
  assert.equal(s.duplicated, 1); // sample 2
  assert.equal(s.unassigned, 1); // sample 7
  assert.deepEqual(
    { ...s.size, std: Math.round(s.size.std * 1e6) / 1e6 },
    {
      min: 2,
      median: 3,
      max: 3,
      mean: 8 / 3,
      std: Math.round(Math.sqrt(2 / 9) * 1e6) / 1e6, // sizes 3, 2, 3 around 8/3
    },
  );
  assert.equal(s.meanClassesPerClient, 5 / 3);
  assert.equal(s.numClasses, 4);
});

test('partitionSummary without labels reports sizes only; even count median is the midpoint', () => {
  const s = partitionSummary([
    new Uint32Array(4),
    new Uint32Array([1]),
    new Uint32Array(10),
    new Uint32Array(2),
  ]);
  assert.equal(s.size.median, 3);
  assert.equal(s.numSamples, undefined);
  assert.equal(s.meanClassesPerClient, undefined);
  assert.equal(s.clients[0].histogram, undefined);
});

test('partitionSummary refuses indices beyond the labels and labels beyond numClasses', () => {
  assert.throws(
    () => partitionSummary([new Uint32Array([8])], labels),
    /index 8 is outside the 8 labelled samples/,
  );
  assert.throws(() => partitionSummary([new Uint32Array([0])], labels, 2), /label 2 is outside numClasses=2/);
  assert.throws(() => partitionSummary([]), /no clients/);
});

test('formatSummaryTable: aligned per-class columns, elided rows, totals', () => {
  const parts = [new Uint32Array([0, 1, 2]), new Uint32Array([3, 4]), new Uint32Array([5, 6, 7])];
  const text = formatSummaryTable(partitionSummary(parts, labels), { maxRows: 2, names: ['alice', 'bob'] });
  assert.equal(
    text,
    [
      'client  size  classes  0  1  2',
      'alice      3        2  2  1  0',
      'bob        2        1  0  0  2',
      '… 1 more clients',
      '',
      '3 clients hold 8 of 8 samples (0 unassigned, 0 duplicated)',
      'size: min 2, median 3, max 3 (mean 2.67, std 0.47)',
      'classes per client: 2 of 3 on average',
    ].join('\n'),
  );
});

test('formatSummaryTable: with many classes, the largest ones per client instead of a column each', () => {
  const text = formatSummaryTable(partitionSummary([new Uint32Array([3, 4, 5, 6, 0])], labels), {
    maxClassColumns: 2,
  });
  assert.deepEqual(text.split('\n').slice(0, 2), [
    'client  size  classes  largest classes (class:count)',
    '0          5        3  2:3 0:1 1:1',
  ]);
});
