/**
 * End to end on the browser path: the page bundles edgefl's Trainer with onnxruntime-web, trains a
 * small MLP in headless Chromium, and must reach the same parameters as the same run on
 * onnxruntime-node. This is the guard against onnxruntime-web's silently ignored preallocated
 * outputs (DESIGN.md, "Known pitfalls"): with them, training would not progress.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeRuntime } from '@edgefl/node';
import { runPage } from './harness/run-page.js';
import type { BrowserTestResult } from './page/entry.js';
import { runScenario } from './page/scenario.js';
import { formatLosses, largestDifference, mismatch, trainingProblems } from './harness/compare.js';

const here = dirname(fileURLToPath(import.meta.url));
const skip =
  process.env.EDGEFL_SKIP_BROWSER === '1'
    ? 'EDGEFL_SKIP_BROWSER=1 is set: the headless-Chromium test of onnxruntime-web does not run'
    : false;

test(
  'training in headless Chromium on onnxruntime-web matches onnxruntime-node',
  { skip, timeout: 120_000 },
  async (t) => {
    const { result, offOrigin, pageErrors, requests } = await runPage<BrowserTestResult>(
      join(here, 'page', 'entry.ts'),
      'edgeflBrowserTest',
    );
    const node = await runScenario(nodeRuntime());
    const web = result.web;
    t.diagnostic(
      `browser: ${web.steps} steps in ${web.seconds.toFixed(3)} s, loss ${formatLosses(web.lossHistory)}, accuracy ${web.accuracy.toFixed(3)}; node: ${node.seconds.toFixed(3)} s`,
    );

    // The page stayed local and quiet, and onnxruntime-web loaded its WebAssembly from our server.
    assert.deepEqual(offOrigin, [], 'the page requested something from another origin');
    assert.deepEqual(pageErrors, [], 'the page logged errors');
    assert.deepEqual(
      requests.filter((r) => r.status !== 200),
      [],
      'the server refused some requests',
    );
    assert.ok(
      requests.some((r) => r.path.startsWith('/ort/') && r.path.endsWith('.wasm')),
      `onnxruntime-web did not load its .wasm from the test server (requests: ${requests.map((r) => r.path).join(', ')})`,
    );

    // The web adapter's defaults: a page that is not cross-origin isolated runs one thread.
    assert.equal(web.runtime, 'onnxruntime-web');
    assert.equal(result.crossOriginIsolated, false);
    assert.equal(result.numThreads, 1);

    // Same model, same seeded initialization on both sides, bit for bit.
    assert.deepEqual(web.layout, node.layout);
    assert.deepEqual(web.initial, node.initial, 'the browser built different initial parameters');

    // It trained: the loss fell well below where it started, and every tensor moved.
    assert.deepEqual(trainingProblems(web), []);
    assert.deepEqual(trainingProblems(node), [], 'the Node reference run itself did not train');

    // And it trained the same way as onnxruntime-node.
    assert.equal(web.steps, node.steps);
    assert.equal(mismatch(web.final, node.final, 'final parameters, browser vs Node'), undefined);
    assert.equal(mismatch(web.lossHistory, node.lossHistory, 'loss history, browser vs Node'), undefined);
    t.diagnostic(
      `largest browser/Node parameter difference: ${largestDifference(web.final, node.final).toExponential(2)}`,
    );

    // The control run treats onnxruntime-web as if it honoured preallocated outputs. While upstream
    // issue #25786 stands, the checks above must reject it — proof that they would catch the pitfall.
    const control = result.preallocatedControl;
    if (mismatch(control.final, node.final, 'control') === undefined)
      t.diagnostic(
        'onnxruntime-web honoured preallocated outputs in this version: the web adapter could allow them again (after checking upstream issue #25786)',
      );
    else {
      const problems = trainingProblems(control);
      assert.notDeepEqual(problems, [], 'the checks did not notice a run whose step outputs were lost');
      t.diagnostic(
        `control with preallocated outputs on onnxruntime-web, rejected as it should be: ${problems[0]} (and ${problems.length - 1} more)`,
      );
    }
  },
);
