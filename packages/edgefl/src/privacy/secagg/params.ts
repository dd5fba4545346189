/**
 * The public parameters of one secure-aggregation round. Server and clients must hold identical
 * copies (in a deployment the server sends them with the round's configuration); every check that
 * depends on them is made once here, with an error that names the bad field.
 */
import { SecAggError } from './errors.js';
import { majorityThreshold, planNeighbourhood, type PlanOptions } from './neighbours.js';
import { checkPrgAlgorithm, type PrgAlgorithm } from './prg.js';
import { checkQuantization, maxBitsFor, type Quantization, type Rounding } from './quantize.js';
import { randomBytes } from './random.js';

export const ROUND_ID_BYTES = 32;

export interface SecAggParams {
  /** 32 public random bytes: salts every key, binds every message to this round, seeds the graph. */
  readonly roundId: Uint8Array;
  /** Ids of the clients invited to the round, ascending, each an integer in [0, 2^32). */
  readonly clientIds: readonly number[];
  /** Length of every client's input vector. */
  readonly vectorLength: number;
  /** k: how many neighbours each client masks with and shares its secrets among (n - 1 = classic SecAgg). */
  readonly neighbours: number;
  /** t: shares needed to rebuild a secret, out of the k + 1 held by a client's neighbours and itself. */
  readonly threshold: number;
  readonly quantization: Quantization;
  /** Stream cipher that expands mask seeds; all parties must use the same one. */
  readonly prg: PrgAlgorithm;
}

export interface SecAggOptions {
  readonly clientIds: readonly number[];
  readonly vectorLength: number;
  /** Clipping bound: inputs are clipped to [-range, range] before quantization. */
  readonly range: number;
  /** Default: the most that n clients' sum fits in 2^32 (e.g. 25 bits for 100 clients). */
  readonly bits?: number;
  /** Default 'nearest'. */
  readonly rounding?: Rounding;
  /** Default: planNeighbourhood(n, plan). */
  readonly neighbours?: number;
  /** Default: the smallest strict majority of neighbours + 1. */
  readonly threshold?: number;
  /** Used only to choose the default neighbours. */
  readonly plan?: PlanOptions;
  /** Default 'aes-256-ctr'. Prefer 'chacha20' when browser clients take part (much faster in pure JS). */
  readonly prg?: PrgAlgorithm;
  /** Default: 32 fresh random bytes. */
  readonly roundId?: Uint8Array;
}

function invalid(message: string): SecAggError {
  return new SecAggError('invalid-params', 'setup', message);
}

export function createSecAggParams(options: SecAggOptions): SecAggParams {
  const clientIds = [...options.clientIds].sort((a, b) => a - b);
  const n = clientIds.length;
  if (n < 2) throw invalid(`need at least 2 clients, got ${n}`);
  let neighbours = options.neighbours;
  let threshold = options.threshold;
  if (neighbours === undefined) {
    const plan = planNeighbourhood(n, options.plan);
    neighbours = plan.neighbours;
    threshold ??= plan.threshold;
  }
  threshold ??= majorityThreshold(neighbours);
  const params: SecAggParams = {
    roundId: options.roundId ?? randomBytes(ROUND_ID_BYTES),
    clientIds,
    vectorLength: options.vectorLength,
    neighbours,
    threshold,
    quantization: {
      range: options.range,
      bits: options.bits ?? maxBitsFor(n),
      rounding: options.rounding ?? 'nearest',
    },
    prg: options.prg ?? 'aes-256-ctr',
  };
  validateParams(params);
  return params;
}

export function validateParams(p: SecAggParams): void {
  if (!(p.roundId instanceof Uint8Array) || p.roundId.length !== ROUND_ID_BYTES) {
    throw invalid(`roundId must be ${ROUND_ID_BYTES} bytes, got ${p.roundId?.length}`);
  }
  const n = p.clientIds.length;
  if (n < 2) throw invalid(`need at least 2 clients, got ${n}`);
  for (let i = 0; i < n; i++) {
    const id = p.clientIds[i];
    if (!Number.isInteger(id) || id < 0 || id >= 2 ** 32)
      throw invalid(`client id ${id} is not an integer in [0, 2^32)`);
    if (i > 0 && id <= p.clientIds[i - 1]) {
      throw invalid(
        id === p.clientIds[i - 1] ? `client id ${id} appears twice` : 'clientIds must be ascending',
      );
    }
  }
  if (!Number.isInteger(p.vectorLength) || p.vectorLength < 1) {
    throw invalid(`vectorLength must be a positive integer, got ${p.vectorLength}`);
  }
  const k = p.neighbours;
  if (!Number.isInteger(k) || k < 1 || k > n - 1) {
    throw invalid(`neighbours must be an integer in [1, ${n - 1}] for ${n} clients, got ${k}`);
  }
  if ((k * n) % 2 !== 0) {
    throw invalid(`${n} clients with ${k} neighbours each is impossible (n * k must be even); use ${k + 1}`);
  }
  const t = p.threshold;
  const minimum = majorityThreshold(k);
  if (!Number.isInteger(t) || t < minimum || t > k + 1) {
    throw invalid(
      `threshold must be an integer in [${minimum}, ${k + 1}] for ${k} neighbours, got ${t}: each secret has ` +
        `k + 1 = ${k + 1} shares and t must be a strict majority of them, so that a server asking different ` +
        `clients for different kinds of share can never collect t of both`,
    );
  }
  checkQuantization(p.quantization, n);
  try {
    checkPrgAlgorithm(p.prg);
  } catch (e) {
    throw invalid((e as Error).message);
  }
}
