/**
 * `edgefl certs` makes a CA and a server certificate that independent code accepts: Node's own X.509
 * parser reads the names, dates and signatures the command promises, and Node's TLS stack completes a
 * handshake with a client that trusts only the CA, for the names in the certificate and no others.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request, createServer } from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { makeTrialCertificates, parseHost, registerCertsCommand, type TrialCertificates } from './certs.js';
import { runCommand } from '../../../test/helpers/cli.js';

const made: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-certs-'));
  made.push(dir);
  return dir;
};
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const DAY = 24 * 3600 * 1000;
const HOUR = 3600 * 1000;

/** X.509 dates have whole seconds: equal within a few seconds. */
function assertNear(got: string, want: number, what: string): void {
  const t = new Date(got).getTime();
  assert.ok(Number.isFinite(t), `${what}: '${got}' is a date`);
  assert.ok(
    Math.abs(t - want) < 5000,
    `${what}: ${new Date(t).toISOString()}, want ${new Date(want).toISOString()}`,
  );
}

function parsed(c: TrialCertificates) {
  return { ca: new X509Certificate(c.caCert), server: new X509Certificate(c.serverCert) };
}

test('the default certificates: a CA, and a server certificate it signed for localhost, 127.0.0.1 and ::1', async () => {
  const now = Date.now();
  const c = await makeTrialCertificates({});
  const { ca, server } = parsed(c);

  assert.match(ca.subject, /^CN=edgefl trial CA [0-9a-f]{8}\nO=edgefl$/);
  assert.equal(ca.issuer, ca.subject, 'the CA is self-signed');
  assert.equal(ca.ca, true, 'the CA certificate is a CA');
  assert.equal(server.ca, false, 'the server certificate is not a CA');
  assert.equal(server.subject, 'CN=localhost\nO=edgefl');
  assert.equal(server.issuer, ca.subject);
  assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage: TLS server only');

  // Signatures.
  assert.equal(ca.verify(ca.publicKey), true, 'the CA signed itself');
  assert.equal(server.verify(ca.publicKey), true, 'the CA signed the server certificate');
  assert.equal(server.verify(server.publicKey), false, 'the server certificate is not self-signed');
  assert.equal(server.checkIssued(ca), true, 'server issued by ca');
  assert.equal(ca.checkIssued(ca), true, 'ca issued by itself');
  assert.equal(ca.checkIssued(server), false, 'ca not issued by server');

  // Validity: the server certificate 365 days, the CA 10 times that, both from an hour ago.
  assertNear(server.validFrom, now - HOUR, 'server notBefore');
  assertNear(server.validTo, now + 365 * DAY, 'server notAfter');
  assertNear(ca.validFrom, now - HOUR, 'CA notBefore');
  assertNear(ca.validTo, now + 3650 * DAY, 'CA notAfter');

  // Keys: P-256, each the private half of its certificate's public key.
  const caKey = createPrivateKey(c.caKey);
  const serverKey = createPrivateKey(c.serverKey);
  for (const k of [caKey, serverKey]) {
    assert.equal(k.asymmetricKeyType, 'ec');
    assert.equal(k.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  }
  assert.match(c.serverKey, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.equal(server.checkPrivateKey(serverKey), true, 'server key matches server certificate');
  assert.equal(ca.checkPrivateKey(caKey), true, 'CA key matches CA certificate');
  assert.equal(server.checkPrivateKey(caKey), false, 'the CA key is not the server key');
  assert.equal(ca.checkPrivateKey(serverKey), false, 'the server key is not the CA key');
});

test('each --host goes in as a DNS name or an IP address, and --days sets the validity', async () => {
  const now = Date.now();
  const c = await makeTrialCertificates({
    hosts: ['FL.Example.org', '10.1.2.3', '[fd00::5]', 'node-1.lan', '10.1.2.3'],
    days: 30,
  });
  const { ca, server } = parsed(c);
  assert.equal(
    server.subjectAltName,
    'DNS:fl.example.org, IP Address:10.1.2.3, IP Address:FD00:0:0:0:0:0:0:5, DNS:node-1.lan',
  );
  assert.equal(server.subject, 'CN=fl.example.org\nO=edgefl');
  // Node's own name matching: an address matches only as an IP entry, a name only as a DNS entry.
  assert.equal(server.checkIP('10.1.2.3'), '10.1.2.3');
  assert.equal(server.checkIP('fd00::5'), 'fd00::5');
  assert.equal(server.checkHost('10.1.2.3'), undefined, 'an address is not a DNS entry');
  assert.equal(server.checkHost('fl.example.org'), 'fl.example.org');
  assert.equal(server.checkHost('localhost'), undefined, 'the defaults are not added to given hosts');
  assert.equal(server.checkIP('127.0.0.1'), undefined);
  assertNear(server.validTo, now + 30 * DAY, 'server notAfter');
  assertNear(ca.validTo, now + 300 * DAY, 'CA notAfter');
});

test('what is neither an address nor a DNS name, and days out of range, are refused', async () => {
  assert.deepEqual(parseHost('::1'), { type: 'ip', value: '::1' });
  assert.deepEqual(parseHost('[::1]'), { type: 'ip', value: '::1' });
  assert.deepEqual(parseHost('127.0.0.1'), { type: 'ip', value: '127.0.0.1' });
  assert.deepEqual(parseHost('Server.Local.'), { type: 'dns', value: 'server.local' });
  assert.deepEqual(parseHost('*.fl.example'), { type: 'dns', value: '*.fl.example' });
  for (const bad of [
    '',
    'under_score',
    '-lead.example',
    'trail-.example',
    'a..b',
    '999.1.1.1',
    '10.0.0',
    '[host]',
    'a b',
    'fe80::1%eth0',
    '*.com',
  ])
    assert.throws(
      () => parseHost(bad),
      /neither an IP address nor a DNS name|looks like an IPv4|not an IPv6|zone/,
      `'${bad}'`,
    );
  await assert.rejects(makeTrialCertificates({ hosts: ['no/slash'] }), /no\/slash/);
  await assert.rejects(makeTrialCertificates({ days: 0 }), /days must be an integer in 1\.\.3650/);
  await assert.rejects(makeTrialCertificates({ days: 3651 }), /days must be an integer in 1\.\.3650/);
});

// --- TLS over loopback ----------------------------------------------------------------------------

/** An https server on 127.0.0.1 (or `host`) with the server certificate; answers 'ok'. */
async function serve(c: TrialCertificates, host = '127.0.0.1') {
  const server = createServer({ cert: c.serverCert, key: c.serverKey }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(r)) };
}

/** Resolves every name to 127.0.0.1, so that `localhost` is the name the client checks, not the route. */
const toLoopback: LookupFunction = (_hostname, options, callback) => {
  if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
};

/** GET https://host:port/ with node:https; the body, or the error that refused it. */
function get(host: string, port: number, ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', ca, agent: false, lookup: toLoopback }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

/** A node:tls handshake with `host` (an address) and, for a name, SNI and identity check on `servername`. */
function handshake(host: string, port: number, o: { ca?: string; servername?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ca: o.ca, servername: o.servername }, () => {
      const subject = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(String(subject));
    });
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
  });
}

