/**
 * The isomorphic claim, checked: the secure-aggregation core bundles for the browser (esbuild fails
 * on any node: import there) and a whole round runs in headless Chromium on the portable suite —
 * @noble X25519, ChaCha20 / AES-CTR in JavaScript, the WebAssembly SIMD kernel — within its bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const chromiumPath = process.env.EDGEFL_CHROMIUM ?? '/usr/bin/chromium';
const skip =
  process.env.EDGEFL_SKIP_BROWSER === '1'
    ? 'EDGEFL_SKIP_BROWSER=1'
    : existsSync(chromiumPath)
      ? false
      : `no Chromium at ${chromiumPath} (set EDGEFL_CHROMIUM)`;

// Runs inside the page: a 6-client round per PRG algorithm, with dropouts, checked against the plain sum.
const ENTRY = `
import { runSecAggInProcess, portableSecAggCrypto } from ${JSON.stringify(fileURLToPath(new URL('./index.ts', import.meta.url)))};
export async function run() {
  const crypto = portableSecAggCrypto();
  const out = { keyAgreement: crypto.keyAgreement.implementation, kernel: crypto.kernel.name, rounds: [] };
  for (const prg of ['chacha20', 'aes-256-ctr']) {
    const vectors = Array.from({ length: 6 }, (_, c) => Float32Array.from({ length: 257 }, (_, i) => Math.sin(i * (c + 1)) * 0.9));
    const report = await runSecAggInProcess({ vectors, range: 1, neighbours: 4, prg, seed: 3, dropouts: { afterShareKeys: [2] }, crypto });
    let worst = 0;
    for (let i = 0; i < 257; i++) {
      let exact = 0;
      for (const c of report.survivors) exact += vectors[c][i];
      worst = Math.max(worst, Math.abs(report.sum[i] - exact));
    }
    out.rounds.push({ prg: crypto.maskPrg(prg).implementation, survivors: report.survivors, worst, bound: report.errorBound });
  }
  return out;
}
`;

test(
  'a secure-aggregation round runs in Chromium on the portable suite',
  { skip, timeout: 60_000 },
  async () => {
    const bundled = await build({
      stdin: { contents: ENTRY, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts' },
      bundle: true,
      format: 'iife',
      globalName: 'secaggInBrowser',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
    });
    const code = bundled.outputFiles[0].text;
    assert.doesNotMatch(code, /node:crypto/, 'the browser bundle must not contain node:crypto');

    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu'],
    });
    try {
      const page = await browser.newPage();
      const result = (await page.evaluate(`${code}\nsecaggInBrowser.run()`)) as {
        keyAgreement: string;
        kernel: string;
        rounds: { prg: string; survivors: number[]; worst: number; bound: number }[];
      };
      assert.equal(result.keyAgreement, '@noble/curves');
      assert.equal(result.kernel, 'wasm-simd');
      assert.equal(result.rounds.length, 2);
      for (const round of result.rounds) {
        assert.equal(round.prg, '@noble/ciphers');
        assert.deepEqual(round.survivors, [0, 1, 3, 4, 5]);
        assert.ok(round.worst <= round.bound, `error ${round.worst} > bound ${round.bound}`);
      }
    } finally {
      await browser.close();
    }
  },
);
