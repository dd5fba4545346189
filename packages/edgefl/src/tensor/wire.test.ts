import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParameterSet } from './parameters.js';
import { decodeParameters, encodeParameters, WireFormatError } from './wire.js';
import { damagedCopies, offsetOf, versionOneFile } from '../../../../test/helpers/bad-files.js';

function sample(): ParameterSet {
  const layout = ParameterSet.layout([
    { name: 'dense_0.weight', shape: [4, 25] },
    { name: 'dense_0.bias', shape: [4] },
  ]);
  return new ParameterSet(
    layout,
    Float32Array.from({ length: 104 }, (_, i) => Math.cos(i)),
  );
}

test('parameters round-trip names, shapes and values exactly', () => {
  const p = sample();
  const back = decodeParameters(encodeParameters(p));
  assert.deepEqual(back.entries, p.entries);
  assert.deepEqual(back.values, p.values);
});

test('a parameter file with a flipped byte or cut short is refused as corrupt, naming the file', () => {
  const bytes = encodeParameters(sample());
  // A shape dimension: [4,25] flipped to [5,25] still parses (and the count check would catch it
  // only by luck), so the checksum must.
  for (const [what, bad] of damagedCopies(bytes, offsetOf(bytes, '"shape":[4,25]') + 9))
    assert.throws(
      () => decodeParameters(bad, 'runs/a/parameters.eflp'),
      (e: Error) =>
        e instanceof WireFormatError &&
        /^runs\/a\/parameters\.eflp: checksum mismatch: the file is corrupt/.test(e.message),
      what,
    );
});

test('a parameter file of version 1 (before checksums) is refused, saying why', () => {
  const v1 = versionOneFile('EFLP', { entries: [{ name: 'w', shape: [2] }], count: 2 }, new Float32Array(2));
  assert.throws(
    () => decodeParameters(v1, 'old/parameters.eflp'),
    /old\/parameters\.eflp: parameter file version 1 was written by an edgefl release before parameter files carried a checksum/,
  );
});
