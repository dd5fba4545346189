/**
 * A federated client's own data, from the path given to it: a folder of MNIST-format IDX files (as
 * `edgefl partition` writes them, or as MNIST and Fashion-MNIST are distributed) or a CSV file.
 */
import { stat } from 'node:fs/promises';
import { type ArrayDataset, type Normalization } from 'edgefl';
import { loadIdxFolder } from './client-idx.js';
import { loadCsvFile } from './client-csv.js';

export interface ClientDataOptions {
  /** The CSV column that holds the labels; required for a CSV file. */
  labelColumn?: string;
  /**
   * How raw values become features, applied as (raw · scale − mean) / std and recorded in the dataset.
   * IDX folders default to MNIST's pixels / 255, CSV files to the values as written; false leaves IDX
   * bytes as they are. Fixed numbers, never the client's own statistics: every client of a federation
   * must feed the model the same way.
   */
  normalize?: Normalization | false;
  /**
   * The federation's class names, when a client's own data may not show them all (a non-IID share
   * holds a few classes): CSV labels are then mapped to their positions in this list and IDX labels
   * checked against it. Default: the digits '0'..'9' for IDX, the labels found for CSV.
   */
  classes?: readonly string[];
}

export interface ClientData {
  train: ArrayDataset;
  /** The client's own test examples, when the folder has test files. */
  test?: ArrayDataset;
  classes: readonly string[];
}

const FORMATS =
  'a folder with train-images-idx3-ubyte and train-labels-idx1-ubyte (optionally .gz, with test-* files beside them) or a .csv file with a header row';

/** Loads the data at `path`; the error of a path it cannot read says which formats it reads. */
export async function loadClientData(path: string, o: ClientDataOptions = {}): Promise<ClientData> {
  let kind;
  try {
    kind = await stat(path);
  } catch (e) {
    throw new Error(`client data ${path}: no such file or folder; expected ${FORMATS}`, { cause: e });
  }
  if (kind.isDirectory()) return loadIdxFolder(path, o, FORMATS);
  if (kind.isFile() && path.toLowerCase().endsWith('.csv')) return loadCsvFile(path, o);
  throw new Error(`client data ${path}: not a format it reads; expected ${FORMATS}`);
}
