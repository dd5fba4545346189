import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { CodecError, type CodecState } from './codec.js';
import { topKIndices } from './top-k-select.js';
import { topKCodec, topKCount } from './topk.js';
import { readVarint, varintLength, writeVarint } from './varint.js';

/** Oracle: sort indices by decreasing magnitude, ties by increasing index, keep k, sort by index. */
function topKBySorting(values: Float32Array, k: number): number[] {
  return Array.from(values.keys())
    .sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]) || a - b)
    .slice(0, k)
    .sort((a, b) => a - b);
}

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

test('topKIndices keeps exactly the k largest magnitudes, ties to the lowest indices', () => {
  const rng = new Rng(1);
  for (const [n, k] of [
    [1000, 10],
    [1000, 999],
    [5000, 1],
    [37, 37],
    [37, 0],
  ]) {
    // Rounded values make many ties, zeros and signed zeros; magnitudes span many binades.
    const values = Float32Array.from(
      { length: n },
      () => (Math.round(rng.normal() * 8) / 8) * 2 ** Math.floor(rng.uniform() * 6),
    );
    values[0] = -0;
    assert.deepEqual(Array.from(topKIndices(values, k)), topKBySorting(values, k), `n=${n} k=${k}`);
  }
  // All equal: the first k.
  assert.deepEqual(Array.from(topKIndices(new Float32Array(10).fill(-3), 4)), [0, 1, 2, 3]);
  // Values that differ only in their low bits are still told apart.
  const close = new Float32Array([1, 1 + 2 ** -23, 1 - 2 ** -24, -(1 + 2 ** -22)]);
  assert.deepEqual(Array.from(topKIndices(close, 2)), [1, 3]);
  assert.throws(() => topKIndices(new Float32Array(3), 4), /k must be an integer in \[0, 3\]/);
});

test('topk without a state sends exactly the top k coordinates, the rest decode to 0', () => {
  const rng = new Rng(2);
  const n = 10000;
  const delta = Float32Array.from({ length: n }, () => rng.normal());
  const codec = topKCodec({ fraction: 0.01 });
  const { bytes, state } = codec.encode(delta);
  const back = codec.decode(bytes, n);
  const kept = topKBySorting(delta, 100);
  const keptSet = new Set(kept);
  for (let i = 0; i < n; i++) assert.equal(back[i], keptSet.has(i) ? delta[i] : 0);
  // The residual is exactly what was not sent.
  const residual = (state as CodecState).residual;
  for (let i = 0; i < n; i++) assert.equal(residual[i], keptSet.has(i) ? 0 : delta[i]);
  // Delta-coded indices: gaps average 100, so one or two bytes each instead of four.
  assert.ok(bytes.length < 12 + 4 * 100 + 2 * 100, `${bytes.length} bytes`);
  assert.ok(bytes.length <= codec.maxEncodedBytes(n));
});

test('error feedback: decoded updates sum to the originals minus a residual that stays bounded', () => {
  // Deltas with a common drift plus noise, as local updates of successive rounds are.
  const rng = new Rng(3);
  const n = 1000;
  const fraction = 0.05;
  const rounds = 60;
  const drift = Float32Array.from({ length: n }, () => rng.normal() * 0.1);
  const withFeedback = topKCodec({ fraction });
  const without = topKCodec({ fraction, errorFeedback: false });
  const sumOriginal = new Float64Array(n);
  const sumDecoded = new Float64Array(n);
  const sumWithout = new Float64Array(n);
  let state: CodecState | undefined;
  let largestDelta = 0;
  // ‖e‖ ≤ q/(1 − q) · max‖delta‖ with q = sqrt(1 − k/n), as derived in topk.ts (a deterministic bound).
  const q = Math.sqrt(1 - topKCount(fraction, n) / n);
  const relative: number[] = [];
  const residualNorm: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const delta = Float32Array.from(drift, (d) => d + rng.normal());
    largestDelta = Math.max(largestDelta, norm(delta));
    const result = withFeedback.encode(delta, { state });
    state = result.state;
    const decoded = withFeedback.decode(result.bytes, n);
    const plain = without.decode(without.encode(delta).bytes, n);
    for (let i = 0; i < n; i++) {
      sumOriginal[i] += delta[i];
      sumDecoded[i] += decoded[i];
      sumWithout[i] += plain[i];
    }
    const residual = (state as CodecState).residual;
    assert.ok(
      norm(residual) <= (1.0001 * q * largestDelta) / (1 - q),
      `round ${r}: residual ${norm(residual)}`,
    );
    // Conservation: sum decoded + residual = sum original (up to float32 rounding of the running residual).
    const gap = norm(sumOriginal.map((s, i) => s - sumDecoded[i] - residual[i]));
    assert.ok(gap < 1e-4 * norm(sumOriginal), `round ${r}: conservation off by ${gap}`);
    residualNorm.push(norm(residual));
    relative.push(norm(sumOriginal.map((s, i) => s - sumDecoded[i])) / norm(sumOriginal));
  }
  // In practice the residual plateaus far below that bound (~55 here, against a bound of ~1250) within
  // a few rounds...
  assert.ok(
    residualNorm[rounds - 1] < 1.5 * residualNorm[9],
    `residual ${residualNorm[9]} -> ${residualNorm[rounds - 1]}`,
  );
  // ...while the sum of originals keeps growing (drift ~0.1·sqrt(n)·r plus noise ~sqrt(n·r): ~105 at
  // round 10, ~310 at round 60), so the relative error of the running sum falls about threefold.
  assert.ok(
    relative[rounds - 1] < relative[9] / 2,
    `relative error ${relative[9]} -> ${relative[rounds - 1]}`,
  );
  // Without feedback most of the mass is never sent: the error stays near the unsent share (~0.8).
  const relativeWithout = norm(sumOriginal.map((s, i) => s - sumWithout[i])) / norm(sumOriginal);
  assert.ok(relativeWithout > 0.6, `without feedback: ${relativeWithout}`);
  assert.ok(relative[rounds - 1] < relativeWithout / 2);
});

