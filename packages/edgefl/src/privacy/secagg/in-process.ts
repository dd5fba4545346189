/**
 * One whole secure-aggregation round with every client and the server in this process — for tests,
 * simulation and the benchmark. Every message goes through the binary codec (unless `encode` is
 * false), so the byte counts are what a network would carry, and dropouts can be injected at every
 * stage. Timings separate client work (its crypto, masking and codec) from server work.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { SecAggClient } from './client.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { portableSecAggCrypto, type SecAggCrypto } from './crypto-suite.js';
import { SecAggError } from './errors.js';
import type { SecAggMessage } from './messages.js';
import type { PlanOptions } from './neighbours.js';
import { createSecAggParams, type SecAggParams } from './params.js';
import type { PrgAlgorithm } from './prg.js';
import type { Rounding } from './quantize.js';
import { SecAggServer, type SecAggResult } from './server.js';
import { RoundTopology } from './topology.js';

/** Client ids that stop responding at each point; each id may appear at most once. */
export interface DropoutSchedule {
  /** Never advertise keys. */
  readonly beforeAdvertise?: readonly number[];
  /** Advertise keys, then vanish before sharing them. */
  readonly afterAdvertise?: readonly number[];
  /** Share keys, then vanish before sending a masked input: their pairwise masks must be rebuilt. */
  readonly afterShareKeys?: readonly number[];
  /** Send a masked input, then vanish before unmasking: their input still counts. */
  readonly afterMaskedInput?: readonly number[];
}

const DROPOUT_STAGES: readonly (keyof DropoutSchedule)[] = [
  'beforeAdvertise',
  'afterAdvertise',
  'afterShareKeys',
  'afterMaskedInput',
];

export type InProcessStage = 'advertise-keys' | 'share-keys' | 'masked-input' | 'unmasking';

export interface InProcessOptions {
  /** One input per client, or a function producing client `id`'s input when it is needed. */
  readonly vectors: readonly Float32Array[] | ((clientId: number) => Float32Array);
  /** Default 0..n-1, n = vectors.length (required when `vectors` is a function). */
  readonly clientIds?: readonly number[];
  /** Default vectors[0].length (required when `vectors` is a function). */
  readonly vectorLength?: number;
  readonly range: number;
  readonly bits?: number;
  readonly rounding?: Rounding;
  readonly neighbours?: number;
  readonly threshold?: number;
  readonly plan?: PlanOptions;
  readonly prg?: PrgAlgorithm;
  /** Public seed of the round id (fixes the neighbour graph, not the secrets). Default: random. */
  readonly seed?: number;
  readonly dropouts?: DropoutSchedule;
  /** Default: the portable suite; a platform's `secaggCrypto` (node:crypto in Node) is faster. */
  readonly crypto?: SecAggCrypto;
  /** Pass messages through the binary codec (default true). */
  readonly encode?: boolean;
  readonly onProgress?: (stage: InProcessStage, done: number, total: number) => void;
}

export interface InProcessReport extends SecAggResult {
  readonly params: SecAggParams;
  readonly timing: {
    /** Sum over clients of the time spent in client code. */
    readonly clientMs: number;
    /** clientMs divided by the number of clients that took part. */
    readonly clientMsPerClient: number;
    readonly serverMs: number;
    /** Wall time of the whole round. */
    readonly totalMs: number;
  };
  readonly bytes: {
    /** Mean over survivors of the bytes each sent / received over the whole round. */
    readonly upPerClient: number;
    readonly downPerClient: number;
    /** Everything sent by all clients / by the server. */
    readonly totalUp: number;
    readonly totalDown: number;
  };
}

function roundIdFromSeed(seed: number): Uint8Array {
  return sha256(new TextEncoder().encode(`edgefl/secagg/in-process-round/${seed}`));
}

export async function runSecAggInProcess(options: InProcessOptions): Promise<InProcessReport> {
  return runSecAggInProcessSync({ ...options, crypto: options.crypto ?? portableSecAggCrypto() });
}

/**
 * `runSecAggInProcess` with the crypto suite already in hand. Nothing in the protocol itself waits
 * (only loading the Node suite does), so the whole round runs synchronously — for callers that
 * cannot await, such as a `RoundAggregator.finish`.
 */
