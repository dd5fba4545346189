/**
 * `edgefl certs`: a self-signed CA and a server certificate signed by it, for trying the federation
 * server with TLS (`edgefl server --cert --key`, `edgefl client --ca`). Not for production.
 *
 *   DIR/ca.pem          the CA certificate: what clients trust (--ca)
 *   DIR/ca-key.pem      the CA's private key (mode 0600): needed only to sign more certificates
 *   DIR/server.pem      the server certificate, with every --host in its subjectAltName
 *   DIR/server-key.pem  the server's private key (mode 0600)
 *
 * Keys are ECDSA P-256, signatures ECDSA with SHA-256: what every TLS stack accepts. Node has no API
 * that makes certificates; @peculiar/x509 encodes them and Node's WebCrypto makes the keys and signs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { lstat, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { intOption } from './options.js';

export const DEFAULT_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];
export const DEFAULT_DAYS = 365;
/** The CA outlives the server certificates it signs by this factor. */
export const CA_DAYS_FACTOR = 10;
/** Longest --days: the CA then lasts a century, well inside what X.509 dates can say. */
export const MAX_DAYS = 3650;
/** notBefore lies this far back, so that a client whose clock is a little behind accepts the certificate. */
export const BACKDATE_MS = 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TrialCertificateOptions {
  /** DNS names and IP addresses the server certificate is for (default: localhost, 127.0.0.1, ::1). */
  hosts?: readonly string[];
  /** Validity of the server certificate in days (default 365); the CA's is 10 times as long. */
  days?: number;
  /** The time the certificates are made at (default: now). */
  now?: Date;
}

export interface TrialCertificates {
  /** PEM: the CA certificate. */
  caCert: string;
  /** PEM (PKCS#8): the CA's private key. */
  caKey: string;
  /** PEM: the server certificate, signed by the CA. */
  serverCert: string;
  /** PEM (PKCS#8): the server's private key. */
  serverKey: string;
  /** The subjectAltName entries of the server certificate, in order. */
  names: { type: 'dns' | 'ip'; value: string }[];
}

/**
 * One --host as a subjectAltName entry: an IPv4 or IPv6 address (brackets allowed: `[::1]`) or a DNS
 * name (lower-cased; a leading `*.` wildcard allowed). Throws on anything else.
 */
export function parseHost(host: string): { type: 'dns' | 'ip'; value: string } {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare)) {
    if (bare.includes('%')) throw new Error(`'${host}': an IPv6 zone (%…) cannot go in a certificate`);
    return { type: 'ip', value: bare };
  }
  if (bare !== host) throw new Error(`'${host}' is not an IPv6 address`);
  const name = host.toLowerCase().replace(/\.$/, '');
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
  const labels = name.split('.');
  const ok =
    name.length > 0 &&
    name.length <= 253 &&
    labels.every((l, i) => label.test(l) || (i === 0 && l === '*' && labels.length > 2));
  if (!ok) throw new Error(`'${host}' is neither an IP address nor a DNS name`);
  if (labels.every((l) => /^[0-9]+$/.test(l)) || /^[0-9.]+$/.test(name))
    throw new Error(`'${host}' looks like an IPv4 address but is not one`);
  return { type: 'dns', value: name };
}

