/**
 * `edgefl server` and `edgefl client`: a federation across processes and machines. The server
 * runs the rounds; each client holds its own data and trains where it is.
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { X509Certificate, randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { pino } from 'pino';
import { OnnxTeacher, builtInModel, exportInferenceModel, initialParameters } from 'edgefl';
import {
  describeRuntime,
  loadClientData,
  nodePlatform,
  nodeSha256,
  parseSettings,
  readTeacherFile,
  roundLine,
  writeFileAtomic,
} from '@edgefl/node';
import {
  connectClient,
  fromBase64Url,
  isIdentityKey,
  toBase64Url,
  generateIdentity,
  identityFromSecretKey,
  type ClientEvent,
  type WebSocketLike,
} from '@edgefl/net';
import {
  checkStateFolder,
  createServer,
  plaintextRefusal,
  requestRevocation,
  revocationPending,
  serverSettings,
  type RegistryState,
} from '@edgefl/server';
import { loadNamedDataset } from './datasets.js';
import { Interrupted } from './simulate.js';

export function registerFederateCommands(
  program: Command,
  out: (line: string) => void = (l) => void process.stderr.write(l + '\n'),
): void {
  program
    .command('server')
    .description('run a federation server: clients on other machines join it over WebSocket and train')
    .requiredOption(
      '--config <file>',
      'the federation settings (JSON): rounds, strategy, privacy, codec, model, dataset...',
    )
    .option(
      '--state <dir>',
      'where the server keeps its state (checkpoint, enrolled clients, metrics)',
      'federation-state',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', '8443')
    .option('--cert <file>', 'TLS certificate (PEM)')
    .option('--key <file>', 'TLS private key (PEM)')
    .option('--insecure', 'listen without TLS (loopback only)')
    .option(
      '--token <token>',
      'the enrollment token devices present (default: one made and kept in the state folder)',
    )
    .option('--resume', 'continue the run in --state from its last completed round')
    .option('--log <file>', 'write the structured JSON log here (default: standard output)')
    .action(async (flags: ServerFlags) => {
      // Everything that can be refused is refused before any work (loading data, writing the token).
      if (!existsSync(flags.config)) throw new Error(`--config ${flags.config}: no such file`);
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(flags.config, 'utf8'));
      } catch (e) {
        throw new Error(`--config ${flags.config}: not JSON (${(e as Error).message})`);
      }
      const settings = parseSettings(serverSettings, raw, flags.config);
      if (!flags.cert !== !flags.key) throw new Error('--cert and --key go together');
      if (!flags.cert && !flags.insecure)
        throw new Error(
          'give --cert and --key (a TLS certificate), or --insecure to listen in plaintext on loopback',
        );
      const refusal = flags.cert ? undefined : plaintextRefusal(flags.host);
      if (refusal) throw new Error(refusal);
      checkStateFolder(resolve(flags.state), !!flags.resume);
      const data = settings.dataset ? await loadNamedDataset(settings.dataset) : undefined;
      const inputShape = settings.inputShape ?? data?.train.featureShape;
      const classes = settings.classes ?? data?.classes.length;
      if (!inputShape || !classes)
        throw new Error(
          `${flags.config}: give "dataset", or "inputShape" and "classes", so the server knows the model's shape`,
        );
      const spec = builtInModel(settings.model, {
        inputShape: [...inputShape],
        classes,
        seed: settings.seed,
      });
      const state = resolve(flags.state);
      await mkdir(state, { recursive: true });
      const token = flags.token ?? (await enrollmentToken(state));
      const logger = pino(
        { level: 'info' },
        flags.log ? pino.destination({ dest: flags.log, mkdir: true, sync: false }) : pino.destination(1),
      );
      const platform = nodePlatform();
      const stop = new AbortController();
      const onSigint = () => {
        if (stop.signal.aborted) process.exit(130);
        out('\nstopping after this round (Ctrl-C again to quit at once)...');
        stop.abort();
      };
      process.on('SIGINT', onSigint);
      const server = await createServer({
        settings,
        spec,
        stateDir: state,
        resume: flags.resume,
        tokens: [token],
        host: flags.host,
        port: Number(flags.port),
        tls: flags.cert ? { cert: await readFile(flags.cert), key: await readFile(flags.key!) } : undefined,
        test: data?.test,
        platform,
        logger,
        progress: out,
        subscribers: [
          {
            round: (r, history) =>
              out(roundLine(r, history, { rounds: settings.rounds, showAvailable: true })),
          },
        ],
        signal: stop.signal,
      });
      const http = server.url.replace(/^ws/, 'http').replace(/\/federation$/, '');
      out(
        `edgefl server: ${settings.federation}, ${settings.strategy}, ${settings.rounds} rounds, ${settings.model} model`,
      );
      out(`ONNX Runtime: ${describeRuntime(platform.runtime)}`);
      out(
        `listening: ${server.url}   health: ${http}/health   metrics: ${http}/metrics   model: ${http}/model.onnx${settings.privateModel ? ' (private: enrolled devices only)' : ''}`,
      );
      out(`enrollment token: ${token}`);
      out(
        `a device joins with: npx edgefl client --server ${joinUrl(server.url, flags.cert ? await readFile(flags.cert) : undefined)} --token ${token}${flags.cert ? ' --ca <the CA that signed the certificate>' : ''} --data <its data>`,
      );
      try {
        const r = await server.run();
        out(
          `run ended: ${r.stopped ?? `${r.history.length} rounds done`}; model: ${join(state, 'model.onnx')}`,
        );
        if (r.failure) throw new Error(`the run did not train: ${r.failure}`);
      } finally {
        process.off('SIGINT', onSigint);
        await server.close();
        logger.flush();
      }
      if (stop.signal.aborted) throw new Interrupted(`interrupted; continue with --resume --state ${state}`);
    });

  program
    .command('revoke')
    .description(
      'revoke an enrolled device: a running server cuts it off within a second; a stopped one when it starts',
    )
    .argument('<client-id>', 'the device to revoke')
    .option('--state <dir>', 'the server’s state folder', 'federation-state')
    .option('--wait <seconds>', 'how long to wait for a running server to apply it', '5')
    .action(async (clientId: string, flags: { state: string; wait: string }) => {
      const registryFile = join(flags.state, 'registry.json');
      if (!existsSync(registryFile))
        throw new Error(`${flags.state} is not a federation server's state folder (no registry.json)`);
      const registry = JSON.parse(await readFile(registryFile, 'utf8')) as RegistryState;
      const known = registry.clients.find((c) => c.id === clientId);
      if (!known) {
        const ids = registry.clients.map((c) => c.id);
        throw new Error(
          `'${clientId}' is not enrolled in ${flags.state} (${ids.length} devices${ids.length ? `: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}` : ''})`,
        );
      }
      if (known.revokedAt) return out(`'${clientId}' was already revoked at ${known.revokedAt}`);
      const wait = Number(flags.wait);
      if (!(wait >= 0)) throw new Error(`--wait: expected seconds >= 0, got '${flags.wait}'`);
      await requestRevocation(flags.state, clientId);
      const until = Date.now() + wait * 1000;
      while (revocationPending(flags.state, clientId) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 100));
      out(
        revocationPending(flags.state, clientId)
          ? `revocation of '${clientId}' queued: no running server took it within ${wait} s; the server applies it when it starts`
          : `'${clientId}' revoked: the server cut it off and refuses it from now on`,
      );
    });

  program
    .command('client')
    .description('join a federation: train on this device’s data for the server’s rounds')
    .requiredOption('--server <url>', 'the server’s WebSocket URL (wss://host:port/federation)')
    .requiredOption(
      '--data <path>',
      'this device’s data: a folder of IDX files (edgefl partition writes them) or a CSV file',
    )
    .option('--label <column>', 'the label column of a CSV file')
    .option('--token <token>', 'the enrollment token (needed on the first connection)')
    .option('--id <name>', 'this client’s name in the federation (default: the data folder’s name)')
    .option(
      '--identity <file>',
      'this device’s key (made on first use; default: .edgefl-identity next to the data)',
    )
    .option('--ca <file>', 'trust this CA certificate (PEM) for the server’s TLS certificate')
    .option(
      '--trusted-peers <file>',
      'secure aggregation: a JSON object {client id: identity key} of the devices this one may share secrets with (each device prints its key on start)',
    )
    .option(
      '--save-model <file>',
      'when the run ends, write the final global model the server sends with its goodbye here (.onnx)',
    )
    .option(
      '--teacher <file>',
      'a classifier .onnx this device holds as its teacher, for federations that distill',
    )
    .option('--quiet', 'print only problems and the end')
    .action(async (flags: ClientFlags) => {
      const data = await loadClientData(flags.data, { labelColumn: flags.label });
      const id =
        flags.id ??
        basename(resolve(flags.data))
          .replace(/\.[^.]*$/, '')
          .replace(/[^A-Za-z0-9._-]/g, '-');
      const identityFile =
        flags.identity ??
        // Inside a data folder; beside a data file (a CSV).
        join(
          statSync(flags.data).isDirectory() ? resolve(flags.data) : dirname(resolve(flags.data)),
          `.edgefl-identity-${id}`,
        );
      const identity = await loadOrMakeIdentity(identityFile);
      const trustedPeers = flags.trustedPeers ? await readTrustedPeers(flags.trustedPeers) : undefined;
      const ca = flags.ca ? await readFile(flags.ca) : undefined;
      const platform = nodePlatform();
      const teacher = flags.teacher
        ? await OnnxTeacher.create(
            await readTeacherFile(flags.teacher, platform.runtime, data.train.classes?.length),
            { runtime: platform.runtime, name: `teacher ${flags.teacher}` },
          )
        : undefined;
      const stop = new AbortController();
      const onSigint = () => stop.abort();
      process.on('SIGINT', onSigint);
      out(
        `edgefl client '${id}': ${data.train.length} examples${data.test ? `, ${data.test.length} held out` : ''}; ONNX Runtime: ${describeRuntime(platform.runtime)}`,
      );
      out(
        `identity key ${toBase64Url(identity.publicKey)}${trustedPeers ? `; secure aggregation only with ${Object.keys(trustedPeers).length} trusted devices` : ''}`,
      );
      const drill = drillOf(process.env.EDGEFL_DRILL_EXIT_AT);
      const client = connectClient({
        url: flags.server,
        clientId: id,
        identity,
        token: flags.token,
        data: data.train,
        test: data.test,
        runtime: platform.runtime,
        secaggCrypto: platform.secaggCrypto,
        ...(teacher ? { teacher } : {}),
        sha256: nodeSha256,
        ...(trustedPeers ? { trustedPeers } : {}),
        webSocket: (url, protocols) =>
          new WebSocket(url, protocols, ca ? { ca } : {}) as unknown as WebSocketLike,
        onEvent: (e) => {
          // A fault drill: the device dies (SIGKILL, no goodbye) as this task arrives.
          if (
            e.kind === 'task' &&
            drill &&
            e.stage === drill.stage &&
            (drill.round === undefined || drill.round === e.round)
          ) {
            out(`drill: dying at round ${e.round}, stage '${e.stage}'`);
            process.kill(process.pid, 'SIGKILL');
          }
          const line = describeEvent(e);
          // --quiet still says what goes wrong: a refusal, a lost or failed connection, a failed task.
          const problem =
            e.kind === 'refused' || e.kind === 'disconnected' || e.kind === 'task-error' || e.kind === 'done';
          if (line && (!flags.quiet || problem)) out(line);
        },
        signal: stop.signal,
      });
      const r = await client.done;
      process.off('SIGINT', onSigint);
      out(`client '${id}' stopped: ${r.reason} (${r.fits} fits)`);
      if (!r.completed && !stop.signal.aborted) throw new Error(r.reason);
      if (flags.saveModel && r.completed) {
        if (!r.model)
          throw new Error('--save-model: the server ended the run without sending the final model');
        const bytes = exportInferenceModel(
          r.model.spec,
          initialParameters(r.model.spec).withValues(r.model.parameters),
        );
        await writeFileAtomic(flags.saveModel, bytes);
        out(`final model: ${flags.saveModel} (${bytes.length.toLocaleString('en')} bytes)`);
      }
      // The runtime's native threads would keep the process alive.
      process.exit(stop.signal.aborted ? 130 : 0);
    });
}

interface ServerFlags {
  config: string;
  state: string;
  host: string;
  port: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  token?: string;
  resume?: boolean;
  log?: string;
}

interface ClientFlags {
  server: string;
  data: string;
  label?: string;
  token?: string;
  id?: string;
  identity?: string;
  ca?: string;
  trustedPeers?: string;
  saveModel?: string;
  teacher?: string;
  quiet?: boolean;
}

/**
 * The address devices should use: over TLS, a name the certificate holds (a device checks the
 * server's name against it, so the address the server listens on — 127.0.0.1, 0.0.0.0 — would be
 * refused), else the listening address.
 */
