/**
 * Simulated Byzantine clients, as a layer around any executor: each client is Byzantine with
 * probability `fraction`, by a hash of (seed, client id) — the same clients every round, about that
 * share of them — and sends a corrupted update — the honest delta
 * sign-flipped, or scaled by `factor` (default 10). It acts on the update the server decodes, so it
 * sits outside the decoding layer.
 */
import type { FitExecutor } from '../executor.js';
import { clientSeed } from '../engine.js';
import { mapOutcomes } from './wrap.js';

export interface ByzantineClients {
  fraction: number;
  attack: 'signflip' | 'scale';
  factor?: number;
}

/** Whether a client is one of the Byzantine clients (a fixed set under the seed). */
export function isByzantine(seed: number, clientId: string, fraction: number): boolean {
  return fraction > 0 && clientSeed(seed ^ 0xbad, 0, clientId) / 2 ** 32 < fraction;
}

export function byzantineClients(inner: FitExecutor, b: ByzantineClients, seed: number): FitExecutor {
  const k = b.attack === 'signflip' ? -1 : (b.factor ?? 10);
  return mapOutcomes(inner, (o) => {
    if (!o.ok || o.upload.kind !== 'delta' || !isByzantine(seed, o.clientId, b.fraction)) return o;
    const delta = o.upload.delta;
    for (let i = 0; i < delta.length; i++) delta[i] *= k;
    return o;
  });
}
