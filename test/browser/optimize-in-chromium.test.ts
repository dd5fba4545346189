/**
 * The optimization path in a browser: the page quantizes the CNN to int8 with edgefl's TypeScript
 * quantizer, calibrating through onnxruntime-web, runs it beside the float model, and times both with
 * the same harness as Node (measureLatency). The same int8 model made in Node answers the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPage } from './harness/run-page.js';
import type { OptimizeTestResult } from './optimize-page/entry.js';

const here = dirname(fileURLToPath(import.meta.url));
const skip =
  process.env.EDGEFL_SKIP_BROWSER === '1'
    ? 'EDGEFL_SKIP_BROWSER=1 is set: the headless-Chromium test of onnxruntime-web does not run'
    : false;

test(
  'int8 quantization and the latency harness run in headless Chromium on onnxruntime-web',
  { skip, timeout: 180_000 },
  async (t) => {
    const { result, pageErrors } = await runPage<OptimizeTestResult>(
      join(here, 'optimize-page', 'entry.ts'),
      'edgeflOptimizeTest',
    );
    assert.deepEqual(pageErrors, []);
    // The QDQ form, made in the page, about a quarter of the float file.
    assert.ok(
      result.int8Ops.includes('QuantizeLinear') && result.int8Ops.includes('DequantizeLinear'),
      result.int8Ops.join(),
    );
    assert.ok(result.floatBytes / result.int8Bytes >= 3.5, `${result.floatBytes} / ${result.int8Bytes}`);
    // The int8 model answers as the float one: the largest logit difference is a small part of the
    // logits' own spread (measured: well under 10%), and the predicted class rarely changes.
    const spread = Math.max(...result.floatLogits) - Math.min(...result.floatLogits);
    let worst = 0;
    for (let i = 0; i < result.floatLogits.length; i++)
      worst = Math.max(worst, Math.abs(result.floatLogits[i] - result.int8Logits[i]));
    assert.ok(worst <= 0.1 * spread, `int8 logits differ by ${worst}; the float logits span ${spread}`);
    // The harness measured in the page.
    for (const l of [result.floatLatency, result.int8Latency]) {
      assert.equal(l.runs, 60);
      assert.ok(l.minMs > 0 && l.minMs <= l.p50Ms && l.p50Ms <= l.p95Ms, JSON.stringify(l));
    }
    t.diagnostic(
      `in Chromium (onnxruntime-web, 1 thread): float ${result.floatLatency.p50Ms.toFixed(3)} ms, int8 ${result.int8Latency.p50Ms.toFixed(3)} ms at batch 1 (p50); largest logit difference ${worst.toExponential(2)} of a ${spread.toFixed(3)} spread`,
    );
  },
);
