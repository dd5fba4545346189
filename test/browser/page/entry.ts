/**
 * The test page's script, bundled by esbuild for the browser. It trains with the same Trainer and
 * scenario as the Node side, on onnxruntime-web, and hands the results to the test through a
 * function on `window` that Playwright calls.
 */
import * as ort from 'onnxruntime-web/wasm';
import { webRuntime } from 'edgefl/web';
import { runScenario, type ScenarioResult } from './scenario.js';

export interface BrowserTestResult {
  /** The real run: onnxruntime-web through the edgefl web adapter. */
  web: ScenarioResult;
  /**
   * The same run with the adapter's answer flipped to "preallocated outputs work", i.e. with the
   * pitfall the adapter exists to avoid; the test checks its own assertions would catch it.
   */
  preallocatedControl: ScenarioResult;
  /** WebAssembly threads onnxruntime-web ended up with. */
  numThreads: number | undefined;
  crossOriginIsolated: boolean;
}

declare global {
  interface Window {
    edgeflBrowserTest?: () => Promise<BrowserTestResult>;
  }
}

window.edgeflBrowserTest = async () => {
  // The .wasm files are served by the test's own server under /ort/; nothing comes from a CDN.
  const runtime = webRuntime(ort, { wasmPaths: new URL('/ort/', location.href).href });
  const web = await runScenario(runtime);
  const preallocatedControl = await runScenario({ ...runtime, supportsPreallocatedOutputs: true });
  return { web, preallocatedControl, numThreads: ort.env.wasm.numThreads, crossOriginIsolated };
};
