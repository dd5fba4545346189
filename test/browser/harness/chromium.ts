/**
 * Finds and launches the system's Chromium (Debian's package) through playwright-core. Playwright
 * never downloads a browser here: it only drives the executable it is given.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = process.env.EDGEFL_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser test cannot run, or undefined when it can. */
export function missingChromium(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  return `Chromium is not installed at ${chromiumPath}: run 'bash scripts/setup-test-deps.sh' (or set EDGEFL_CHROMIUM to a Chromium executable; EDGEFL_SKIP_BROWSER=1 skips the browser test)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless=new',
      // Root in a container has no user namespace sandbox to offer.
      '--no-sandbox',
      '--disable-gpu',
      // No network side traffic: the test must not reach the internet.
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  });
}
