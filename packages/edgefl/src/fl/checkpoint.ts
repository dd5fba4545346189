/**
 * A federated run's checkpoint: everything needed to continue exactly where it stopped — the round
 * just finished, the global parameters, the strategy's server state (momentum, optimizer moments),
 * the metrics so far and the run's configuration. Encoded as one binary blob in edgefl's checked
 * frame (src/util/checked-file.ts):
 *
 *   "EFLC" | version 2 | header length | JSON header | pad to 4 | float32 arrays back to back | SHA-256
 *
 * The header lists each array's name and length. Decoding verifies the checksum, then every field,
 * so a corrupt, truncated or foreign file is refused with a reason instead of resuming from garbage.
 */
import type { StrategyState } from './strategy.js';
import {
  decodeCheckedFile,
  encodeCheckedFile,
  type CheckedFileFormat,
  type Sha256,
} from '../util/checked-file.js';

const FORMAT: CheckedFileFormat = {
  magic: 'EFLC',
  version: 2,
  name: 'checkpoint',
  error: (message) => new CheckpointError(message),
};

export interface Checkpoint {
  /** The last completed round (0: nothing run yet). */
  round: number;
  global: Float32Array;
  strategy?: StrategyState;
  /** One entry per completed round. */
  metrics: Record<string, unknown>[];
  /** The run's configuration, to refuse resuming with a different one. */
  config: Record<string, unknown>;
  /** Extra JSON state (e.g. the privacy accountant's). */
  extra?: Record<string, unknown>;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** `sha256`: the platform's own, where it has a faster one than the portable default. */
export function encodeCheckpoint(c: Checkpoint, sha256?: Sha256): Uint8Array {
  const arrays: [string, Float32Array][] = [
    ['global', c.global],
    ...Object.entries(c.strategy?.arrays ?? {}).map(
      ([k, v]) => [`strategy.${k}`, v] as [string, Float32Array],
    ),
  ];
  const header = {
    round: c.round,
    metrics: c.metrics,
    config: c.config,
    extra: c.extra ?? {},
    strategyJson: c.strategy?.json ?? null,
    arrays: arrays.map(([name, a]) => ({ name, length: a.length })),
  };
  const payloadBytes = arrays.reduce((n, [, a]) => n + a.byteLength, 0);
  return encodeCheckedFile(
    FORMAT,
    header,
    payloadBytes,
    (payload) => {
      let offset = 0;
      for (const [, a] of arrays) {
        payload.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
        offset += a.byteLength;
      }
    },
    sha256,
  );
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint', sha256?: Sha256): Checkpoint {
  const { header, payload } = decodeCheckedFile(FORMAT, bytes, source, sha256);
  const h = header as {
    round: number;
    metrics: Record<string, unknown>[];
    config: Record<string, unknown>;
    extra: Record<string, unknown>;
    strategyJson: Record<string, unknown> | null;
    arrays: { name: string; length: number }[];
  };
  if (!Number.isInteger(h?.round) || h.round < 0 || !Array.isArray(h.arrays) || !Array.isArray(h.metrics))
    throw new CheckpointError(`${source}: malformed header`);
  const expected = 4 * h.arrays.reduce((n, a) => n + a.length, 0);
  if (payload.length !== expected)
    throw new CheckpointError(
      `${source}: ${payload.length} bytes of arrays, the header describes ${expected}`,
    );
  const arrays = new Map<string, Float32Array>();
  let offset = 0;
  for (const a of h.arrays) {
    if (typeof a.name !== 'string' || !Number.isInteger(a.length) || a.length < 0)
      throw new CheckpointError(`${source}: malformed array entry ${JSON.stringify(a)}`);
    const copy = new Float32Array(a.length);
    new Uint8Array(copy.buffer).set(payload.subarray(offset, offset + 4 * a.length));
    arrays.set(a.name, copy);
    offset += 4 * a.length;
  }
  const global = arrays.get('global');
  if (!global) throw new CheckpointError(`${source}: no global parameters`);
  for (let i = 0; i < global.length; i++)
    if (!Number.isFinite(global[i]))
      throw new CheckpointError(`${source}: global parameter ${i} is ${global[i]}`);
  const strategyArrays: Record<string, Float32Array> = {};
  for (const [k, v] of arrays) if (k.startsWith('strategy.')) strategyArrays[k.slice('strategy.'.length)] = v;
  return {
    round: h.round,
    global,
    strategy: h.strategyJson ? { json: h.strategyJson, arrays: strategyArrays } : undefined,
    metrics: h.metrics,
    config: h.config ?? {},
    extra: h.extra,
  };
}
