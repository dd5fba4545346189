import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';

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

test('a truncated, foreign or NaN-carrying checkpoint is refused with a reason', () => {
  const bytes = encodeCheckpoint({ round: 1, global: new Float32Array(10), metrics: [], config: {} });
  assert.throws(
    () => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), 'ckpt.bin'),
    /ckpt\.bin: .* bytes, the header describes .* \(truncated or corrupt\)/,
  );
  assert.throws(
    () => decodeCheckpoint(new TextEncoder().encode('{"round": 1}'), 'x.json'),
    /x\.json: not an edgefl checkpoint/,
  );
  const nan = encodeCheckpoint({ round: 1, global: Float32Array.of(0, NaN), metrics: [], config: {} });
  assert.throws(() => decodeCheckpoint(nan), /global parameter 1 is NaN/);
});
