/**
 * Simulated damage in transit, as a layer around any executor: with probability `rate` a client's
 * upload arrives truncated (cut at a random length), as a broken connection or a hostile client
 * would deliver it. The server must refuse it: a codec's decoder does (the client is reported
 * 'failed' with the decoder's reason), and without a codec the engine's length check does
 * ('excluded'). Seeded by (seed, round) on a stream of its own, drawn for every task in task order,
 * so enabling it leaves the other fates of a seed unchanged.
 */
import type { FitExecutor, FitOutcome } from '../executor.js';
import { roundRng } from '../engine.js';

export function damagedUploads(inner: FitExecutor, rate: number, seed: number): FitExecutor {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`damage rate must be in [0, 1], got ${rate}`);
  return {
    run(round, global, tasks, onOutcome) {
      const damage = roundRng(seed ^ 0xda3a6e, round);
      // The fraction of each damaged client's upload that arrives.
      const keeps = new Map<string, number>();
      for (const t of tasks) if (damage.uniform() < rate) keeps.set(t.client.id, damage.uniform());
      return inner.run(round, global, tasks, (o) => onOutcome(damaged(o, keeps.get(o.clientId))));
    },
    evaluate: inner.evaluate?.bind(inner),
    exchange: inner.exchange?.bind(inner),
    close: inner.close?.bind(inner),
  };
}

function damaged(o: FitOutcome, keeps: number | undefined): FitOutcome {
  if (!o.ok || keeps === undefined) return o;
  const u = o.upload;
  return {
    ...o,
    upload:
      u.kind === 'delta'
        ? { ...u, delta: u.delta.subarray(0, Math.floor(keeps * u.delta.length)) }
        : u.kind === 'secure'
          ? { ...u, message: u.message.subarray(0, Math.floor(keeps * u.message.length)) }
          : { ...u, bytes: u.bytes.subarray(0, Math.floor(keeps * u.bytes.length)) },
  };
}
