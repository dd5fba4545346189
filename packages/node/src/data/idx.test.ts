import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from 'edgefl';
import { decompressIfGzip, parseIdxMaybeGzip, readIdxFile } from './idx.js';

const tensor = { dims: [2, 3], type: 'float32' as const, data: new Float32Array([1, -2, 0.5, 4, 1e-3, -0]) };

test('readIdxFile reads plain and gzipped files alike', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgefl-idx-'));
  try {
    const raw = encodeIdx(tensor);
    await writeFile(join(dir, 'plain-idx2-float'), raw);
    await writeFile(join(dir, 'packed-idx2-float.gz'), gzipSync(raw));
    for (const name of ['plain-idx2-float', 'packed-idx2-float.gz']) {
      const t = await readIdxFile(join(dir, name));
      assert.deepEqual(t.dims, [2, 3], name);
      assert.deepEqual([...t.data], [...tensor.data], name);
    }
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('parseIdxMaybeGzip passes plain bytes through and names a corrupt gzip stream', () => {
  const raw = encodeIdx(tensor);
  assert.equal(decompressIfGzip(raw), raw);
  assert.deepEqual([...parseIdxMaybeGzip(gzipSync(raw)).data], [...tensor.data]);
  const corrupt = gzipSync(raw).subarray(0, 12);
  assert.throws(
    () => parseIdxMaybeGzip(corrupt, 'broken.gz'),
    /broken\.gz: starts with the gzip magic but does not decompress/,
  );
});

test('readIdxFile names the file when its contents are wrong', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgefl-idx-'));
  try {
    const path = join(dir, 'short-idx1-ubyte');
    await writeFile(path, new Uint8Array([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]));
    await assert.rejects(readIdxFile(path), (err: Error) =>
      err.message.includes('short-idx1-ubyte: truncated'),
    );
  } finally {
    await rm(dir, { recursive: true });
  }
});
