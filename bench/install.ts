/**
 * bench:install — what a user's project pays to depend on edgefl: the three packages packed, then
 * installed into empty projects as each kind of user would (a web app, a Node project with and
 * without the native ONNX Runtime, the command line), from the tarballs and the npm registry only.
 * Sizes are bytes of the files under node_modules, in MiB. Also: which files of onnxruntime-web a web
 * app actually ships, and how the two Node back-ends compare on training steps (one thread each).
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArrayDataset, Rng, Trainer, builtInModel, sgd } from 'edgefl';
import { nativeRuntime, wasmRuntime } from '@edgefl/node';
import {
  emptyProject,
  folderBytes,
  installedPackages,
  npmInstall,
  packWorkspaces,
} from '../test/helpers/packed.js';
import { machineLine, median, updateBenchmarksSection, writeResultJson, helpOnRequest } from './report.js';

helpOnRequest(import.meta.url);

// MiB, as `du` counts: the unit the install-size target was set in.
const MiB = 2 ** 20;
const mb = (bytes: number) => (bytes / MiB).toFixed(1);

/** The largest installed packages of a project, with their sizes. */
function largest(dir: string, n: number): string {
  return installedPackages(dir)
    .map((p) => ({ name: p.name, bytes: folderBytes(p.path) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, n)
    .map((p) => `${p.name} ${mb(p.bytes)}`)
    .join(', ');
}

async function sizes() {
  console.log('packing the workspaces...');
  const packs = packWorkspaces();
  const projects: { who: string; install: string; specs: string[]; native?: boolean }[] = [
    { who: 'a web app', install: 'edgefl onnxruntime-web', specs: [packs.edgefl, 'onnxruntime-web@^1.30.0'] },
    { who: 'a Node project', install: 'edgefl @edgefl/node', specs: [packs.edgefl, packs['@edgefl/node']] },
    {
      who: 'a Node project, native',
      install: 'edgefl @edgefl/node onnxruntime-node',
      specs: [packs.edgefl, packs['@edgefl/node']],
      native: true,
    },
    {
      who: 'the command line',
      install: '@edgefl/cli',
      specs: [
        packs.edgefl,
        packs['@edgefl/net'],
        packs['@edgefl/node'],
        packs['@edgefl/server'],
        packs['@edgefl/cli'],
      ],
    },
  ];
  const rows: { who: string; install: string; mb: number; packages: number; largest: string }[] = [];
  let webDir = '';
  let cliDir = '';
  for (const p of projects) {
    console.log(`installing for ${p.who}...`);
    const dir = emptyProject(p.who.replace(/\W+/g, '-'));
    await npmInstall(dir, p.specs);
    if (p.native) {
      writeFileSync(join(dir, '.npmrc'), 'onnxruntime-node-install=skip\n');
      await npmInstall(dir, ['onnxruntime-node@^1.30.0']);
    }
    if (!webDir) webDir = dir;
    cliDir = dir;
    rows.push({
      who: p.who,
      install: p.install,
      mb: folderBytes(join(dir, 'node_modules')) / MiB,
      packages: installedPackages(dir).length,
      largest: largest(dir, 5),
    });
  }
  // The three packages themselves, as installed (the command line's project has all three).
  const own = ['edgefl', '@edgefl/net', '@edgefl/node', '@edgefl/server', '@edgefl/cli'].map((name) => ({
    name,
    mb: folderBytes(join(cliDir, 'node_modules', name)) / MiB,
  }));
  // onnxruntime-web's files, by what a web app does with them.
  const ortDist = join(webDir, 'node_modules', 'onnxruntime-web', 'dist');
  const files = readdirSync(ortDist).map((f) => ({ f, bytes: statSync(join(ortDist, f)).size }));
  const sum = (re: RegExp) => files.filter((x) => re.test(x.f)).reduce((a, x) => a + x.bytes, 0);
  const ort = {
    total: folderBytes(join(webDir, 'node_modules', 'onnxruntime-web')),
    shipped: sum(/^(ort\.wasm\.bundle\.min\.mjs|ort-wasm-simd-threaded\.wasm)$/),
    otherWasm: sum(/^ort-wasm-simd-threaded\.(jsep|jspi|asyncify)\.(wasm|mjs)$/),
    maps: sum(/\.map$/),
  };
  return { rows, own, ort };
}

/** Median ms a training step on each Node back-end: the FedAvg paper's 2NN and CNN on MNIST-sized input. */
async function backends() {
  const n = 3000;
  const rng = new Rng(1);
  const data = new ArrayDataset({
    features: new Float32Array(n * 784).map(() => rng.uniform()),
    labels: Int32Array.from({ length: n }, (_, i) => i % 10),
    featureShape: [1, 28, 28],
  });
  const out: { model: string; batch: number; native: number; wasm: number }[] = [];
  for (const [model, batch, steps] of [
    ['mlp', 10, 300],
    ['mlp', 32, 200],
    ['cnn', 32, 20],
  ] as const) {
    const times: Record<'native' | 'wasm', number[]> = { native: [], wasm: [] };
    for (let rep = 0; rep < 5; rep++)
      for (const backend of ['native', 'wasm'] as const) {
        const runtime = backend === 'native' ? nativeRuntime() : wasmRuntime();
        const spec = builtInModel(model, { inputShape: [1, 28, 28], classes: 10, seed: 1 });
        const t = await Trainer.create(spec, {
          loss: 'softmaxCrossEntropy',
          optimizer: sgd({ lr: 0.01 }),
          runtime,
        });
        await t.fit(data, { batchSize: batch, steps: 5 });
        const started = performance.now();
        await t.fit(data, { batchSize: batch, steps });
        times[backend].push((performance.now() - started) / steps);
      }
    out.push({ model, batch, native: median(times.native), wasm: median(times.wasm) });
    console.log(
      `${model} batch ${batch}: native ${median(times.native).toFixed(2)} ms, wasm ${median(times.wasm).toFixed(2)} ms`,
    );
  }
  return out;
}

const s = await sizes();
const b = await backends();
const json = writeResultJson('install', { sizes: s, backends: b });
const body = `Command: \`npm run bench:install\` (${machineLine()}). Raw results: \`${json}\`.

Each row is an empty project that ran \`npm install\` of the packed packages (and the registry for
the rest) with no flags and no .npmrc, except the native row, which adds onnxruntime-node with the
README's line. Bytes of the files under node_modules, in MiB (2^20 bytes, as du counts).

| who | installs | MiB | packages | largest (MiB, with what they nest) |
|---|---|---:|---:|---|
${s.rows.map((r) => `| ${r.who} | \`${r.install}\` | ${r.mb.toFixed(1)} | ${r.packages} | ${r.largest} |`).join('\n')}