export function runSecAggInProcessSync(
  options: InProcessOptions & { readonly crypto: SecAggCrypto },
): InProcessReport {
  const { crypto } = options;
  const { clientIds, inputOf, params, dropStage } = prepareInProcessRound(options);

  const started = performance.now();
  const topology = new RoundTopology(params);
  const server = new SecAggServer(params, crypto, { topology });
  const clients = new Map(clientIds.map((id) => [id, new SecAggClient(id, params, crypto, { topology })]));
  const encode = options.encode ?? true;
  const up = new Map<number, number>();
  const down = new Map<number, number>();
  let clientMs = 0;
  let serverMs = 0;
  const participants = new Set<number>();

  const timed = <T>(who: 'client' | 'server', work: () => T): T => {
    const t0 = performance.now();
    try {
      return work();
    } finally {
      if (who === 'client') clientMs += performance.now() - t0;
      else serverMs += performance.now() - t0;
    }
  };
  // A message crossing the "network": encoded by the sender (its time), decoded by the receiver.
  const send = <M extends SecAggMessage>(
    m: M,
    counter: Map<number, number>,
    peer: number,
  ): Uint8Array | M => {
    if (!encode) return m;
    const bytes = encodeMessage(m);
    counter.set(peer, (counter.get(peer) ?? 0) + bytes.length);
    return bytes;
  };
  const receive = <M extends SecAggMessage>(wire: Uint8Array | M): M =>
    wire instanceof Uint8Array ? (decodeMessage(wire) as M) : wire;
  const alive = (id: number, droppingAt: keyof DropoutSchedule) => dropStage.get(id) !== droppingAt;
  const progress = options.onProgress ?? (() => {});

  // Round 0: advertise keys.
  let done = 0;
  for (const [id, client] of clients) {
    if (!alive(id, 'beforeAdvertise')) continue;
    participants.add(id);
    const wire = timed('client', () => send(client.advertiseKeys(), up, id));
    timed('server', () => server.receiveAdvertisedKeys(receive(wire)));
    progress('advertise-keys', ++done, clients.size);
  }
  const directories = timed('server', () => server.closeAdvertising().map((m) => send(m, down, m.to)));

  // Round 1: share keys.
  done = 0;
  for (const wire of directories) {
    const to = receiveAddressee(wire);
    if (!alive(to, 'afterAdvertise')) continue;
    const client = clients.get(to)!;
    const reply = timed('client', () => send(client.shareKeys(receive(wire)), up, to));
    timed('server', () => server.receiveSharedKeys(receive(reply)));
    progress('share-keys', ++done, directories.length);
  }
  const forwarded = timed('server', () => server.closeKeySharing().map((m) => send(m, down, m.to)));

  // Round 2: masked input collection; the server folds each vector in as it arrives.
  done = 0;
  for (const wire of forwarded) {
    const to = receiveAddressee(wire);
    if (!alive(to, 'afterShareKeys')) continue;
    const client = clients.get(to)!;
    const input = inputOf(to);
    const reply = timed('client', () => send(client.maskInput(receive(wire), input), up, to));
    timed('server', () => server.receiveMaskedInput(receive(reply)));
    progress('masked-input', ++done, forwarded.length);
  }
  const requests = timed('server', () => server.closeMaskedInputs().map((m) => send(m, down, m.to)));

  // Round 3: unmasking.
  done = 0;
  for (const wire of requests) {
    const to = receiveAddressee(wire);
    if (!alive(to, 'afterMaskedInput')) continue;
    const client = clients.get(to)!;
    const reply = timed('client', () => send(client.unmask(receive(wire)), up, to));
    timed('server', () => server.receiveUnmaskResponse(receive(reply)));
    progress('unmasking', ++done, requests.length);
  }
  const result = timed('server', () => server.finish());
  const totalMs = performance.now() - started;

  return assembleInProcessReport(
    result,
    params,
    { clientMs, serverMs, totalMs },
    participants.size,
    up,
    down,
  );
}

