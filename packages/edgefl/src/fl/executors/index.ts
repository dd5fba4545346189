/**
 * Layers around any executor (in process, worker threads, network): decoding uploads, and the
 * simulated failures — unreliable clients, damage in transit, Byzantine clients — so the same
 * failures can be simulated wherever the clients run. `clientFaults` stacks them in the one order
 * that keeps each meaningful: fates are drawn before dispatch, damage hits the bytes, decoding
 * reads them, and the attack corrupts what the server decoded.
 */
import type { FitExecutor } from '../executor.js';
import { byzantineClients, type ByzantineClients } from './byzantine.js';
import { damagedUploads } from './damage.js';
import { decodingUploads } from './decode.js';
import { unreliableClients, type UnreliableClients } from './unreliable.js';
import { protocolDropouts, type ProtocolDropouts } from './protocol-dropouts.js';

export { byzantineClients, isByzantine, type ByzantineClients } from './byzantine.js';
export { damagedUploads } from './damage.js';
export { decodingUploads } from './decode.js';
export { unreliableClients, type UnreliableClients } from './unreliable.js';
export { lazyExecutor } from './lazy.js';
export { protocolDropouts, type ProtocolDropouts } from './protocol-dropouts.js';
export { mapOutcomes } from './wrap.js';

export interface ClientFaults extends UnreliableClients {
  /** Probability that an upload arrives truncated. */
  corruptRate?: number;
  byzantine?: ByzantineClients;
  /** Clients that vanish inside a multi-stage round (secure aggregation). */
  protocolDropouts?: ProtocolDropouts;
}

/**
 * `transport` with the server's decoding (when the round's uploads are encoded with `codec`) and
 * the simulated faults of `faults` (none: only decoding), seeded by `seed`.
 */
export function serverSide(
  transport: FitExecutor,
  o: { codec?: string; parameters: number; faults?: ClientFaults; seed: number },
): FitExecutor {
  const f = o.faults ?? {};
  let e = transport;
  const p = f.protocolDropouts;
  if (p && Object.values(p).some((v) => v)) e = protocolDropouts(e, p, o.seed);
  if (f.dropoutRate || f.stragglerRate || f.deadlineSeconds !== undefined)
    e = unreliableClients(e, f, o.seed);
  if (f.corruptRate) e = damagedUploads(e, f.corruptRate, o.seed);
  if (o.codec !== undefined) e = decodingUploads(e, o.codec, o.parameters);
  if (f.byzantine && f.byzantine.fraction > 0) e = byzantineClients(e, f.byzantine, o.seed);
  return e;
}