The packages themselves: ${s.own.map((o) => `\`${o.name}\` ${o.mb.toFixed(2)} MiB`).join(', ')} (compiled JavaScript
and type declarations); the rest of each row is their dependencies.

The target for a web app's edgefl with its ONNX Runtime is 160 MiB. onnxruntime-web is
${mb(s.ort.total)} MiB of it. What a web app ships of it is far less: importing
\`onnxruntime-web/wasm\` bundles \`ort.wasm.bundle.min.mjs\` and loads \`ort-wasm-simd-threaded.wasm\`,
${mb(s.ort.shipped)} MiB together before compression; the other WebAssembly builds (WebGPU/JSEP, JSPI,
Asyncify: ${mb(s.ort.otherWasm)} MiB) and the source maps (${mb(s.ort.maps)} MiB) stay in node_modules.
npm installs a package whole, so those cannot be left out of the install itself.

Training steps on the two Node back-ends, one thread each (median of 5 runs; ms a step):

| model | batch | onnxruntime-node | onnxruntime-web (WebAssembly) | ratio |
|---|---:|---:|---:|---:|
${b.map((r) => `| ${r.model} | ${r.batch} | ${r.native.toFixed(2)} | ${r.wasm.toFixed(2)} | ${(r.wasm / r.native).toFixed(2)} |`).join('\n')}
`;
updateBenchmarksSection('install', 'Installing edgefl, and its two Node back-ends (bench:install)', body);
console.log(body);