export function joinUrl(url: string, cert: Buffer | string | undefined): string {
  if (!cert) return url;
  let names: string[];
  try {
    names = (new X509Certificate(cert).subjectAltName ?? '').split(', ');
  } catch {
    return url;
  }
  const u = new URL(url);
  const bare = u.hostname.replace(/^\[|\]$/g, '');
  // Node writes IPv6 addresses in full (0:0:0:0:0:0:0:1); the URL parser compresses them as a URL does.
  const ips = names
    .filter((n) => n.startsWith('IP Address:'))
    .map((n) => n.slice(11))
    .map((ip) => (ip.includes(':') ? new URL(`http://[${ip}]`).hostname.slice(1, -1) : ip));
  if (names.includes(`DNS:${bare}`) || ips.includes(bare)) return url;
  // Wildcard names (*.example.com) name no host a device could connect to.
  const dns = names.find((n) => n.startsWith('DNS:') && !n.startsWith('DNS:*'));
  if (!dns) return url;
  u.hostname = dns.slice(4);
  return u.href;
}

/** A --trusted-peers file: {client id: base64url Ed25519 identity key}, each entry checked. */
async function readTrustedPeers(path: string): Promise<Record<string, string>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`--trusted-peers ${path}: not a JSON file (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`--trusted-peers ${path}: expected an object {"client id": "identity key", ...}`);
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length === 0) throw new Error(`--trusted-peers ${path}: lists no devices`);
  for (const [id, key] of entries) {
    let ok = false;
    try {
      ok = typeof key === 'string' && isIdentityKey(fromBase64Url(key));
    } catch {
      ok = false;
    }
    if (!ok)
      throw new Error(
        `--trusted-peers ${path}: the key of '${id}' is not a base64url Ed25519 public key (as a client prints on start)`,
      );
  }
  return parsed as Record<string, string>;
}

/** The state folder's enrollment token, made on the first start (readable by the owner only). */
async function enrollmentToken(state: string): Promise<string> {
  const path = join(state, 'enrollment-token');
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  const token = randomBytes(24).toString('base64url');
  await writeFile(path, token + '\n', { mode: 0o600 });
  return token;
}

/** A device key kept in a file (hex, owner-only), made on first use. */
async function loadOrMakeIdentity(path: string) {
  if (existsSync(path)) {
    const hex = (await readFile(path, 'utf8')).trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${path}: not an edgefl identity key (64 hex digits)`);
    return identityFromSecretKey(Buffer.from(hex, 'hex'));
  }
  const { identity, secretKey } = generateIdentity();
  await writeFile(path, Buffer.from(secretKey).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  return identity;
}

