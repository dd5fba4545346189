/**
 * Bundles the test page's entry for the browser with esbuild, the way an application using edgefl
 * would: ES module output, browser platform, onnxruntime-web resolved from node_modules through its
 * package exports. A browser bundle of the core also proves it imports nothing Node-only: esbuild
 * fails on a `node:` import when the platform is the browser.
 */
import { build } from 'esbuild';
import { join } from 'node:path';

export async function bundleForBrowser(entry: string, outdir: string): Promise<string> {
  const outfile = join(outdir, 'entry.js');
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'linked',
    logLevel: 'silent',
  });
  if (result.errors.length) throw new Error(`esbuild: ${result.errors.map((e) => e.text).join('; ')}`);
  return outfile;
}
