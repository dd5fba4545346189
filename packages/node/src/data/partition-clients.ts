/**
 * How a federation's clients get their share of one dataset: the partition scheme, then (with
 * federated evaluation) each client's held-out test share, both drawn from one seeded stream.
 *
 * A simulation and a networked run that gives each device a folder written by `edgefl partition`
 * must hand every client the same examples for the same seed, so both take their shares from this
 * one function; the order of the random draws below is what makes them agree.
 */
import { classLabels, holdOutPerClient, parsePartition, Rng, type Dataset } from 'edgefl';

export interface ClientPartitionOptions {
  /** Number of clients, an integer >= 1 and at most the number of examples. */
  clients: number;
  /** A partition scheme as parsePartition reads it: iid, shards:S, dirichlet:A, quantity:A, lognormal:S. */
  partition: string;
  seed: number;
  /** Share of each client's examples held out as its own test data, in (0, 1). */
  testFraction?: number;
}

export interface ClientPartition {
  /** The scheme as parsed, normalized (e.g. 'shards:2'). */
  spec: string;
  /** Each client's whole share, as indices into the dataset (train and held-out test together). */
  parts: Uint32Array[];
  /** What each client trains on: its share less the held-out test examples (`parts` without testFraction). */
  train: Uint32Array[];
  /** Each client's held-out test examples; only with testFraction. */
  test?: Uint32Array[];
  /** One class index per example, when the scheme reads labels (shards, dirichlet); else undefined. */
  labels?: Int32Array;
}

/**
 * Splits `dataset` among `clients` clients. Throws, naming the value, on a client count that is not
 * an integer in [1, examples], a bad scheme or a test fraction outside (0, 1).
 */
export function partitionClients(dataset: Dataset, o: ClientPartitionOptions): ClientPartition {
  if (!Number.isInteger(o.clients) || o.clients < 1)
    throw new RangeError(`clients must be an integer >= 1, got ${o.clients}`);
  if (o.clients > dataset.length)
    throw new RangeError(
      `${o.clients} clients but only ${dataset.length} examples: every client needs at least one`,
    );
  if (o.testFraction !== undefined && !(o.testFraction > 0 && o.testFraction < 1))
    throw new RangeError(`test fraction must be in (0, 1), got ${o.testFraction}`);
  const partitioner = parsePartition(o.partition);
  // One stream, forked once for the partition and once for the hold-out, in this order: a second
  // fork taken or not does not change the first, so runs with and without hold-out split alike.
  const rng = new Rng(o.seed);
  const labels = partitioner.needs === 'labels' ? classLabels(dataset) : undefined;
  const parts = partitioner({ length: dataset.length, labels }, o.clients, rng.fork());
  const splits =
    o.testFraction === undefined ? undefined : holdOutPerClient(parts, o.testFraction, rng.fork());
  return { spec: partitioner.spec, parts, train: splits?.train ?? parts, test: splits?.test, labels };
}
