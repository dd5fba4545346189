/**
 * Runs a test page in headless Chromium: bundles `entry` (esbuild, as an application would), serves
 * it with onnxruntime-web's files under /ort/, opens it, waits for the function the page puts on
 * `window` under `name`, calls it and returns what it resolved with — with what the run saw: requests
 * to other origins (refused: nothing may come from the internet), page errors, and what the server
 * served. Everything it started is stopped on every path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { bundleForBrowser } from './bundle.js';
import { launchChromium, missingChromium } from './chromium.js';
import { startStaticServer, type ServedRequest, type StaticServer } from './static-server.js';

const here = dirname(fileURLToPath(import.meta.url));
/** onnxruntime-web's dist folder, found through the package's own exports. */
const ortDist = dirname(
  createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'),
);

export interface PageRun<T> {
  result: T;
  offOrigin: string[];
  pageErrors: string[];
  requests: readonly ServedRequest[];
}

export async function runPage<T>(entry: string, name: string): Promise<PageRun<T>> {
  const missing = missingChromium();
  if (missing) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), 'edgefl-browser-'));
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  const offOrigin: string[] = [];
  const pageErrors: string[] = [];
  try {
    await bundleForBrowser(entry, dir);
    server = await startStaticServer(
      { '/': dir, '/ort/': ortDist },
      { index: join(here, '..', 'page', 'index.html') },
    );
    const origin = server.origin;
    browser = await launchChromium();
    const context = await browser.newContext();
    await context.route(
      (url) => url.origin !== origin,
      (route) => {
        offOrigin.push(route.request().url());
        return route.abort();
      },
    );
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && pageErrors.push(m.text())));
    await page.goto(`${origin}/`);
    await page.waitForFunction(
      (n) => typeof (window as unknown as Record<string, unknown>)[n] === 'function',
      name,
      {
        timeout: 20_000,
      },
    );
    const result = (await page.evaluate(
      (n) => (window as unknown as Record<string, () => Promise<unknown>>)[n](),
      name,
    )) as T;
    return { result, offOrigin, pageErrors, requests: server.requests };
  } catch (e) {
    throw new Error(
      `the browser run failed: ${(e as Error).message}${pageErrors.length ? `\npage errors:\n${pageErrors.join('\n')}` : ''}`,
    );
  } finally {
    await browser?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
