/**
 * Simulated unreliable clients, as a layer around any executor — real federations lose clients
 * mid-round and wait for slow ones: each selected client drops out with probability `dropoutRate`
 * (it never runs; reported 'dropped'), and a fraction `stragglerRate` straggles, its compute time
 * multiplied by a slowdown drawn from a log-normal distribution (3·e^{σ|N(0,1)|}); a client whose
 * slowed-down time exceeds `deadlineSeconds` missed the round ('late': its upload is ignored).
 * Fates are drawn up front, in task order, from (seed, round), so they depend neither on
 * completion order nor on where clients run.
 */
import type { FitExecutor, FitTask } from '../executor.js';
import { roundRng } from '../engine.js';

export interface UnreliableClients {
  dropoutRate?: number;
  stragglerRate?: number;
  /** σ of a straggler's log-normal slowdown (default 1). */
  stragglerSigma?: number;
  deadlineSeconds?: number;
}

export function unreliableClients(inner: FitExecutor, f: UnreliableClients, seed: number): FitExecutor {
  const dropoutRate = f.dropoutRate ?? 0;
  if (!(dropoutRate >= 0 && dropoutRate < 1))
    throw new RangeError(`dropoutRate must be in [0, 1), got ${dropoutRate}`);
  return {
    async run(round, global, tasks, onOutcome) {
      const rng = roundRng(seed ^ 0x5107, round);
      const slowdowns = new Map<string, number>();
      const running: FitTask[] = [];
      for (const t of tasks) {
        const drops = rng.uniform() < dropoutRate;
        const slowdown =
          rng.uniform() < (f.stragglerRate ?? 0)
            ? Math.exp((f.stragglerSigma ?? 1) * Math.abs(rng.normal())) * 3
            : 1;
        if (drops)
          onOutcome({
            ok: false,
            clientId: t.client.id,
            kind: 'dropped',
            reason: 'dropped out during the round (simulated)',
          });
        else {
          slowdowns.set(t.client.id, slowdown);
          running.push(t);
        }
      }
      await inner.run(round, global, running, (o) => {
        const slowdown = slowdowns.get(o.clientId) ?? 1;
        if (!o.ok || f.deadlineSeconds === undefined) return onOutcome(o);
        const simulated = o.seconds * slowdown;
        if (simulated <= f.deadlineSeconds) return onOutcome(o);
        onOutcome({
          ok: false,
          clientId: o.clientId,
          kind: 'late',
          reason: `finished after ${simulated.toFixed(2)} s (slowdown ×${slowdown.toFixed(1)}), deadline ${f.deadlineSeconds} s`,
        });
      });
    },
    evaluate: inner.evaluate?.bind(inner),
    exchange: inner.exchange?.bind(inner),
    close: inner.close?.bind(inner),
  };
}
