// Prints encode/decode throughput for one million values (not asserted: the machine is shared).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../util/rng.js';
import { codecByName } from './by-name.js';

test('throughput on 1M values (printed, not asserted)', (t) => {
  const n = 1_000_000;
  const rng = new Rng(1);
  const delta = Float32Array.from({ length: n }, () => rng.normal() * 0.01);
  const out = new Float32Array(n);
  for (const name of ['float32', 'float16', 'qsgd8', 'topk:0.01']) {
    const codec = codecByName(name);
    // Best of three (the first run also warms up the JIT and float16's lookup table).
    let encodeMs = Infinity;
    let decodeMs = Infinity;
    let bytes: Uint8Array = new Uint8Array(0);
    for (let run = 0; run < 3; run++) {
      let start = performance.now();
      bytes = codec.encode(delta, { rng: new Rng(2) }).bytes;
      encodeMs = Math.min(encodeMs, performance.now() - start);
      start = performance.now();
      codec.decode(bytes, n, out);
      decodeMs = Math.min(decodeMs, performance.now() - start);
    }
    const perSecond = (ms: number) => `${((n / ms) * 1e-3).toFixed(0)}M values/s`;
    t.diagnostic(
      `${name.padEnd(9)} ${(bytes.length / 1e6).toFixed(2)} MB  encode ${encodeMs.toFixed(1)} ms (${perSecond(encodeMs)})  ` +
        `decode ${decodeMs.toFixed(1)} ms (${perSecond(decodeMs)})`,
    );
    assert.equal(out.length, n);
  }
});
