/**
 * The Breast Cancer Wisconsin data from Debian's python3-sklearn package: fetched with apt-get
 * download into a fresh cache folder, and checked against the data set's published description
 * (569 cases: 212 malignant, 357 benign; the first case's measurements).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BREAST_CANCER_FEATURES, loadBreastCancer, parseBreastCancerCsv } from './breast-cancer.js';

test(
  'the CSV from the Debian package: 569 cases, 212 malignant and 357 benign, as published',
  { timeout: 120_000 },
  async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'edgefl-bc-')), 'breast-cancer');
    const data = await loadBreastCancer({ dir });
    assert.equal(data.cases, 569);
    assert.equal(data.features.length, 569 * 30);
    assert.equal(
      data.labels.reduce((a, b) => a + b, 0),
      212,
      'malignant cases',
    );
    // The first case (UCI id 842302, malignant): mean radius 17.99, texture 10.38, ..., worst fractal dimension 0.1189.
    assert.equal(data.labels[0], 1);
    assert.ok(Math.abs(data.features[0] - 17.99) < 1e-5 && Math.abs(data.features[29] - 0.1189) < 1e-5);
    assert.deepEqual(readdirSync(dir).sort(), ['breast_cancer.csv', 'breast_cancer.rst', 'copyright']);
    assert.match(data.source, /Wolberg.*python3-sklearn/);
    // A second load reads the cache.
    const again = await loadBreastCancer({ dir });
    assert.deepEqual(again.labels, data.labels);
    assert.equal(BREAST_CANCER_FEATURES[20], 'radius (worst)');
  },
);

test('a malformed CSV is refused naming the line and the value', () => {
  const row = (label: string, first = '1') => [first, ...Array(29).fill('0.5'), label].join(',');
  const ok = `2,30,malignant,benign\n${row('0')}\n${row('1')}\n`;
  assert.deepEqual([...parseBreastCancerCsv(ok).labels], [1, 0]);
  assert.throws(() => parseBreastCancerCsv('x,y\n'), /line 1 should read "<cases>,30,malignant,benign"/);
  assert.throws(
    () => parseBreastCancerCsv(`3,30,malignant,benign\n${row('0')}\n`),
    /announces 3 cases, the file has 1/,
  );
  assert.throws(
    () => parseBreastCancerCsv(`1,30,malignant,benign\n${row('0', 'abc')}\n`, 'bc.csv'),
    /bc\.csv: line 2, column 1: 'abc' is not a number/,
  );
  assert.throws(
    () => parseBreastCancerCsv(`1,30,malignant,benign\n${row('2')}\n`),
    /line 2: the class is '2'/,
  );
});

test('without apt-get the error says where to put the file, and nothing is left behind', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'edgefl-bc-')), 'breast-cancer');
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await assert.rejects(
      loadBreastCancer({ dir }),
      /this machine has no apt-get or dpkg-deb: copy breast_cancer\.csv/,
    );
  } finally {
    process.env.PATH = path;
  }
  assert.equal(existsSync(dir), false);
});
