/**
 * A client's CSV file: a header row, one named label column, every other column a number.
 */
import { readFile } from 'node:fs/promises';
import { parse, type Info } from 'csv-parse/sync';
import { ArrayDataset, sortClassNames } from 'edgefl';
import type { ClientData, ClientDataOptions } from './client-data.js';

// Decimal numbers only: Number() would also take '', '0x1f' and 'Infinity', which in a data file are
// mistakes rather than values.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

interface Row {
  record: string[];
  info: Info;
}

export async function loadCsvFile(path: string, o: ClientDataOptions): Promise<ClientData> {
  const fail = (why: string) => new Error(`client data ${path}: ${why}`);
  let rows: Row[];
  try {
    // With `info` each record comes with the line it ends on; the overloads do not type that form.
    rows = parse(await readFile(path, 'utf8'), {
      bom: true,
      skip_empty_lines: true,
      info: true,
      // Any line ending, even mixed within a file: otherwise the first one found is the only one.
      record_delimiter: ['\r\n', '\n', '\r'],
    }) as unknown as Row[];
  } catch (e) {
    throw fail((e as Error).message);
  }
  if (rows.length === 0) throw fail('the file is empty; expected a header row naming the columns');
  const names = rows[0].record.map((name) => name.trim());
  const quoted = names.map((name) => JSON.stringify(name)).join(', ');
  if (o.labelColumn === undefined)
    throw fail(`a CSV file needs labelColumn, the name of its label column (the header has ${quoted})`);
  const label = names.indexOf(o.labelColumn);
  if (label < 0) throw fail(`no label column ${JSON.stringify(o.labelColumn)}; the header has ${quoted}`);
  if (names.indexOf(o.labelColumn, label + 1) >= 0)
    throw fail(`the header names more than one column ${JSON.stringify(o.labelColumn)}`);
  if (names.length < 2) throw fail('no feature columns: every column but the label is a feature');
  const data = rows.slice(1);
  if (data.length === 0) throw fail('a header but no data rows');

  const featureColumns = names.map((_, c) => c).filter((c) => c !== label);
  const width = featureColumns.length;
  const where = (row: number, column: number) =>
    `row ${row + 1} (line ${data[row].info.lines}), column ${JSON.stringify(names[column])}`;
  const features = new Float32Array(data.length * width);
  const n = o.normalize || undefined;
  data.forEach(({ record }, r) => {
    featureColumns.forEach((c, k) => {
      const cell = record[c].trim();
      if (!DECIMAL.test(cell))
        throw fail(
          `${where(r, c)}: ${cell === '' ? 'is empty' : `${JSON.stringify(record[c])} is not a number`}`,
        );
      const x = Number(cell);
      features[r * width + k] = n ? (x * n.scale - n.mean) / n.std : x;
    });
  });

  const raw = data.map(({ record }, r) => {
    const name = record[label].trim();
    if (name === '') throw fail(`${where(r, label)}: the label is empty`);
    return name;
  });
  // Sorted as the core's csvDataset sorts them (numerically when every label is a number), so the
  // same file gives the same class indices whichever reader opens it.
  const classes = o.classes ? [...o.classes] : sortClassNames(raw);
  const index = new Map(classes.map((name, k) => [name, k]));
  if (index.size !== classes.length)
    throw fail(`the classes given name a class twice (${classes.join(', ')})`);
  const labels = new Int32Array(data.length);
  raw.forEach((name, r) => {
    const k = index.get(name);
    if (k === undefined)
      throw fail(
        `${where(r, label)}: label ${JSON.stringify(name)} is not one of the classes given (${classes.join(', ')})`,
      );
    labels[r] = k;
  });
  const train = new ArrayDataset({
    features,
    labels,
    featureShape: [width],
    classes,
    normalization: n ? { ...n } : undefined,
  });
  return { train, classes };
}
