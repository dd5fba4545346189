import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import {
  ArrayDataset,
  OnnxTeacher,
  Trainer,
  builtInModel,
  evaluateClient,
  exportInferenceModel,
  initialParameters,
  sgd,
} from 'edgefl';
import { nodePlatform } from '@edgefl/node';
import { connectClient, generateIdentity, type WebSocketLike } from '@edgefl/net';
import { createServer, serverSettingsOf } from './index.js';
import { blobs } from '../../../test/helpers/synthetic.js';

test('smoke: a server and two in-process clients train 2 rounds', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgefl-server-'));
  const settings = serverSettingsOf({
    rounds: 2,
    fraction: 1,
    minAvailableClients: 2,
    localEpochs: 1,
    model: 'logreg',
  });
  const spec = builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 });
  const server = await createServer({
    settings,
    spec,
    stateDir: dir,
    tokens: ['secret'],
    progress: (l) => console.log(l),
  });
  const platform = nodePlatform();
  const data = (n: number) =>
    new ArrayDataset({
      features: Float32Array.from({ length: n * 4 }, (_, i) => Math.sin(i)),
      labels: Int32Array.from({ length: n }, (_, i) => i % 3),
      featureShape: [4],
      labelShape: [],
      classes: ['a', 'b', 'c'],
    });
  const clients = ['c1', 'c2'].map((id) =>
    connectClient({
      url: server.url,
      clientId: id,
      identity: generateIdentity().identity,
      token: 'secret',
      data: data(30),
      runtime: platform.runtime,
      webSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
      onEvent: (e) => console.log(id, JSON.stringify(e)),
    }),
  );
  const result = await server.run();
  assert.equal(result.history.length, 2);
  assert.ok(
    result.history.every((r) => r.aggregated === 2),
    JSON.stringify(result.history.map((r) => r.problems)),
  );
  const done = await Promise.all(clients.map((c) => c.done));
  assert.ok(done.every((d) => d.completed && d.fits === 2));
  await server.close();
});

test(
  'federated evaluation over the network: each client scores the new model on its own held-out data',
  { timeout: 120_000 },
  async () => {
    const settings = serverSettingsOf({
      rounds: 1,
      fraction: 1,
      minAvailableClients: 2,
      localEpochs: 1,
      model: 'logreg',
      federatedEvaluation: { fraction: 1 },
    });
    const spec = builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 });
    const server = await createServer({
      settings,
      spec,
      stateDir: await mkdtemp(join(tmpdir(), 'edgefl-server-fedeval-')),
      tokens: ['secret'],
    });
    const platform = nodePlatform();
    const tests = { c1: blobs(12, 4, 3, 5), c2: blobs(30, 4, 3, 11) };
    const clients = (['c1', 'c2'] as const).map((id) =>
      connectClient({
        url: server.url,
        clientId: id,
        identity: generateIdentity().identity,
        token: 'secret',
        data: blobs(30, 4, 3),
        test: tests[id],
        runtime: platform.runtime,
        webSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
      }),
    );
    const result = await server.run();
    await Promise.all(clients.map((c) => c.done));
    await server.close();
    const fe = result.reports[0].federatedEvaluation;
    assert.ok(fe, 'the round was evaluated by the clients');
    assert.equal(fe.clients, 2);
    assert.equal(fe.examples, 42);
    // The reference: the same model scored here on each client's data, weighted by its examples.
    const trainer = await Trainer.create(spec, {
      loss: 'softmaxCrossEntropy',
      optimizer: sgd({ lr: 0.1 }),
      runtime: platform.runtime,
    });
    const own = await Promise.all(Object.values(tests).map((t) => evaluateClient(trainer, t, result.global)));
    await trainer.dispose();
    const expected = own.reduce((s, r) => s + r.loss * r.numExamples, 0) / 42;
    assert.ok(Math.abs(fe.loss - expected) < 1e-5, `clients' loss ${fe.loss}, here ${expected}`);
    assert.equal(result.history[0].clientsEvaluated, 2);
  },
);

test('distillation over the network: each client trains on the teacher it holds; a client without one fails its task, saying why', async () => {
  const settings = serverSettingsOf({
    rounds: 1,
    fraction: 1,
    minAvailableClients: 3,
    localEpochs: 1,
    model: 'logreg',
    distillation: { temperature: 2, alpha: 0.8 },
  });
  const spec = builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 });
  const server = await createServer({
    settings,
    spec,
    stateDir: await mkdtemp(join(tmpdir(), 'edgefl-server-distill-')),
    tokens: ['secret'],
  });
  const platform = nodePlatform();
  const teacherSpec = builtInModel('mlp', { inputShape: [4], classes: 3, seed: 2 });
  const teacher = await OnnxTeacher.create(
    exportInferenceModel(teacherSpec, initialParameters(teacherSpec)),
    {
      runtime: platform.runtime,
    },
  );
  const data = new ArrayDataset({
    features: Float32Array.from({ length: 30 * 4 }, (_, i) => Math.sin(i)),
    labels: Int32Array.from({ length: 30 }, (_, i) => i % 3),
    featureShape: [4],
    labelShape: [],
    classes: ['a', 'b', 'c'],
  });
  const clients = ['c1', 'c2', 'c3'].map((id) =>
    connectClient({
      url: server.url,
      clientId: id,
      identity: generateIdentity().identity,
      token: 'secret',
      data,
      runtime: platform.runtime,
      ...(id === 'c3' ? {} : { teacher }),
      webSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as WebSocketLike,
    }),
  );
  const result = await server.run();
  const [round] = result.history;
  assert.equal(round.aggregated, 2, JSON.stringify(round.problems));
  assert.match(JSON.stringify(round.problems), /c3.*holds no teacher/);
  await Promise.all(clients.map((c) => c.done));
  await server.close();
});
