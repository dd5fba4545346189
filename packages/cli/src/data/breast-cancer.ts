/**
 * The Breast Cancer Wisconsin (Diagnostic) data — 569 cases, 30 features computed from images of
 * fine-needle aspirates, diagnosed malignant or benign (Street, Wolberg and Mangasarian, 1993; the
 * UCI Machine Learning Repository's copy) — as Debian ships it inside its python3-sklearn package.
 * No Python is installed or run: the package file is fetched with `apt-get download` (no root
 * needed), unpacked with `dpkg-deb -x` into a temporary folder, and the CSV, the data set's
 * description and the package's copyright file are kept in a cache folder; later runs read them
 * from there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The ten measurements, each as its mean, standard error and worst (largest) value: 30 features. */
const MEASUREMENTS = [
  'radius',
  'texture',
  'perimeter',
  'area',
  'smoothness',
  'compactness',
  'concavity',
  'concave points',
  'symmetry',
  'fractal dimension',
] as const;

export const BREAST_CANCER_FEATURES: readonly string[] = (
  ['mean', 'standard error', 'worst'] as const
).flatMap((kind) => MEASUREMENTS.map((m) => `${m} (${kind})`));

/** Class 1 is the diagnosis a screening looks for. */
export const BREAST_CANCER_CLASSES: readonly string[] = ['benign', 'malignant'];

export interface BreastCancerData {
  /** cases × 30 values, row by row, as measured (not normalized). */
  features: Float32Array;
  /** 1 malignant, 0 benign. */
  labels: Int32Array;
  cases: number;
  /** Where the data came from and under which terms, for a report. */
  source: string;
  /** The cache folder holding breast_cancer.csv, its description and the package's copyright file. */
  dir: string;
}

const PACKAGE = 'python3-sklearn';
const IN_PACKAGE = 'usr/lib/python3/dist-packages/sklearn/datasets';
const FILES = { csv: 'breast_cancer.csv', description: 'breast_cancer.rst', copyright: 'copyright' };

/** Where the files are kept: $XDG_CACHE_HOME/edgefl/breast-cancer, else ~/.cache/edgefl/breast-cancer. */
export function breastCancerCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'edgefl', 'breast-cancer');
}

export async function loadBreastCancer(o: { dir?: string } = {}): Promise<BreastCancerData> {
  const dir = o.dir ?? breastCancerCacheDir();
  if (!existsSync(join(dir, FILES.csv))) await fetchFromDebian(dir);
  const csv = await readFile(join(dir, FILES.csv), 'utf8');
  const { features, labels } = parseBreastCancerCsv(csv, join(dir, FILES.csv));
  return {
    features,
    labels,
    cases: labels.length,
    dir,
    source:
      "Breast Cancer Wisconsin (Diagnostic), W. H. Wolberg, W. N. Street and O. L. Mangasarian (1995), the UCI Machine Learning Repository's copy as shipped in Debian's python3-sklearn package (scikit-learn's files under the BSD-3-Clause licence; the package's copyright file is kept beside the data)",
  };
}

/**
 * scikit-learn's CSV: a first line "cases,features,name of class 0,name of class 1", then one line a
 * case with its 30 features and its class (0 malignant, 1 benign). Refuses anything else, naming the
 * line.
 */
export function parseBreastCancerCsv(
  text: string,
  source = 'breast_cancer.csv',
): { features: Float32Array; labels: Int32Array } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const head = lines[0]?.split(',') ?? [];
  const cases = Number(head[0]);
  const width = Number(head[1]);
  if (
    !(Number.isInteger(cases) && cases > 0 && width === BREAST_CANCER_FEATURES.length) ||
    head[2] !== 'malignant'
  )
    throw new Error(
      `${source}: line 1 should read "<cases>,30,malignant,benign" (scikit-learn's breast_cancer.csv), got "${lines[0] ?? ''}"`,
    );
  if (lines.length - 1 !== cases)
    throw new Error(`${source}: line 1 announces ${cases} cases, the file has ${lines.length - 1}`);
  const features = new Float32Array(cases * width);
  const labels = new Int32Array(cases);
  for (let i = 0; i < cases; i++) {
    const cells = lines[i + 1].split(',');
    if (cells.length !== width + 1)
      throw new Error(`${source}: line ${i + 2} has ${cells.length} values, expected ${width + 1}`);
    for (let j = 0; j < width; j++) {
      const v = Number(cells[j]);
      if (cells[j].trim() === '' || !Number.isFinite(v))
        throw new Error(`${source}: line ${i + 2}, column ${j + 1}: '${cells[j]}' is not a number`);
      features[i * width + j] = v;
    }
    const y = cells[width].trim();
    if (y !== '0' && y !== '1')
      throw new Error(`${source}: line ${i + 2}: the class is '${y}', expected 0 (malignant) or 1 (benign)`);
    labels[i] = y === '0' ? 1 : 0;
  }
  return { features, labels };
}

/** apt-get download + dpkg-deb -x into a temporary folder; the three files move into `dir` whole. */
async function fetchFromDebian(dir: string): Promise<void> {
  const missing = ['apt-get', 'dpkg-deb'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length)
    throw new Error(
      `the Breast Cancer Wisconsin data comes from Debian's ${PACKAGE} package, and this machine has no ${missing.join(' or ')}: ` +
        `copy breast_cancer.csv from any scikit-learn (sklearn/datasets/data/) into ${dir}`,
    );
  const work = await mkdtemp(join(tmpdir(), 'edgefl-breast-cancer-'));
  try {
    const download = spawnSync('apt-get', ['download', PACKAGE], { cwd: work, encoding: 'utf8' });
    const deb = (await readdir(work)).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith('.deb'));
    if (download.status !== 0 || !deb)
      throw new Error(
        `apt-get download ${PACKAGE} failed (${(download.stderr || download.stdout || '').trim().split('\n').pop()}): ` +
          `if it cannot locate the package, run 'sudo apt-get update' once and try again`,
      );
    const unpacked = join(work, 'x');
    const unpack = spawnSync('dpkg-deb', ['-x', join(work, deb), unpacked], { encoding: 'utf8' });
    if (unpack.status !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${unpack.stderr.trim()}`);
    // Staged beside the cache folder (a rename does not cross file systems), then moved in whole.
    await mkdir(dirname(dir), { recursive: true });
    const staging = await mkdtemp(join(dirname(dir), '.breast-cancer-'));
    const from = {
      csv: join(unpacked, IN_PACKAGE, 'data', FILES.csv),
      description: join(unpacked, IN_PACKAGE, 'descr', FILES.description),
      copyright: join(unpacked, 'usr/share/doc', PACKAGE, FILES.copyright),
    };
    try {
      for (const [key, path] of Object.entries(from)) {
        if (!existsSync(path)) throw new Error(`${deb} has no ${path.slice(unpacked.length + 1)}`);
        await copyFile(path, join(staging, FILES[key as keyof typeof FILES]));
      }
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
    // Nothing half-written: the files appear in the cache together, or not at all.
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
