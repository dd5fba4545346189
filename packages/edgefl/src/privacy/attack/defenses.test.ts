/** The defenses as the attacker meets them: DP calibration, clipping and noise; the secure sum. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epsilon } from '../dp/accountant.js';
import { Rng } from '../../util/rng.js';
import { calibrateDp, clipAndNoise, isDefense, secureSum } from './defenses.js';
import { nodeSecAggCrypto } from '@edgefl/node/internal/privacy/secagg/crypto-node';

test('DP calibration: the noise multiplier meets the target epsilon for one release, and barely', () => {
  for (const target of [1, 8, 100]) {
    const cal = calibrateDp(target);
    assert.ok(
      cal.epsilon <= target && cal.epsilon > 0.999 * target,
      `epsilon ${cal.epsilon} for target ${target}`,
    );
    const check = epsilon({ samplingRate: 1, noiseMultiplier: cal.noiseMultiplier, steps: 1, delta: 1e-5 });
    assert.equal(check.epsilon, cal.epsilon);
    // Less noise would overspend the budget.
    const less = epsilon({
      samplingRate: 1,
      noiseMultiplier: 0.99 * cal.noiseMultiplier,
      steps: 1,
      delta: 1e-5,
    });
    assert.ok(less.epsilon > target);
  }
  // The textbook Gaussian mechanism needs z = sqrt(2 ln(1.25 / delta)) / epsilon for epsilon < 1;
  // the RDP accountant's conversion is tighter than that bound, so its z is smaller.
  assert.ok(calibrateDp(0.5).noiseMultiplier < Math.sqrt(2 * Math.log(1.25 / 1e-5)) / 0.5);
  assert.throws(() => calibrateDp(0), /targetEpsilon must be a finite number > 0/);
});

test('clipping bounds the norm; the noise has standard deviation z C', () => {
  const rng = new Rng(1);
  const update = Float32Array.from({ length: 1000 }, () => rng.normal());
  const clipped = clipAndNoise(update, { clipNorm: 2, noiseMultiplier: 0, rng });
  const norm = Math.hypot(...clipped);
  assert.ok(Math.abs(norm - 2) < 1e-4, `clipped norm ${norm}`);
  const small = Float32Array.from({ length: 10 }, () => 0.01);
  assert.deepEqual(
    clipAndNoise(small, { clipNorm: 2, noiseMultiplier: 0, rng }),
    small,
    'below C: untouched',
  );

  const zero = new Float32Array(200_000);
  const noisy = clipAndNoise(zero, { clipNorm: 0.5, noiseMultiplier: 3, rng });
  const sd = Math.sqrt(noisy.reduce((s, v) => s + v * v, 0) / noisy.length);
  assert.ok(Math.abs(sd - 1.5) < 0.01, `noise standard deviation ${sd}, expected 1.5`);
  assert.throws(
    () => clipAndNoise(zero, { clipNorm: 0, noiseMultiplier: 1, rng }),
    /clipping norm must be > 0/,
  );
});

test('secure aggregation: the server learns the sum, within the quantization bound', async () => {
  const rng = new Rng(2);
  const updates = Array.from({ length: 6 }, () =>
    Float32Array.from({ length: 500 }, () => 0.1 * rng.normal()),
  );
  const s = await secureSum(updates, { seed: 3, crypto: nodeSecAggCrypto() });
  assert.equal(s.survivors, 6);
  let worst = 0;
  for (let i = 0; i < 500; i++) {
    const exact = updates.reduce((a, u) => a + u[i], 0);
    worst = Math.max(worst, Math.abs(s.sum[i] - exact));
  }
  assert.ok(worst <= s.errorBound + 1e-7, `error ${worst} above the bound ${s.errorBound}`);
  const largest = Math.max(...updates.map((u) => Math.max(...u.map(Math.abs))));
  assert.ok(
    s.range >= largest - 1e-7,
    `range ${s.range} below the largest value ${largest}: something was clipped`,
  );
  await assert.rejects(secureSum(updates.slice(0, 1), { crypto: nodeSecAggCrypto() }), /at least 2 clients/);
});

test('defense names', () => {
  assert.ok(isDefense('secagg') && isDefense('none'));
  assert.ok(!isDefense('SecAgg') && !isDefense('homomorphic'));
});