/** A CA and a server certificate signed by it, as PEM strings; nothing is written. */
export async function makeTrialCertificates(
  options: TrialCertificateOptions = {},
): Promise<TrialCertificates> {
  const hosts = options.hosts && options.hosts.length > 0 ? options.hosts : DEFAULT_HOSTS;
  const days = options.days ?? DEFAULT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS)
    throw new RangeError(`days must be an integer in 1..${MAX_DAYS}, got ${days}`);
  const names: TrialCertificates['names'] = [];
  for (const h of hosts) {
    const n = parseHost(h);
    if (!names.some((m) => m.type === n.type && m.value === n.value)) names.push(n);
  }
  // The library needs a Reflect metadata polyfill loaded before it; loaded here, on first use only,
  // so that the other commands neither pay for it nor see the global it adds.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const crypto = webcrypto as unknown as Crypto;
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const caKeys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const serverKeys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;

  // A name of its own for each CA, so that two trial CAs are never mistaken for one another.
  const caName = `CN=edgefl trial CA ${randomBytes(4).toString('hex')}, O=edgefl`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: caName,
      keys: caKeys,
      signingAlgorithm: alg,
      notBefore,
      notAfter: new Date(now.getTime() + CA_DAYS_FACTOR * days * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const server = await x509.X509CertificateGenerator.create(
    {
      subject: `CN=${names[0].value}, O=edgefl`,
      issuer: ca.subject,
      publicKey: serverKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: alg,
      notBefore,
      notAfter: new Date(now.getTime() + days * DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = (key: CryptoKey) =>
    KeyObject.from(key as webcrypto.CryptoKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return {
    caCert: ca.toString('pem').trimEnd() + '\n',
    caKey: pkcs8(caKeys.privateKey),
    serverCert: server.toString('pem').trimEnd() + '\n',
    serverKey: pkcs8(serverKeys.privateKey),
    names,
  };
}

export const CERT_FILES = {
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
} as const;

/**
 * Writes the four files into `dir` (made if missing): keys with mode 0600, certificates 0644. Refuses,
 * before writing anything, when any of them exists; a failure part-way removes what it wrote.
 */
export async function writeTrialCertificates(dir: string, certs: TrialCertificates): Promise<string[]> {
  const files = [
    { path: join(dir, CERT_FILES.caCert), data: certs.caCert, mode: 0o644 },
    { path: join(dir, CERT_FILES.caKey), data: certs.caKey, mode: 0o600 },
    { path: join(dir, CERT_FILES.serverCert), data: certs.serverCert, mode: 0o644 },
    { path: join(dir, CERT_FILES.serverKey), data: certs.serverKey, mode: 0o600 },
  ];
  const existing: string[] = [];
  for (const f of files) {
    // lstat: a dangling symbolic link is there too, and writing would follow it.
    const there = await lstat(f.path).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return false;
        if (e.code === 'ENOTDIR') throw new Error(`--out ${dir}: is not a folder`);
        throw e;
      },
    );
    if (there) existing.push(f.path);
  }
  if (existing.length > 0)
    throw new Error(
      `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; nothing was written (remove ${existing.length === 1 ? 'it' : 'them'} or choose another --out)`,
    );
  await mkdir(dir, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'EEXIST' || e.code === 'ENOTDIR' ? new Error(`--out ${dir}: is not a folder`) : e;
  });
  const written: string[] = [];
  try {
    for (const f of files) {
      // 'wx': fails rather than replace a file that appeared since the check.
      const fh = await open(f.path, 'wx', f.mode);
      written.push(f.path);
      try {
        await fh.chmod(f.mode); // exactly this mode, whatever the umask
        await fh.writeFile(f.data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  } catch (e) {
    for (const p of written) await rm(p, { force: true }).catch(() => {});
    throw e;
  }
  return files.map((f) => f.path);
}

/** A path as it can be pasted into a POSIX shell. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function hostsOption(value: string, previous: string[] | undefined): string[] {
  try {
    parseHost(value);
  } catch (e) {
    throw new InvalidArgumentError(`--host ${(e as Error).message}`);
  }
  return [...(previous ?? []), value];
}

function daysOption(value: string): number {
  const n = intOption('--days', 1)(value);
  if (n > MAX_DAYS) throw new InvalidArgumentError(`--days must be at most ${MAX_DAYS}, got '${value}'`);
  return n;
}

interface CertsFlags {
  out: string;
  host?: string[];
  days: number;
}

export function registerCertsCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('certs')
    .description(
      'make a self-signed CA and a server certificate signed by it, to try the federation server with TLS',
    )
    .requiredOption(
      '--out <dir>',
      'folder for ca.pem, ca-key.pem, server.pem, server-key.pem (never overwritten)',
    )
    .option(
      '--host <name>',
      `a DNS name or IP address clients will connect to; repeat for more (default: ${DEFAULT_HOSTS.join(', ')})`,
      hostsOption,
    )
    .option(
      '--days <n>',
      `validity of the server certificate in days (the CA's: ${CA_DAYS_FACTOR} times as long)`,
      daysOption,
      DEFAULT_DAYS,
    )
    .action(async (flags: CertsFlags) => {
      const now = new Date();
      const certs = await makeTrialCertificates({ hosts: flags.host, days: flags.days, now });
      const [caCert, caKey, serverCert, serverKey] = await writeTrialCertificates(flags.out, certs);
      const until = (d: number) => new Date(now.getTime() + d * DAY_MS).toISOString().slice(0, 10);
      out(
        `wrote ${caCert} (CA certificate, valid until ${until(CA_DAYS_FACTOR * flags.days)}): clients trust it`,
      );
      out(
        `wrote ${caKey} (CA private key, mode 0600): keep it private; needed only to sign more certificates`,
      );
      out(
        `wrote ${serverCert} (server certificate, valid until ${until(flags.days)}) for ${certs.names.map((n) => n.value).join(', ')}`,
      );
      out(`wrote ${serverKey} (server private key, mode 0600)`);
      const first = certs.names.find((n) => !n.value.startsWith('*.')) ?? certs.names[0];
      const host =
        first.type === 'ip' && first.value.includes(':')
          ? `[${first.value}]`
          : first.value.replace(/^\*\./, 'HOST.');
      out('start the server with:');
      out(
        `  npx edgefl server --config federation.json --cert ${shellWord(serverCert)} --key ${shellWord(serverKey)} --host 0.0.0.0`,
      );
      out(`and connect clients (the server address must be one of the names above) with:`);
      out(`  npx edgefl client --server wss://${host}:8443/federation --ca ${shellWord(caCert)} ...`);
    });
}
