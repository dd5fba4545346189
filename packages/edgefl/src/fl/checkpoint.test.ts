import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
import { damagedCopies, offsetOf, versionOneFile } from '../../../../test/helpers/bad-files.js';

test('a checkpoint round-trips global parameters, strategy state, metrics and config', () => {
  const c = {
    round: 7,
    global: Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i)),
    strategy: {
      json: { strategy: 'fedadam', t: 7 },
      arrays: { m: Float32Array.of(1, 2, 3), v: Float32Array.of(4, 5, 6) },
    },
    metrics: [{ round: 1, accuracy: 0.5 }],
    config: { strategy: 'fedadam', clients: 100 },
    extra: { accountant: { steps: 7 } },
  };
  const back = decodeCheckpoint(encodeCheckpoint(c));
  assert.equal(back.round, 7);
  assert.deepEqual(back.global, c.global);
  assert.deepEqual(back.strategy, c.strategy);
  assert.deepEqual(back.metrics, c.metrics);
  assert.deepEqual(back.config, c.config);
  assert.deepEqual(back.extra, c.extra);
});

test('a foreign or NaN-carrying checkpoint is refused with a reason', () => {
  assert.throws(
    () => decodeCheckpoint(new TextEncoder().encode('{"round": 1}'), 'x.json'),
    /x\.json: not an edgefl checkpoint/,
  );
  const nan = encodeCheckpoint({ round: 1, global: Float32Array.of(0, NaN), metrics: [], config: {} });
  assert.throws(() => decodeCheckpoint(nan), /global parameter 1 is NaN/);
});

test('a checkpoint with a flipped byte or cut short is refused as corrupt, naming the file', () => {
  const bytes = encodeCheckpoint({
    round: 3,
    global: Float32Array.from({ length: 100 }, (_, i) => i / 100),
    metrics: [{ round: 1, accuracy: 0.5 }],
    config: { clients: 10 },
  });
  // The round digit: 3 flipped to 2 still parses, so only the checksum can tell.
  for (const [what, bad] of damagedCopies(bytes, offsetOf(bytes, '"round":3') + 8))
    assert.throws(
      () => decodeCheckpoint(bad, 'runs/a/checkpoint.eflc'),
      /^CheckpointError: runs\/a\/checkpoint\.eflc: checksum mismatch: the file is corrupt/,
      what,
    );
});

test('a checkpoint of version 1 (before checksums) is refused, saying why', () => {
  const v1 = versionOneFile(
    'EFLC',
    {
      round: 1,
      metrics: [],
      config: {},
      extra: {},
      strategyJson: null,
      arrays: [{ name: 'global', length: 2 }],
    },
    new Float32Array(2),
  );
  assert.throws(
    () => decodeCheckpoint(v1, 'old/checkpoint.eflc'),
    /old\/checkpoint\.eflc: checkpoint version 1 was written by an edgefl release before checkpoints carried a checksum/,
  );
});
