import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx } from 'edgefl';
import { loadClientData } from './client-data.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'edgefl-client-data-'));

function csvFile(text: string, name = 'client.csv'): string {
  const path = join(fresh(), name);
  writeFileSync(path, text);
  return path;
}

test('a CSV file: numeric features, labels mapped to classes in sorted order, whatever the column order', async () => {
  const path = csvFile(
    [
      'width,species,"length, cm"',
      '1.5,virginica,2',
      '',
      '-3,setosa,4e-1',
      '0.25 , versicolor,"7"',
      '8,setosa,9',
    ].join('\r\n') + '\r\n',
  );
  const { train, test: held, classes } = await loadClientData(path, { labelColumn: 'species' });
  assert.deepEqual(classes, ['setosa', 'versicolor', 'virginica']);
  assert.deepEqual(train.classes, classes);
  assert.equal(held, undefined);
  assert.equal(train.length, 4);
  assert.deepEqual(train.featureShape, [2]);
  assert.ok(train.features instanceof Float32Array);
  assert.deepEqual([...train.features], [1.5, 2, -3, Math.fround(0.4), 0.25, 7, 8, 9]);
  assert.ok(train.labels instanceof Int32Array);
  assert.deepEqual([...train.labels], [2, 0, 1, 0]);
  assert.equal(train.normalization, undefined);
});

test('a CSV file: a fixed class list maps labels by position, and a normalization is applied and recorded', async () => {
  const path = csvFile('x,y,label\n10,20,3\n30,40,1\n');
  const normalize = { scale: 0.1, mean: 1, std: 2 };
  const { train, classes } = await loadClientData(path, {
    labelColumn: 'label',
    classes: ['0', '1', '2', '3', '4'],
    normalize,
  });
  assert.deepEqual(classes, ['0', '1', '2', '3', '4']);
  assert.deepEqual([...train.labels], [3, 1]);
  assert.deepEqual([...train.features], [0, 0.5, 1, 1.5]);
  assert.deepEqual(train.normalization, normalize);
  // Numeric labels sort as numbers, as the core's csvDataset sorts them: '2' before '10'.
  const numeric = await loadClientData(csvFile('a,k\n1,10\n2,2\n3,9\n'), { labelColumn: 'k' });
  assert.deepEqual(numeric.classes, ['2', '9', '10']);
  assert.deepEqual([...numeric.train.labels], [2, 0, 1]);
  await assert.rejects(
    loadClientData(path, { labelColumn: 'label', classes: ['0', '1'] }),
    /row 1 \(line 2\), column "label": label "3" is not one of the classes given \(0, 1\)/,
  );
});

test('a CSV file is refused, naming the file and the row and column, when it cannot be read as data', async () => {
  const path = csvFile('a,b,label\n1,2,x\n3,oops,y\n');
  await assert.rejects(
    loadClientData(path, { labelColumn: 'class' }),
    (e: Error) =>
      e.message.includes(path) && /no label column "class"; the header has "a", "b", "label"/.test(e.message),
  );
  await assert.rejects(
    loadClientData(path),
    (e: Error) => e.message.includes(path) && /a CSV file needs labelColumn/.test(e.message),
  );
  await assert.rejects(
    loadClientData(path, { labelColumn: 'label' }),
    (e: Error) =>
      e.message.includes(path) && /row 2 \(line 3\), column "b": "oops" is not a number/.test(e.message),
  );
  for (const [text, message] of [
    ['a,label\n1,x\n,y\n', /row 2 \(line 3\), column "a": is empty/],
    ['a,label\n0x1f,x\n', /row 1 \(line 2\), column "a": "0x1f" is not a number/],
    ['a,label\n1,x\n2\n', /Invalid Record Length: expect 2, got 1 on line 3/],
    ['a,label\n1,"x\n', /Quote Not Closed/],
    ['a,label\n', /a header but no data rows/],
    ['a,label\n1, \n', /row 1 \(line 2\), column "label": the label is empty/],
  ] as const) {
    const file = csvFile(text);
    await assert.rejects(
      loadClientData(file, { labelColumn: 'label' }),
      (e: Error) => e.message.includes(file) && message.test(e.message),
      text,
    );
  }
});

test('an IDX folder: pixels / 255 like MNIST, .gz or not, with the client’s test files returned apart', async () => {
  const dir = fresh();
  const pixels = Uint8Array.from({ length: 3 * 4 }, (_, i) => i * 21);
  writeFileSync(
    join(dir, 'train-images-idx3-ubyte'),
    encodeIdx({ dims: [3, 2, 2], type: 'uint8', data: pixels }),
  );
  writeFileSync(
    join(dir, 'train-labels-idx1-ubyte.gz'),
    gzipSync(encodeIdx({ dims: [3], type: 'uint8', data: new Uint8Array([4, 0, 9]) })),
  );
  const { train, test: held, classes } = await loadClientData(dir);
  assert.deepEqual(classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(held, undefined);
  assert.deepEqual(train.featureShape, [1, 2, 2]);
  assert.deepEqual(
    [...train.features],
    [...pixels].map((v) => Math.fround(v / 255)),
  );
  assert.deepEqual([...train.labels], [4, 0, 9]);

  // MNIST's own name for test files, t10k-*, is read as well as test-*.
  writeFileSync(
    join(dir, 't10k-images-idx3-ubyte'),
    encodeIdx({ dims: [1, 2, 2], type: 'uint8', data: new Uint8Array([255, 0, 51, 1]) }),
  );
  writeFileSync(
    join(dir, 't10k-labels-idx1-ubyte'),
    encodeIdx({ dims: [1], type: 'uint8', data: new Uint8Array([7]) }),
  );
  const withTest = await loadClientData(dir);
  assert.deepEqual([...withTest.test!.features], [1, 0, Math.fround(0.2), Math.fround(1 / 255)]);
  assert.deepEqual([...withTest.test!.labels], [7]);

  // Raw bytes, and class names of the federation's own.
  const raw = await loadClientData(dir, {
    normalize: false,
    classes: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
  });
  assert.deepEqual([...raw.train.features], [...pixels]);
  assert.equal(raw.train.normalization, undefined);
  assert.deepEqual(raw.classes, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
  await assert.rejects(
    loadClientData(dir, { classes: ['a', 'b'] }),
    /train files: .*sample 0 has label 4, expected a class index in \[0, 2\)/,
  );
});

test('paths it cannot read are refused, saying which formats it reads', async () => {
  const formats =
    /expected a folder with train-images-idx3-ubyte and train-labels-idx1-ubyte .* or a \.csv file/;
  const empty = fresh();
  await assert.rejects(
    loadClientData(empty),
    (e: Error) =>
      e.message.includes(empty) &&
      /has no train-images-idx3-ubyte/.test(e.message) &&
      formats.test(e.message),
  );
  const text = csvFile('a,b\n', 'client.txt');
  await assert.rejects(
    loadClientData(text),
    (e: Error) => /client\.txt: not a format it reads/.test(e.message) && formats.test(e.message),
  );
  await assert.rejects(loadClientData(join(empty, 'nowhere')), /nowhere: no such file or folder/);
  const half = fresh();
  writeFileSync(
    join(half, 'train-images-idx3-ubyte'),
    encodeIdx({ dims: [1, 1, 1], type: 'uint8', data: new Uint8Array([1]) }),
  );
  await assert.rejects(
    loadClientData(half),
    /train-images-idx3-ubyte has no train-labels-idx1-ubyte \(nor \.gz\) beside it/,
  );
});