test('topk: counts, state checks, non-finite input, errorFeedback off', () => {
  assert.equal(topKCount(0.01, 10000), 100);
  assert.equal(topKCount(0.07, 100), 7); // 7.000000000000001 in floating point
  assert.equal(topKCount(0.01, 50), 1);
  assert.equal(topKCount(1, 5), 5);
  assert.equal(topKCount(0.5, 0), 0);
  const codec = topKCodec({ fraction: 0.5 });
  assert.throws(
    () => codec.encode(new Float32Array(4), { state: { codec: 'topk', residual: new Float32Array(3) } }),
    /residual holds 3 values but the delta 4/,
  );
  assert.throws(
    () => codec.encode(new Float32Array(4), { state: { codec: 'other', residual: new Float32Array(4) } }),
    /made by other, not topk/,
  );
  assert.throws(
    () => codec.encode(new Float32Array([1, Infinity])),
    (e: unknown) => e instanceof CodecError && /topk:0.5: cannot encode Infinity at index 1/.test(e.message),
  );
  assert.equal(
    topKCodec({ fraction: 0.5, errorFeedback: false }).encode(new Float32Array(4)).state,
    undefined,
  );
  for (const fraction of [0, 1.5, NaN])
    assert.throws(() => topKCodec({ fraction }), /fraction must be in \(0, 1\]/);
  // The state passed in is not modified.
  const residual = new Float32Array([1, 0, 0, 0]);
  codec.encode(new Float32Array([0, 2, 0, 3]), { state: { codec: 'topk', residual } });
  assert.deepEqual(Array.from(residual), [1, 0, 0, 0]);
  // An empty update round-trips.
  assert.deepEqual(codec.decode(codec.encode(new Float32Array(0)).bytes, 0), new Float32Array(0));
});

test('topk refuses out-of-range indices, k beyond the length, non-finite values, bad varints', () => {
  const codec = topKCodec({ fraction: 0.5 });
  const bytes = codec.encode(new Float32Array([5, 0, 0, 6])).bytes; // k = 2: values 5, 6; indices 0, gap 2
  assert.deepEqual(Array.from(bytes.subarray(20)), [0, 2]);
  const far = bytes.slice();
  far[21] = 3; // second index 0 + 3 + 1 = 4
  assert.throws(() => codec.decode(far, 4), /topk: index 4 is outside an update of 4 values/);
  const many = bytes.slice();
  new DataView(many.buffer).setUint32(8, 5, true);
  assert.throws(() => codec.decode(many, 4), /topk: 5 values sent for an update of 4/);
  const nan = bytes.slice();
  new DataView(nan.buffer).setFloat32(16, NaN, true);
  assert.throws(() => codec.decode(nan, 4), /value NaN at index 3 is not finite/);
  const unterminated = bytes.slice();
  unterminated[21] = 0x80;
  assert.throws(() => codec.decode(unterminated, 4), /truncated variable-length integer/);
});

test('varints round-trip every size class and refuse overlong encodings', () => {
  const buffer = new Uint8Array(5);
  for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 31, 2 ** 32 - 1]) {
    const end = writeVarint(buffer, 0, v);
    assert.equal(end, varintLength(v));
    const cursor = { offset: 0, value: -1 };
    readVarint(buffer, cursor, end, 'test');
    assert.deepEqual(cursor, { offset: end, value: v });
  }
  const cursor = { offset: 0, value: 0 };
  assert.throws(
    () => readVarint(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f]), cursor, 5, 'x'),
    /exceeds 32 bits/,
  );
  cursor.offset = 0;
  assert.throws(() => readVarint(new Uint8Array(6).fill(0x80), cursor, 6, 'x'), /longer than 5 bytes/);
});