/** A round's inputs, checked: what every in-process runner needs before the first message. */
export interface PreparedInProcessRound {
  /** In the caller's order (the order clients act in within each stage). */
  readonly clientIds: readonly number[];
  readonly inputOf: (clientId: number) => Float32Array;
  readonly params: SecAggParams;
  readonly dropStage: ReadonlyMap<number, keyof DropoutSchedule>;
}

/**
 * Checks the options and builds the round's parameters. Shared with the worker-thread runner
 * (node/in-workers.ts) so both refuse the same inputs with the same errors.
 */
export function prepareInProcessRound(options: InProcessOptions): PreparedInProcessRound {
  const { vectors } = options;
  const clientIds =
    options.clientIds ?? (typeof vectors === 'function' ? undefined : vectors.map((_, i) => i));
  if (!clientIds)
    throw new SecAggError('invalid-params', 'setup', 'clientIds are required when vectors is a function');
  const vectorLength =
    options.vectorLength ?? (typeof vectors === 'function' ? undefined : vectors[0]?.length);
  if (vectorLength === undefined)
    throw new SecAggError('invalid-params', 'setup', 'vectorLength is required when vectors is a function');
  if (typeof vectors !== 'function' && vectors.length !== clientIds.length) {
    throw new SecAggError(
      'invalid-params',
      'setup',
      `${vectors.length} vectors for ${clientIds.length} clients`,
    );
  }
  const inputOf = (id: number): Float32Array =>
    typeof vectors === 'function' ? vectors(id) : vectors[clientIds.indexOf(id)];

  const params = createSecAggParams({
    clientIds,
    vectorLength,
    range: options.range,
    bits: options.bits,
    rounding: options.rounding,
    neighbours: options.neighbours,
    threshold: options.threshold,
    plan: options.plan,
    prg: options.prg,
    roundId: options.seed === undefined ? undefined : roundIdFromSeed(options.seed),
  });
  const dropStage = new Map<number, keyof DropoutSchedule>();
  for (const [stage, ids] of Object.entries(options.dropouts ?? {}) as [
    keyof DropoutSchedule,
    readonly number[],
  ][]) {
    if (!DROPOUT_STAGES.includes(stage)) {
      throw new SecAggError(
        'invalid-params',
        'setup',
        `unknown dropout stage '${stage}', expected one of ${DROPOUT_STAGES.join(', ')}`,
      );
    }
    for (const id of ids ?? []) {
      if (!clientIds.includes(id))
        throw new SecAggError('invalid-params', 'setup', `dropout of unknown client ${id}`);
      if (dropStage.has(id))
        throw new SecAggError('invalid-params', 'setup', `client ${id} is scheduled to drop twice`);
      dropStage.set(id, stage);
    }
  }

  return { clientIds, inputOf, params, dropStage };
}

/** The report both in-process runners return, from their per-client byte counters and timings. */
export function assembleInProcessReport(
  result: SecAggResult,
  params: SecAggParams,
  times: { readonly clientMs: number; readonly serverMs: number; readonly totalMs: number },
  participants: number,
  up: ReadonlyMap<number, number>,
  down: ReadonlyMap<number, number>,
): InProcessReport {
  const { clientMs, serverMs, totalMs } = times;
  const mean = (counter: ReadonlyMap<number, number>) =>
    result.survivors.reduce((s, id) => s + (counter.get(id) ?? 0), 0) / Math.max(1, result.survivors.length);
  const total = (counter: ReadonlyMap<number, number>) => [...counter.values()].reduce((a, b) => a + b, 0);
  return {
    ...result,
    params,
    timing: { clientMs, clientMsPerClient: clientMs / Math.max(1, participants), serverMs, totalMs },
    bytes: { upPerClient: mean(up), downPerClient: mean(down), totalUp: total(up), totalDown: total(down) },
  };
}

/** The `to` of a server message, whether still an object or already bytes (read without decoding). */
export function receiveAddressee(wire: Uint8Array | { to: number }): number {
  if (!(wire instanceof Uint8Array)) return wire.to;
  return new DataView(wire.buffer, wire.byteOffset, wire.byteLength).getUint32(4, true);
}
