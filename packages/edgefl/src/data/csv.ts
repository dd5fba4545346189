/**
 * Tabular data from CSV text: numeric feature columns and one label column.
 *
 * The record syntax follows RFC 4180 (fields separated by the delimiter, records by CRLF or LF, a field in
 * double quotes may hold delimiters, line breaks and doubled quotes `""`), with three tolerances found in
 * real files: LF line ends, a UTF-8 byte order mark, and blank lines (skipped).
 */
import { ArrayDataset, type ArrayDatasetInit } from './dataset.js';

/** One record of a CSV file, with the 1-based line it starts on (for error messages). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * Splits CSV text into records of raw field strings (quotes removed, no trimming, no type conversion).
 * Throws, naming the line, on a quote that opens inside an unquoted field, text after a closing quote,
 * and a quote left open at the end of the text.
 */
export function parseCsvRecords(text: string, delimiter = ','): CsvRecord[] {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r')
    throw new Error(
      `parseCsv: the delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`,
    );
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let quotedAny = false;
    // One iteration per field; the loop ends at the record's line break or the end of the text.
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        quotedAny = true;
        const openLine = line;
        i++;
        for (;;) {
          if (i >= n) throw new Error(`CSV line ${openLine}: a quoted field is never closed`);
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r')
          throw new Error(
            `CSV line ${line}: unexpected ${JSON.stringify(text[i])} after the closing quote of field ${fields.length + 1}`,
          );
      } else {
        const start = i;
        while (i < n && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] === '"')
            throw new Error(
              `CSV line ${line}: a quote inside unquoted field ${fields.length + 1}; quote the whole field and double inner quotes`,
            );
          i++;
        }
        field = text.slice(start, i);
      }
      fields.push(field);
      if (i < n && text[i] === delimiter) {
        i++;
        continue;
      }
      break;
    }
    // The record ends at a line break (CRLF, LF or a lone CR) or at the end of the text.
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    const blank = fields.length === 1 && fields[0] === '' && !quotedAny;
    if (!blank) records.push({ line: startLine, fields });
  }
  return records;
}

export interface CsvDatasetOptions {
  /** The first record names the columns (default true). */
  header?: boolean;
  /**
   * The label column: a name from the header, or a 0-based index (negative counts from the end).
   * Default: the last column.
   */
  labelColumn?: string | number;
  /**
   * 'class' (default): labels are class names, mapped to int32 indices into `classes`.
   * 'number': labels are numbers, stored as float32 (regression).
   */
  labels?: 'class' | 'number';
  /**
   * A fixed class list (e.g. the training file's, so a test file maps classes the same way); an unknown
   * label is then an error. Without it the classes are those found, sorted: numerically when every name is
   * a number ('2' before '10'), otherwise by UTF-16 code units (independent of locale).
   */
  classes?: readonly string[];
  /** Field separator (default ','). */
  delimiter?: string;
}

/** An ArrayDataset read from CSV, remembering which columns its features and label came from. */
export class CsvDataset extends ArrayDataset {
  readonly featureNames: readonly string[];
  readonly labelName: string;
  constructor(init: ArrayDatasetInit & { featureNames: readonly string[]; labelName: string }) {
    super(init);
    this.featureNames = [...init.featureNames];
    this.labelName = init.labelName;
  }
}

// Decimal numbers only: Number() would also accept '', ' ', '0x1f', 'Infinity', which in a data file
// are mistakes rather than values.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses one field as a number; throws naming the line and column when it is missing or not a number. */
function parseNumber(raw: string, line: number, column: string): number {
  const s = raw.trim();
  if (s === '') throw new Error(`CSV line ${line}, column ${column}: missing value`);
  if (!DECIMAL.test(s))
    throw new Error(`CSV line ${line}, column ${column}: ${JSON.stringify(raw)} is not a number`);
  return Number(s);
}

