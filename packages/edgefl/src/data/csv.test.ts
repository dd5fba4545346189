import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { csvDataset, parseCsvRecords, sortClassNames } from './csv.js';

test('parseCsvRecords follows RFC 4180: quotes, doubled quotes, delimiters and line breaks in quotes', () => {
  const text = 'a,"b,c","say ""hi""",""\r\n"multi\nline",x,,"y"\n';
  const records = parseCsvRecords(text);
  assert.deepEqual(records, [
    { line: 1, fields: ['a', 'b,c', 'say "hi"', ''] },
    { line: 2, fields: ['multi\nline', 'x', '', 'y'] },
  ]);
});

test('parseCsvRecords: BOM, missing final line break, blank lines, trailing empty field, other delimiter', () => {
  assert.deepEqual(parseCsvRecords('\ufeffa,b\n\n1,2'), [
    { line: 1, fields: ['a', 'b'] },
    { line: 3, fields: ['1', '2'] },
  ]);
  assert.deepEqual(parseCsvRecords('1,2,\n'), [{ line: 1, fields: ['1', '2', ''] }]);
  assert.deepEqual(parseCsvRecords('1;"2;3"\r4;5', ';'), [
    { line: 1, fields: ['1', '2;3'] },
    { line: 2, fields: ['4', '5'] },
  ]);
  assert.deepEqual(parseCsvRecords(''), []);
});

test('parseCsvRecords names the line of malformed quoting', () => {
  assert.throws(() => parseCsvRecords('a,b\n1,"open\n\n'), /CSV line 2: a quoted field is never closed/);
  assert.throws(
    () => parseCsvRecords('a,b\n1,"q"x\n'),
    /CSV line 2: unexpected "x" after the closing quote of field 2/,
  );
  assert.throws(() => parseCsvRecords('a,b\n1,2\n3,fo"o\n'), /CSV line 3: a quote inside unquoted field 2/);
  assert.throws(() => parseCsvRecords('a', '"'), /delimiter must be one character/);
});

test('csvDataset reads the iris fixture: quoted header, CRLF, blank line, label column by name', async () => {
  const text = await readFile(
    new URL('../../../../test/fixtures/data/iris-sample.csv', import.meta.url),
    'utf8',
  );
  const ds = csvDataset(text, { labelColumn: 'species, as "named"' });
  assert.equal(ds.length, 4);
  assert.deepEqual(ds.featureShape, [3]);
  assert.deepEqual(ds.featureNames, ['sepal length', 'sepal width', 'petal length']);
  assert.equal(ds.labelName, 'species, as "named"');
  assert.deepEqual(ds.classes, ['setosa', 'versicolor', 'virginica']);
  assert.deepEqual([...ds.labels], [0, 1, 2, 0]);
  assert.deepEqual(
    [...ds.features],
    [5.1, 3.5, 1.4, 7.0, 3.2, 4.7, 6.3, 3.3, 6.0, 4.9, 3.0, 1.4].map(Math.fround),
  );
  assert.equal(ds.labelType, 'int32');
});

test('csvDataset: label by index (negative from the end), no header, numeric labels, fixed classes', () => {
  const text = '1,2,b\n3,4,a\n-5e-1,.25,b\n';
  const byIndex = csvDataset(text, { header: false, labelColumn: -1 });
  assert.deepEqual(byIndex.classes, ['a', 'b']);
  assert.deepEqual([...byIndex.labels], [1, 0, 1]);
  assert.deepEqual([...byIndex.features], [1, 2, 3, 4, -0.5, 0.25]);
  assert.deepEqual(byIndex.featureNames, ['0', '1']);

  const firstAsLabel = csvDataset('y,x\n2.5,1\n-1,2\n', { labelColumn: 0, labels: 'number' });
  assert.equal(firstAsLabel.labelType, 'float32');
  assert.deepEqual([...firstAsLabel.labels], [2.5, -1]);
  assert.deepEqual([...firstAsLabel.features], [1, 2]);

  const fixed = csvDataset('x,y\n1,b\n', { classes: ['c', 'b', 'a'] });
  assert.deepEqual([...fixed.labels], [1]);
  assert.deepEqual(fixed.classes, ['c', 'b', 'a']);
});

test('csvDataset sorts numeric class names numerically, so digit labels map to themselves', () => {
  const ds = csvDataset('x,digit\n0,10\n0,2\n0,0\n0,1\n');
  assert.deepEqual(ds.classes, ['0', '1', '2', '10']);
  assert.deepEqual([...ds.labels], [3, 2, 0, 1]);
  assert.deepEqual(sortClassNames(['b', 'B', 'a', 'é', 'b']), ['B', 'a', 'b', 'é']);
});

test('csvDataset names the row and column of a missing or non-numeric value', () => {
  assert.throws(() => csvDataset('a,b,label\n1,2,x\n3,,y\n'), /CSV line 3, column 2 \("b"\): missing value/);
  assert.throws(
    () => csvDataset('a,b,label\n1,2,x\n3,4x,y\n'),
    /CSV line 3, column 2 \("b"\): "4x" is not a number/,
  );
  assert.throws(() => csvDataset('a,label\n0x1f,x\n'), /line 2, column 1 \("a"\): "0x1f" is not a number/);
  assert.throws(() => csvDataset('a,label\nInfinity,x\n'), /"Infinity" is not a number/);
  assert.throws(() => csvDataset('1,x\n2,\n', { header: false }), /CSV line 2, column 2: missing label/);
  assert.throws(
    () => csvDataset('y,x\nabc,1\n', { labelColumn: 'y', labels: 'number' }),
    /column 1 \("y"\): "abc" is not a number/,
  );
  assert.throws(
    () => csvDataset('a,b\n1,2\n3\n'),
    /CSV line 3: expected 2 fields like the first record, got 1/,
  );
  assert.throws(
    () => csvDataset('a,b\n1,z\n', { classes: ['x', 'y'] }),
    /label "z" is not one of the given classes \["x", "y"\]/,
  );
  assert.throws(
    () => csvDataset('a,b\n1,2\n', { labelColumn: 'c' }),
    /no column named "c"; the header has "a", "b"/,
  );
  assert.throws(
    () => csvDataset('a,b\n1,2\n', { labelColumn: 2 }),
    /labelColumn 2 is not a column index in \[-2, 2\)/,
  );
  assert.throws(() => csvDataset('a,b\n'), /a header but no data rows/);
  assert.throws(() => csvDataset('a\n1\n'), /at least two columns/);
});
