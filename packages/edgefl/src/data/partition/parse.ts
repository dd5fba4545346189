/**
 * The command-line form of a partition scheme:
 *
 *   iid               shuffled, near-equal sizes
 *   shards:S          McMahan et al.'s pathological split, S shards per client (shards:2 in the paper)
 *   dirichlet:A       label skew, per-class proportions ~ Dir(A); A = 0.1 very skewed, 100 near IID
 *   quantity:A        size skew, size proportions ~ Dir(A), labels IID
 *   lognormal:S       size skew, log-normal sizes with log-std S, labels IID
 *   natural           one client per key the data carries (speaker, writer...)
 *
 * parsePartition turns one into a function of the data, the client count and a seeded Rng, and
 * says which data it needs, so the caller can extract labels only for the schemes that read them.
 */
import type { Rng } from '../../util/rng.js';
import { dirichlet } from './dirichlet.js';
import { iid } from './iid.js';
import { natural } from './natural.js';
import { quantitySkew } from './quantity-skew.js';
import { shards } from './shards.js';

/** The data a scheme may read. */
export interface PartitionInput {
  /** Number of samples. */
  length: number;
  /** One class index per sample (see classLabels); for shards and dirichlet. */
  labels?: Int32Array;
  /** Sample indices per key (e.g. a corpus's bySpeaker); for natural. */
  groups?: ReadonlyMap<string, ArrayLike<number>>;
}

export interface Partitioner {
  /**
   * The clients' index lists. numClients may be undefined only for natural, which makes one client
   * per group; for natural, a numClients that differs from the number of groups is an error.
   */
  (input: PartitionInput, numClients: number | undefined, rng: Rng): Uint32Array[];
  /** The spec it was parsed from, normalized (e.g. 'dirichlet:0.3'). */
  readonly spec: string;
  readonly needs: 'labels' | 'groups' | 'nothing';
}

const FORMS = 'iid, shards:S (integer >= 1), dirichlet:A, quantity:A, lognormal:S (numbers > 0) or natural';

export function parsePartition(spec: string): Partitioner {
  if (typeof spec !== 'string') throw new TypeError(`parsePartition: expected a string, got ${typeof spec}`);
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(':');
  const name = colon < 0 ? trimmed : trimmed.slice(0, colon);
  const arg = colon < 0 ? undefined : trimmed.slice(colon + 1);
  const bad = (why: string) => new Error(`partition '${spec}': ${why}; expected ${FORMS}`);
  const noArg = () => {
    if (arg !== undefined) throw bad(`${name} takes no parameter`);
  };
  const number = (what: string): number => {
    if (arg === undefined || arg.trim() === '') throw bad(`${name} needs ${what}`);
    const x = Number(arg);
    if (!Number.isFinite(x) || x <= 0) throw bad(`${what} must be a number > 0, got '${arg}'`);
    return x;
  };
  // For the schemes with a client count (all but natural).
  const make = (
    canonical: string,
    needs: 'labels' | 'nothing',
    run: (input: PartitionInput, numClients: number, rng: Rng) => Uint32Array[],
  ): Partitioner =>
    Object.assign(
      (input: PartitionInput, numClients: number | undefined, rng: Rng) => {
        if (needs === 'labels' && !input.labels)
          throw new Error(`partition ${canonical} needs class labels (one class index per sample)`);
        if (numClients === undefined) throw new Error(`partition ${canonical} needs a number of clients`);
        return run(input, numClients, rng);
      },
      { spec: canonical, needs },
    );

  switch (name) {
    case 'iid':
      noArg();
      return make('iid', 'nothing', (input, k, rng) => iid(input.length, k, rng));
    case 'shards': {
      const s = number('a number of shards per client');
      if (!Number.isInteger(s)) throw bad(`shards per client must be an integer, got '${arg}'`);
      return make(`shards:${s}`, 'labels', (input, k, rng) => shards(input.labels as Int32Array, k, s, rng));
    }
    case 'dirichlet': {
      const a = number('a concentration alpha');
      return make(`dirichlet:${a}`, 'labels', (input, k, rng) =>
        dirichlet(input.labels as Int32Array, k, a, rng),
      );
    }
    case 'quantity': {
      const a = number('a concentration alpha');
      return make(`quantity:${a}`, 'nothing', (input, k, rng) =>
        quantitySkew(input.length, k, { alpha: a }, rng),
      );
    }
    case 'lognormal': {
      const s = number('a log-standard-deviation sigma');
      return make(`lognormal:${s}`, 'nothing', (input, k, rng) =>
        quantitySkew(input.length, k, { sigma: s }, rng),
      );
    }
    case 'natural':
      noArg();
      return Object.assign(
        (input: PartitionInput, numClients: number | undefined) => {
          if (!input.groups)
            throw new Error('partition natural needs groups (sample indices per key, e.g. per speaker)');
          if (numClients !== undefined && numClients !== input.groups.size)
            throw new Error(
              `partition natural makes one client per group (${input.groups.size} groups), not ${numClients} clients; leave the client count unset`,
            );
          return natural(input.groups, input.length);
        },
        { spec: 'natural', needs: 'groups' as const },
      );
    default:
      throw bad(name === '' ? 'empty' : `unknown scheme '${name}'`);
  }
}
