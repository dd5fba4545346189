/**
 * A device whose data is one CSV file (`edgefl client --data readings.csv --label …`): it trains in
 * a real federation and keeps its identity key beside the file (the key that was enrolled).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtInModel } from 'edgefl';
import { createServer, serverSettingsOf } from '@edgefl/server';
import { startEdgefl } from '../helpers/processes.js';

test(
  'a client whose data is a CSV file trains, and keeps its identity key beside the file',
  { timeout: 180_000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'edgefl-csv-client-'));
    const csv = join(work, 'readings.csv');
    const rows = Array.from({ length: 60 }, (_, i) => {
      const x = [Math.sin(i), Math.cos(i), (i % 7) / 7, (i % 3) / 3];
      return `${x.map((v) => v.toFixed(4)).join(',')},${['low', 'mid', 'high'][i % 3]}`;
    });
    writeFileSync(csv, ['a,b,c,d,level', ...rows].join('\n') + '\n');
    const server = await createServer({
      settings: serverSettingsOf({
        rounds: 2,
        fraction: 1,
        minAvailableClients: 1,
        localEpochs: 1,
        model: 'logreg',
      }),
      spec: builtInModel('logreg', { inputShape: [4], classes: 3, seed: 1 }),
      stateDir: join(work, 'state'),
      tokens: ['csv-token'],
    });
    const run = server.run();
    const join1 = (extra: string[] = []) =>
      startEdgefl([
        'client',
        '--server',
        server.url,
        '--data',
        csv,
        '--label',
        'level',
        '--id',
        'sensor-1',
        '--quiet',
        ...extra,
      ]);
    const client = join1(['--token', 'csv-token']);
    assert.equal(await client.exited, 0, client.output());
    assert.match(client.output(), /stopped: the run finished after round 2 \(2 fits\)/);
    const result = await run;
    assert.ok(
      result.history.every((r) => r.aggregated === 1),
      JSON.stringify(result.history),
    );
    await server.close();
    // The key lives beside the CSV (not inside it, which would fail), and is the one enrolled.
    const identityFile = join(work, '.edgefl-identity-sensor-1');
    assert.ok(existsSync(identityFile), client.output());
    const printed = client.output().match(/identity key (\S+?)[;\s]/)?.[1];
    const registry = JSON.parse(readFileSync(join(work, 'state', 'registry.json'), 'utf8')) as {
      clients: { id: string; publicKey: string }[];
    };
    assert.equal(registry.clients.find((c) => c.id === 'sensor-1')?.publicKey, printed);
  },
);