const UNTRUSTED =
  /^(UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/;

test('TLS: a client that trusts only ca.pem connects to localhost and 127.0.0.1; others are refused', async () => {
  const c = await makeTrialCertificates({});
  const other = await makeTrialCertificates({});
  const srv = await serve(c);
  try {
    assert.equal(await get('localhost', srv.port, c.caCert), 'ok', 'https://localhost with --ca');
    assert.equal(await get('127.0.0.1', srv.port, c.caCert), 'ok', 'https://127.0.0.1 with --ca');
    assert.equal(
      await handshake('127.0.0.1', srv.port, { ca: c.caCert, servername: 'localhost' }),
      'localhost',
    );
    assert.equal(await handshake('127.0.0.1', srv.port, { ca: c.caCert }), 'localhost');

    // The default trust store does not know the trial CA.
    await assert.rejects(get('localhost', srv.port), (e: NodeJS.ErrnoException) =>
      UNTRUSTED.test(e.code ?? ''),
    );
    await assert.rejects(handshake('127.0.0.1', srv.port, {}), (e: NodeJS.ErrnoException) =>
      UNTRUSTED.test(e.code ?? ''),
    );
    // Nor does another trial CA.
    await assert.rejects(get('localhost', srv.port, other.caCert), (e: NodeJS.ErrnoException) =>
      UNTRUSTED.test(e.code ?? ''),
    );
    // A name not in the certificate, with the right CA.
    await assert.rejects(
      get('fl.example.org', srv.port, c.caCert),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    await assert.rejects(
      handshake('127.0.0.1', srv.port, { ca: c.caCert, servername: 'localhost.example' }),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    );
  } finally {
    await srv.close();
  }
});

test('TLS: an address is accepted only when it is in the certificate', async () => {
  const onlyName = await makeTrialCertificates({ hosts: ['localhost'] });
  const srv = await serve(onlyName);
  try {
    assert.equal(
      await handshake('127.0.0.1', srv.port, { ca: onlyName.caCert, servername: 'localhost' }),
      'localhost',
    );
    await assert.rejects(
      handshake('127.0.0.1', srv.port, { ca: onlyName.caCert }),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    );
  } finally {
    await srv.close();
  }
});

test('TLS: ::1 is in the default certificate', async (t) => {
  const c = await makeTrialCertificates({});
  let srv;
  try {
    srv = await serve(c, '::1');
  } catch (e) {
    t.skip(`no IPv6 loopback here: ${(e as Error).message}`);
    return;
  }
  try {
    assert.equal(await handshake('::1', srv.port, { ca: c.caCert }), 'localhost');
  } finally {
    await srv.close();
  }
});

// --- the command ----------------------------------------------------------------------------------

const FILES = ['ca-key.pem', 'ca.pem', 'server-key.pem', 'server.pem'];
const mode = (p: string) => lstatSync(p).mode & 0o777;

test('edgefl certs writes the four files, keys with mode 0600, and says how to use them', async () => {
  const dir = join(fresh(), 'tls'); // made by the command
  const lines = await runCommand(registerCertsCommand, [
    'certs',
    '--out',
    dir,
    '--host',
    'fl.example.org',
    '--host',
    '127.0.0.1',
    '--days',
    '7',
  ]);
  assert.deepEqual(readdirSync(dir).sort(), FILES);
  assert.equal(mode(join(dir, 'ca-key.pem')), 0o600);
  assert.equal(mode(join(dir, 'server-key.pem')), 0o600);
  assert.equal(mode(join(dir, 'ca.pem')), 0o644);
  assert.equal(mode(join(dir, 'server.pem')), 0o644);

  const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
  const server = new X509Certificate(readFileSync(join(dir, 'server.pem')));
  assert.equal(server.subjectAltName, 'DNS:fl.example.org, IP Address:127.0.0.1');
  assert.equal(server.verify(ca.publicKey), true);
  assert.equal(server.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'server-key.pem')))), true);
  assert.equal(ca.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'ca-key.pem')))), true);
  assertNear(server.validTo, Date.now() + 7 * DAY, 'server notAfter');
  assertNear(ca.validTo, Date.now() + 70 * DAY, 'CA notAfter');

  const text = lines.join('\n');
  for (const f of FILES) assert.ok(text.includes(`wrote ${join(dir, f)}`), `names ${f}:\n${text}`);
  assert.ok(
    lines.includes(
      `  npx edgefl server --config federation.json --cert ${join(dir, 'server.pem')} --key ${join(dir, 'server-key.pem')} --host 0.0.0.0`,
    ),
    text,
  );
  assert.ok(
    lines.includes(
      `  npx edgefl client --server wss://fl.example.org:8443/federation --ca ${join(dir, 'ca.pem')} ...`,
    ),
    text,
  );
});