/**
 * EDGEFL_DRILL_EXIT_AT=STAGE[@ROUND]: the client process kills itself when that task arrives (fit,
 * evaluate, share-keys, masked-input, unmasking) — for fault drills of a deployment and the tests.
 */
function drillOf(spec: string | undefined): { stage: string; round?: number } | undefined {
  if (!spec) return undefined;
  const m = /^([a-z-]+)(?:@(\d+))?$/.exec(spec);
  if (!m)
    throw new Error(`EDGEFL_DRILL_EXIT_AT: expected STAGE or STAGE@ROUND (e.g. share-keys@2), got '${spec}'`);
  return { stage: m[1], round: m[2] === undefined ? undefined : Number(m[2]) };
}

function describeEvent(e: ClientEvent): string | undefined {
  switch (e.kind) {
    case 'task':
      return undefined;
    case 'connecting':
      return e.attempt === 0 ? `connecting to ${e.url}` : undefined;
    case 'connected':
      return `joined ${e.federation}`;
    case 'fit':
      return `round ${e.round}: trained on ${e.numExamples} examples in ${e.seconds.toFixed(2)} s${e.loss !== undefined ? `, loss ${e.loss.toFixed(4)}` : ''}`;
    case 'evaluate':
      return `round ${e.round}: evaluated, loss ${e.loss.toFixed(4)}${e.accuracy !== undefined ? `, accuracy ${(100 * e.accuracy).toFixed(2)}%` : ''}`;
    case 'task-error':
      return `round ${e.round}: could not do the task: ${e.message}`;
    case 'refused':
      return `the server refused: ${e.code}: ${e.message}`;
    case 'disconnected':
      return `disconnected: ${e.reason}${e.retryInMs !== undefined ? `; retrying in ${(e.retryInMs / 1000).toFixed(1)} s` : ''}`;
    case 'done':
      return `the run is over: ${e.reason}`;
    case 'stage':
      return undefined;
  }
}
