/**
 * edgefl as a user's project gets it: the workspace packages packed into tarballs (`npm pack`), and
 * installed into empty projects from those tarballs and the npm registry, with no flags and no
 * .npmrc. Every install goes through a recording proxy, so a test can say which hosts it reached.
 * Shared by the packaging tests and `npm run bench:install` (which records the install sizes).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WORKSPACES = ['edgefl', '@edgefl/net', '@edgefl/node', '@edgefl/server', '@edgefl/cli'] as const;
export type Workspace = (typeof WORKSPACES)[number];

/** Packs the workspace packages (building them first); returns each one's tarball. */
export function packWorkspaces(
  dest = mkdtempSync(join(tmpdir(), 'edgefl-packs-')),
): Record<Workspace, string> {
  const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  const r = spawnSync('npm', ['pack', '--workspaces', '--json', '--pack-destination', dest], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`npm pack failed:\n${r.stderr}`);
  const packed = JSON.parse(r.stdout) as { name: Workspace; filename: string }[];
  return Object.fromEntries(packed.map((p) => [p.name, join(dest, p.filename)])) as Record<Workspace, string>;
}

/** An empty ES-module project in a fresh temporary folder. */
export function emptyProject(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `edgefl-user-${name}-`));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `user-${name}`, private: true, type: 'module' }),
  );
  return dir;
}

export interface InstallResult {
  /** Hosts the install connected to (through the proxy). */
  hosts: string[];
  output: string;
}

/**
 * `npm install <specs>` in `dir`, as a user types it — plus the environment given — with all its
 * traffic through a local proxy that records where it went. Throws with npm's output if it fails.
 */
export async function npmInstall(
  dir: string,
  specs: readonly string[],
  env: Record<string, string> = {},
): Promise<InstallResult> {
  const proxy = await recordingProxy();
  try {
    const output = await run('npm', ['install', '--no-audit', '--no-fund', ...specs], dir, {
      ...env,
      npm_config_proxy: proxy.url,
      npm_config_https_proxy: proxy.url,
    });
    return { hosts: [...proxy.hosts].sort(), output };
  } finally {
    await proxy.close();
  }
}

/** The host of the npm registry this machine is set to. */
export function registryHost(): string {
  const r = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' });
  return new URL(r.stdout.trim()).hostname;
}

/** Runs a command; resolves with its output, rejects with it when the exit code is not 0. */
export function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...userEnvironment(), ...env } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${output}`)),
    );
  });
}

/**
 * This process's environment less what this repository adds to it: the test runner's NODE_OPTIONS
 * (the source condition) and what npm exports to the scripts it runs — among them this
 * repository's .npmrc settings as npm_config_* variables, which a user's project does not have.
 */
export function userEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && e[0] !== 'NODE_OPTIONS' && !/^npm_/i.test(e[0]),
    ),
  );
}

/** An HTTP CONNECT proxy on loopback that forwards every tunnel and remembers the hosts asked for. */
async function recordingProxy(): Promise<{ url: string; hosts: Set<string>; close: () => Promise<void> }> {
  const hosts = new Set<string>();
  const server: Server = createServer((req, res) => {
    // Plain-HTTP requests: recorded and refused (the registry is reached over TLS).
    hosts.add(new URL(req.url ?? '', 'http://unknown').hostname);
    res.writeHead(502).end();
  });
  server.on('connect', (req, socket, head) => {
    const [host, port] = (req.url ?? '').split(':');
    hosts.add(host);
    const upstream = connect(Number(port) || 443, host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hosts,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

export interface InstalledPackage {
  name: string;
  /** name@version */
  id: string;
  path: string;
  manifest: Record<string, unknown>;
}

/** The installed packages of a project (every package.json under node_modules). */
export function installedPackages(dir: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  const visit = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const name of readdirSync(modules)) {
      if (name.startsWith('.')) continue;
      const p = join(modules, name);
      if (name.startsWith('@')) {
        for (const sub of readdirSync(p)) add(join(p, sub));
        continue;
      }
      add(p);
    }
  };
  const add = (p: string) => {
    const file = join(p, 'package.json');
    if (!existsSync(file) || lstatSync(p).isSymbolicLink()) return;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const name = String(manifest.name);
    out.push({ name, id: `${name}@${manifest.version}`, path: p, manifest });
    visit(join(p, 'node_modules'));
  };
  visit(join(dir, 'node_modules'));
  return out;
}

/**
 * Packages that would run code when installed: an install lifecycle script, or a binding.gyp
 * (npm then runs node-gyp). Newer npm versions block such scripts unless the project allows them;
 * older ones run them, so a library must not bring any it does not need.
 */
export function installScripts(dir: string): string[] {
  return installedPackages(dir).flatMap(({ id, path, manifest }) => {
    const scripts = (manifest.scripts ?? {}) as Record<string, string>;
    const hooks = ['preinstall', 'install', 'postinstall'].filter((h) => scripts[h]);
    if (existsSync(join(path, 'binding.gyp')) && manifest.gypfile !== false && !scripts.install)
      hooks.push('binding.gyp');
    return hooks.map((h) => `${id} ${h}${scripts[h] ? `: ${scripts[h]}` : ''}`);
  });
}

/** Bytes on disk under a folder (apparent sizes of regular files; links not followed). */
export function folderBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = lstatSync(p);
      if (s.isDirectory()) walk(p);
      else if (s.isFile()) total += s.size;
    }
  };
  walk(dir);
  return total;
}

/** Makes a folder and writes files into it: `{ 'train.mjs': '...' }`. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}
