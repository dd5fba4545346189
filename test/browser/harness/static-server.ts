/**
 * A tiny static file server for the browser test: GET only, loopback only, a random free port,
 * files from a few mounted directories and nothing above them. It records every request, so the
 * test can check which files the page really loaded.
 */
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  // application/wasm lets the browser compile WebAssembly while it streams in.
  '.wasm': 'application/wasm',
};

export interface ServedRequest {
  path: string;
  status: number;
}

export interface StaticServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  readonly requests: readonly ServedRequest[];
  close(): Promise<void>;
}

/**
 * Serves `mounts`: URL path prefix (e.g. '/ort/') -> directory. The longest matching prefix wins;
 * '/' maps to `index` when given.
 */
export async function startStaticServer(
  mounts: Record<string, string>,
  o: { index?: string } = {},
): Promise<StaticServer> {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const requests: ServedRequest[] = [];

  async function lookup(urlPath: string): Promise<string | undefined> {
    if (urlPath === '/' && o.index) return o.index;
    const prefix = prefixes.find((p) => urlPath.startsWith(p));
    if (!prefix) return undefined;
    const root = resolve(mounts[prefix]);
    const file = resolve(root, '.' + sep + urlPath.slice(prefix.length));
    // resolve() has collapsed any '..': whatever lands outside the mounted directory is refused.
    if (!file.startsWith(root + sep)) return undefined;
    const s = await stat(file).catch(() => undefined);
    return s?.isFile() ? file : undefined;
  }

  const server = createServer((req, res) => {
    let urlPath = req.url ?? '/';
    const reply = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
      requests.push({ path: urlPath, status });
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'GET only\n');
    try {
      urlPath = decodeURIComponent(new URL(urlPath, 'http://localhost').pathname);
    } catch {
      return reply(400, 'malformed URL\n');
    }
    lookup(urlPath)
      .then(async (file) => {
        if (!file) return reply(404, `not found: ${urlPath}\n`);
        reply(200, await readFile(file), contentTypes[extname(file)] ?? 'application/octet-stream');
      })
      .catch((e: Error) => reply(500, `${e.message}\n`));
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
