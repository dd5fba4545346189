import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { codecByName } from './by-name.js';

test('codecByName builds each codec, and each decodes what it encodes', () => {
  const delta = Float32Array.from({ length: 1000 }, (_, i) => Math.cos(i) / 10);
  for (const name of ['float32', 'float16', 'qsgd8', 'topk:0.01', ' topk:1 ']) {
    const codec = codecByName(name);
    assert.equal(codec.name, name.trim());
    const { bytes, bytesSent } = codec.encode(delta, { rng: new Rng(1) });
    assert.equal(bytesSent, bytes.length);
    const back = codec.decode(bytes, delta.length);
    assert.equal(back.length, delta.length);
  }
  // Sizes rank as intended: float32 > float16 > qsgd8 > topk:0.01.
  const sizes = ['float32', 'float16', 'qsgd8', 'topk:0.01'].map(
    (name) => codecByName(name).encode(delta, { rng: new Rng(1) }).bytesSent,
  );
  assert.deepEqual(
    sizes,
    [...sizes].sort((a, b) => b - a),
  );
});

test('codecByName refuses unknown names and bad top-k fractions', () => {
  assert.throws(
    () => codecByName('float8'),
    /unknown codec 'float8'; expected float32, float16, qsgd8 or topk:F/,
  );
  assert.throws(() => codecByName('topk'), /unknown codec 'topk'/);
  assert.throws(() => codecByName('topk:'), /fraction must be a number in \(0, 1\], got ''/);
  assert.throws(() => codecByName('topk:2'), /got '2'/);
  assert.throws(() => codecByName('topk:1%'), /got '1%'/);
});
