/**
 * Simulated dropouts inside a multi-stage round (secure aggregation), as a layer around any
 * executor: of the clients that entered the protocol, a fraction vanishes at each later point —
 * after advertising their keys, after sharing them (the costly case: their masks must be rebuilt
 * from their neighbours' shares), after sending their masked input. Which ones is drawn once per
 * round, when the first later stage begins, from (seed, round) over the clients in the order the
 * server lists them — so neither completion order nor where clients run changes it — and no client
 * vanishes twice. A vanished client never receives its message; the server learns it only by the
 * missing answer.
 */
import type { FitExecutor, StageReply } from '../executor.js';
import { roundRng } from '../engine.js';

/** Fractions of a round's protocol participants (rounded) that vanish after each stage. */
export interface ProtocolDropouts {
  afterAdvertise?: number;
  afterShareKeys?: number;
  afterMaskedInput?: number;
}

/** The stage at which a client scheduled to vanish after a point of the protocol is lost. */
const LOST_AT: Record<keyof ProtocolDropouts, string> = {
  afterAdvertise: 'share-keys',
  afterShareKeys: 'masked-input',
  afterMaskedInput: 'unmasking',
};
const WHY: Record<keyof ProtocolDropouts, string> = {
  afterAdvertise: 'vanished after advertising its keys (simulated)',
  afterShareKeys: 'vanished after sharing its keys (simulated)',
  afterMaskedInput: 'vanished after sending its masked input (simulated)',
};

export function protocolDropouts(inner: FitExecutor, f: ProtocolDropouts, seed: number): FitExecutor {
  let total = 0;
  for (const [stage, v] of Object.entries(f) as [keyof ProtocolDropouts, number | undefined][]) {
    if (!(stage in LOST_AT)) throw new RangeError(`unknown dropout point '${stage}'`);
    if (v === undefined) continue;
    if (!(v >= 0 && v <= 1)) throw new RangeError(`dropouts.${stage} must be a fraction in [0, 1], got ${v}`);
    total += v;
  }
  if (total > 1) throw new RangeError(`the dropout fractions add up to ${total}, more than every client`);
  if (!inner.exchange) throw new Error('protocol dropouts need an executor that carries multi-stage rounds');
  const exchange = inner.exchange.bind(inner);
  /** The round's schedule: client id -> the stage at which it is lost. */
  let schedule: { round: number; lostAt: Map<string, keyof ProtocolDropouts> } | undefined;
  return {
    run: inner.run.bind(inner),
    evaluate: inner.evaluate?.bind(inner),
    close: inner.close?.bind(inner),
    exchange(round, stage, messages, onReply) {
      if (schedule?.round !== round) {
        // The first later stage lists every client that entered the protocol.
        const ids = messages.map((m) => m.clientId);
        const order = roundRng(seed ^ 0x5ec, round).permutation(ids.length);
        const lostAt = new Map<string, keyof ProtocolDropouts>();
        let taken = 0;
        for (const point of Object.keys(LOST_AT) as (keyof ProtocolDropouts)[]) {
          const count = Math.min(Math.round((f[point] ?? 0) * ids.length), ids.length - taken);
          for (const i of order.subarray(taken, taken + count)) lostAt.set(ids[i], point);
          taken += count;
        }
        schedule = { round, lostAt };
      }
      const lostAt = schedule.lostAt;
      const kept = messages.filter((m) => {
        const point = lostAt.get(m.clientId);
        if (point === undefined || LOST_AT[point] !== stage) return true;
        const reply: StageReply = { ok: false, clientId: m.clientId, kind: 'dropped', reason: WHY[point] };
        onReply(reply);
        return false;
      });
      return exchange(round, stage, kept, onReply);
    },
  };
}
