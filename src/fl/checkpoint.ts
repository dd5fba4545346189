/**
 * A federated run's checkpoint: everything needed to continue exactly where it stopped — the round
 * just finished, the global parameters, the strategy's server state (momentum, optimizer moments),
 * the metrics so far and the run's configuration. Encoded as one binary blob:
 *
 *   "EFLC" | version u32 | header length u32 | JSON header | pad to 4 | float32 arrays back to back
 *
 * The header lists each array's name and length; decoding checks every field, so a truncated or
 * foreign file is refused with a reason instead of resuming from garbage.
 */
import type { StrategyState } from './strategy.js';

const MAGIC = [0x45, 0x46, 0x4c, 0x43]; // "EFLC"
const VERSION = 1;

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

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const arrays: [string, Float32Array][] = [
    ['global', c.global],
    ...Object.entries(c.strategy?.arrays ?? {}).map(
      ([k, v]) => [`strategy.${k}`, v] as [string, Float32Array],
    ),
  ];
  const header = new TextEncoder().encode(
    JSON.stringify({
      round: c.round,
      metrics: c.metrics,
      config: c.config,
      extra: c.extra ?? {},
      strategyJson: c.strategy?.json ?? null,
      arrays: arrays.map(([name, a]) => ({ name, length: a.length })),
    }),
  );
  const start = (12 + header.length + 3) & ~3;
  const total = start + arrays.reduce((n, [, a]) => n + a.byteLength, 0);
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, header.length, true);
  out.set(header, 12);
  let offset = start;
  for (const [, a] of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  if (bytes.length < 12 || MAGIC.some((m, i) => bytes[i] !== m))
    throw new CheckpointError(`${source}: not an edgefl checkpoint (bad magic)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== VERSION)
    throw new CheckpointError(`${source}: checkpoint version ${version} is not supported`);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw new CheckpointError(`${source}: truncated header`);
  let h: {
    round: number;
    metrics: Record<string, unknown>[];
    config: Record<string, unknown>;
    extra: Record<string, unknown>;
    strategyJson: Record<string, unknown> | null;
    arrays: { name: string; length: number }[];
  };
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch (e) {
    throw new CheckpointError(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!Number.isInteger(h?.round) || h.round < 0 || !Array.isArray(h.arrays) || !Array.isArray(h.metrics))
    throw new CheckpointError(`${source}: malformed header`);
  const start = (12 + headerLength + 3) & ~3;
  const expected = start + 4 * h.arrays.reduce((n, a) => n + a.length, 0);
  if (bytes.length !== expected)
    throw new CheckpointError(
      `${source}: ${bytes.length} bytes, the header describes ${expected} (truncated or corrupt)`,
    );
  const arrays = new Map<string, Float32Array>();
  let offset = start;
  for (const a of h.arrays) {
    if (typeof a.name !== 'string' || !Number.isInteger(a.length) || a.length < 0)
      throw new CheckpointError(`${source}: malformed array entry ${JSON.stringify(a)}`);
    const copy = new Float32Array(a.length);
    new Uint8Array(copy.buffer).set(bytes.subarray(offset, offset + 4 * a.length));
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
