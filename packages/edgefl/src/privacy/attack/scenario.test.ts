/** Whole attack runs on a small synthetic task: each defense as the server meets it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayDataset } from '../../data/dataset.js';
import { initialParameters } from '../../model/build.js';
import { conv2d, dense, flatten, relu, sequential } from '../../model/layers.js';
import { nodeRuntime } from '@edgefl/node';
import { Rng } from '../../util/rng.js';
import { runAttack, type AttackOptions } from './scenario.js';
import { nodeSecAggCrypto } from '@edgefl/node/internal/privacy/secagg/crypto-node';

const S = 12;
const runtime = nodeRuntime();
const spec = sequential([flatten(), dense(32), relu(), dense(10)], { inputShape: [1, S, S], seed: 5 });
const parameters = initialParameters(spec).values;

/** 200 images of one or two soft strokes (a stand-in for digits), with seeded random labels. */
function strokeDataset(): ArrayDataset {
  const rng = new Rng(11);
  const n = 200;
  const features = new Float32Array(n * S * S);
  for (let k = 0; k < n; k++)
    for (let s = 0; s < 1 + rng.int(2); s++) {
      const [y0, x0, y1, x1] = [0, 0, 0, 0].map(() => 1 + rng.uniform() * (S - 3));
      const [vy, vx] = [y1 - y0, x1 - x0];
      for (let p = 0; p < S * S; p++) {
        const [py, px] = [Math.floor(p / S), p % S];
        const t = Math.max(0, Math.min(1, ((py - y0) * vy + (px - x0) * vx) / (vy * vy + vx * vx + 1e-9)));
        const v = Math.min(1, Math.max(0, 1.5 - Math.hypot(py - (y0 + t * vy), px - (x0 + t * vx))));
        features[k * S * S + p] = Math.max(features[k * S * S + p], v);
      }
    }
  const labels = Int32Array.from({ length: n }, () => rng.int(10));
  return new ArrayDataset({ features, labels, featureShape: [1, S, S] });
}
const data = strokeDataset();
const base: Omit<AttackOptions, 'defense' | 'method'> = {
  spec,
  parameters,
  data,
  runtime,
  secaggCrypto: nodeSecAggCrypto(),
  images: 3,
  seed: 1,
};

test('none, analytic: every image exact; the SSIM window is stated', async () => {
  const r = await runAttack({ ...base, defense: 'none', method: 'analytic' });
  assert.equal(r.scores.length, 3);
  for (const s of r.scores)
    assert.ok(s.psnr > 60 && s.ssim > 0.9999, `image ${s.index}: ${s.psnr} dB, SSIM ${s.ssim}`);
  assert.equal(r.labels.source, 'unused');
  assert.equal(r.image.ssimWindow, 7);
  assert.equal(r.setting.clients, 3);
  assert.deepEqual(
    r.originals[1],
    (() => {
      const x = new Float32Array(S * S);
      data.gather([r.scores[1].index], x, new Int32Array(1));
      return x;
    })(),
  );
});

test('none, optimize, a batch of 3 from one client: recovered, labels inferred and counted', async () => {
  const r = await runAttack({ ...base, defense: 'none', method: 'optimize', batchSize: 3, iterations: 300 });
  assert.equal(r.setting.examplesPerGradient, 3);
  assert.equal(r.labels.source, 'inferred');
  assert.equal(r.labels.total, 3);
  assert.ok(r.mean.psnr > 25, `mean PSNR ${r.mean.psnr}`);
});

test('dp at epsilon 8: the exact analytic attack fails', async () => {
  const r = await runAttack({ ...base, defense: 'dp', method: 'analytic', epsilon: 8 });
  assert.ok(r.setting.dp!.epsilon <= 8 && r.setting.dp!.noiseMultiplier > 0.5);
  assert.ok(r.mean.psnr < 15 && r.mean.ssim < 0.3, `mean PSNR ${r.mean.psnr}, SSIM ${r.mean.ssim}`);
});

test('secagg over 30 clients: the server gets only the sum, and reconstructs far less than from one client', async () => {
  const r = await runAttack({ ...base, defense: 'secagg', method: 'optimize', clients: 30, iterations: 300 });
  assert.equal(r.setting.secagg!.survivors, 30);
  assert.equal(r.setting.examplesPerGradient, 30);
  assert.equal(r.labels.total, 30);
  // The same three images (the seed picks them) sent in the clear, one client each.
  const clear = await runAttack({ ...base, defense: 'none', method: 'optimize', iterations: 300 });
  assert.deepEqual(
    clear.scores.map((s) => s.index),
    r.scores.map((s) => s.index),
  );
  assert.ok(clear.mean.psnr > 35, `in the clear: mean PSNR ${clear.mean.psnr}`);
  assert.ok(
    r.mean.psnr < clear.mean.psnr - 15,
    `behind secagg: ${r.mean.psnr} dB, in the clear ${clear.mean.psnr} dB`,
  );
});

test('settings that cannot work are refused before any work, naming the problem', async () => {
  await assert.rejects(
    runAttack({ ...base, defense: 'batch', method: 'analytic', images: 9, batchSize: 8 }),
    /9 images cannot be shown from one batch of 8/,
  );
  await assert.rejects(
    runAttack({ ...base, defense: 'shuffle' as never, method: 'analytic' }),
    /unknown defense 'shuffle' \(use none, batch, dp, secagg\)/,
  );
  const cnn = sequential([conv2d({ filters: 2, kernel: 3 }), relu(), flatten(), dense(10)], {
    inputShape: [1, S, S],
  });
  await assert.rejects(
    runAttack({
      ...base,
      spec: cnn,
      parameters: initialParameters(cnn).values,
      defense: 'none',
      method: 'analytic',
    }),
    /needs a dense first layer with bias/,
  );
});
