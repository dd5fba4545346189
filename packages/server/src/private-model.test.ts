import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { builtInModel, exportInferenceModel, initialParameters } from 'edgefl';
import { nodePlatform } from '@edgefl/node';
import {
  connectClient,
  generateIdentity,
  modelAuthorization,
  modelRequestBytes,
  toBase64Url,
  type WebSocketLike,
} from '@edgefl/net';
import { createServer, serverSettingsOf } from './index.js';
import { blobs } from '../../../test/helpers/synthetic.js';

test(
  'a private model is served only to enrolled, unrevoked devices that sign a fresh request',
  { timeout: 120_000 },
  async () => {
    const settings = serverSettingsOf({
      rounds: 1,
      fraction: 1,
      minAvailableClients: 2,
      localEpochs: 1,
      model: 'logreg',
      privateModel: true,
    });
    const spec = builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 });
    const server = await createServer({
      settings,
      spec,
      stateDir: await mkdtemp(join(tmpdir(), 'edgefl-private-')),
      tokens: ['secret'],
    });
    const platform = nodePlatform();
    const data = blobs(20, 4, 3);
    const identities = { c1: generateIdentity().identity, c2: generateIdentity().identity };
    const clients = Object.entries(identities).map(([id, identity]) =>
      connectClient({
        url: server.url,
        clientId: id,
        identity,
        token: 'secret',
        data,
        runtime: platform.runtime,
        webSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
      }),
    );
    const result = await server.run();
    await Promise.all(clients.map((c) => c.done));

    const url = server.url.replace(/^ws/, 'http').replace(/\/federation$/, '/model.onnx');
    const get = async (authorization?: string) => {
      const res = await fetch(url, authorization ? { headers: { authorization } } : {});
      return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
    };
    const text = (b: Uint8Array) => new TextDecoder().decode(b);

    // An enrolled device gets the final global model, byte for byte what the run produced.
    const ok = await get(modelAuthorization('c1', identities.c1));
    assert.equal(ok.status, 200);
    const expected = exportInferenceModel(spec, initialParameters(spec).withValues(result.global));
    assert.deepEqual(ok.body, expected);

    // Everyone else is refused with the reason.
    const refusals: [string | undefined, number, RegExp][] = [
      [undefined, 401, /the model is private: send 'Authorization: edgefl-device/],
      ['Bearer secret', 401, /send 'Authorization: edgefl-device/],
      [
        modelAuthorization('stranger', generateIdentity().identity),
        401,
        /'stranger' is not an enrolled device/,
      ],
      // c2's name with another key: the signature does not verify with c2's enrolled key.
      [
        modelAuthorization('c2', generateIdentity().identity),
        401,
        /does not verify with the key 'c2' enrolled/,
      ],
      // A request signed ten minutes ago (a replayed header) is stale.
      [
        modelAuthorization('c1', identities.c1, Date.now() - 600_000),
        401,
        /more than 300 s from the server's/,
      ],
    ];
    for (const [authorization, status, message] of refusals) {
      const r = await get(authorization);
      assert.equal(r.status, status, `${authorization}: ${text(r.body)}`);
      assert.match(text(r.body), message);
    }
    // A signature over another time than the one the header claims.
    const t = Math.floor(Date.now() / 1000);
    const forged = `edgefl-device c1 ${t} ${toBase64Url(identities.c1.sign(modelRequestBytes('c1', t - 1)))}`;
    assert.equal((await get(forged)).status, 401);

    // A revoked device loses access on its next request.
    assert.equal(await server.revoke('c2'), true);
    const revoked = await get(modelAuthorization('c2', identities.c2));
    assert.equal(revoked.status, 403);
    assert.match(text(revoked.body), /'c2' was revoked/);
    await server.close();
  },
);

test('a public model (the default) is served to anyone', { timeout: 60_000 }, async () => {
  const spec = builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 });
  const server = await createServer({
    settings: serverSettingsOf({ rounds: 1, model: 'logreg' }),
    spec,
    stateDir: await mkdtemp(join(tmpdir(), 'edgefl-public-')),
    tokens: ['secret'],
  });
  const res = await fetch(server.url.replace(/^ws/, 'http').replace(/\/federation$/, '/model.onnx'));
  assert.equal(res.status, 200);
  assert.deepEqual(
    new Uint8Array(await res.arrayBuffer()),
    exportInferenceModel(spec, initialParameters(spec)),
  );
  await server.close();
});