/** Reads CSV text into a dataset of float32 features (every column but the label) and one label per row. */
export function csvDataset(text: string, options: CsvDatasetOptions = {}): CsvDataset {
  const header = options.header ?? true;
  const labelKind = options.labels ?? 'class';
  if (labelKind !== 'class' && labelKind !== 'number')
    throw new Error(`csvDataset: labels must be 'class' or 'number', got ${JSON.stringify(labelKind)}`);
  const records = parseCsvRecords(text, options.delimiter ?? ',');
  if (records.length === 0) throw new Error('csvDataset: the CSV text holds no records');

  const width = records[0].fields.length;
  const names = header ? records[0].fields.map((f) => f.trim()) : records[0].fields.map((_, c) => String(c));
  const rows = header ? records.slice(1) : records;
  if (rows.length === 0) throw new Error('csvDataset: the CSV text holds a header but no data rows');
  if (width < 2)
    throw new Error(`csvDataset: need at least two columns (features and a label), got ${width}`);
  for (const r of rows)
    if (r.fields.length !== width)
      throw new Error(
        `CSV line ${r.line}: expected ${width} fields like the first record, got ${r.fields.length}`,
      );

  const labelIndex = resolveLabelColumn(options.labelColumn, names, header);
  const describe = (c: number) => (header ? `${c + 1} (${JSON.stringify(names[c])})` : `${c + 1}`);
  const featureColumns = names.map((_, c) => c).filter((c) => c !== labelIndex);
  const numFeatures = featureColumns.length;

  const features = new Float32Array(rows.length * numFeatures);
  rows.forEach((r, i) => {
    for (let k = 0; k < numFeatures; k++) {
      const c = featureColumns[k];
      features[i * numFeatures + k] = parseNumber(r.fields[c], r.line, describe(c));
    }
  });

  const common = {
    features,
    featureShape: [numFeatures],
    labelShape: [],
    featureNames: featureColumns.map((c) => names[c]),
    labelName: names[labelIndex],
  };
  if (labelKind === 'number') {
    const labels = new Float32Array(rows.length);
    rows.forEach((r, i) => (labels[i] = parseNumber(r.fields[labelIndex], r.line, describe(labelIndex))));
    return new CsvDataset({ ...common, labels });
  }

  const rawLabels = rows.map((r) => {
    const name = r.fields[labelIndex].trim();
    if (name === '') throw new Error(`CSV line ${r.line}, column ${describe(labelIndex)}: missing label`);
    return name;
  });
  const classes = options.classes ? [...options.classes] : sortClassNames(new Set(rawLabels));
  const indexOf = new Map<string, number>();
  classes.forEach((name, k) => {
    if (indexOf.has(name))
      throw new Error(`csvDataset: class ${JSON.stringify(name)} appears twice in options.classes`);
    indexOf.set(name, k);
  });
  const labels = new Int32Array(rows.length);
  rawLabels.forEach((name, i) => {
    const k = indexOf.get(name);
    if (k === undefined)
      throw new Error(
        `CSV line ${rows[i].line}, column ${describe(labelIndex)}: label ${JSON.stringify(name)} is not one of the ` +
          `given classes [${classes.map((c) => JSON.stringify(c)).join(', ')}]`,
      );
    labels[i] = k;
  });
  return new CsvDataset({ ...common, labels, classes });
}

function resolveLabelColumn(spec: string | number | undefined, names: string[], header: boolean): number {
  const width = names.length;
  if (spec === undefined) return width - 1;
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec >= width || spec < -width)
      throw new Error(`csvDataset: labelColumn ${spec} is not a column index in [${-width}, ${width})`);
    return spec < 0 ? width + spec : spec;
  }
  if (!header)
    throw new Error(`csvDataset: labelColumn ${JSON.stringify(spec)} is a name, but header is false`);
  const found = names.indexOf(spec);
  if (found < 0)
    throw new Error(
      `csvDataset: no column named ${JSON.stringify(spec)}; the header has ${names.map((s) => JSON.stringify(s)).join(', ')}`,
    );
  if (names.indexOf(spec, found + 1) >= 0)
    throw new Error(`csvDataset: the header names more than one column ${JSON.stringify(spec)}`);
  return found;
}

/** Numeric names in numeric order, anything else by code units: the same result on every machine. */
export function sortClassNames(names: Iterable<string>): string[] {
  const list = [...new Set(names)];
  if (list.every((s) => DECIMAL.test(s)))
    return list.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  return list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