test('edgefl certs with no --host makes the default names', async () => {
  const dir = fresh();
  const lines = await runCommand(registerCertsCommand, ['certs', '--out', dir]);
  const server = new X509Certificate(readFileSync(join(dir, 'server.pem')));
  assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  assertNear(server.validTo, Date.now() + 365 * DAY, 'server notAfter');
  assert.ok(
    lines.some((l) => l.includes('wss://localhost:8443/federation')),
    lines.join('\n'),
  );
});

test('edgefl certs refuses to overwrite, naming the file, and then writes nothing', async () => {
  for (const present of FILES) {
    const dir = fresh();
    writeFileSync(join(dir, present), 'keep me');
    await assert.rejects(
      runCommand(registerCertsCommand, ['certs', '--out', dir]),
      (e: Error) =>
        e.message.includes(join(dir, present)) && /already exists; nothing was written/.test(e.message),
    );
    assert.deepEqual(readdirSync(dir), [present], `only ${present} is there`);
    assert.equal(readFileSync(join(dir, present), 'utf8'), 'keep me');
  }
  // A dangling symbolic link counts: writing would follow it.
  const dir = fresh();
  symlinkSync(join(dir, 'nowhere'), join(dir, 'ca-key.pem'));
  await assert.rejects(
    runCommand(registerCertsCommand, ['certs', '--out', dir]),
    /ca-key\.pem already exists/,
  );
  assert.equal(existsSync(join(dir, 'nowhere')), false);
  assert.deepEqual(readdirSync(dir), ['ca-key.pem']);
});

test('edgefl certs refuses a bad --host or --days before writing anything', async () => {
  const dir = join(fresh(), 'never');
  await assert.rejects(
    runCommand(registerCertsCommand, ['certs', '--out', dir, '--host', 'bad_name']),
    /--host 'bad_name' is neither an IP address nor a DNS name/,
  );
  await assert.rejects(runCommand(registerCertsCommand, ['certs', '--out', dir, '--days', '0']), /--days/);
  await assert.rejects(
    runCommand(registerCertsCommand, ['certs', '--out', dir, '--days', '4000']),
    /at most 3650/,
  );
  assert.equal(existsSync(dir), false);
});
