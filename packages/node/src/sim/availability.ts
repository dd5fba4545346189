/**
 * Clients that join a federation late. Real federations grow while they train: devices install the
 * app, hospitals sign on. Each client is late with probability `fraction`, drawn independently from
 * the seed and its id (so about that share of the clients, not exactly it), is then absent at first,
 * and joins at a round drawn uniformly from 2..byRound and stays. The engine samples each round among the clients present, so a strategy
 * meets data it has never seen partway through a run, and the metrics record how many were there.
 *
 * Pure functions of (seed, client id): a resumed run sees the same federation.
 */
import { clientSeed, type ClientInfo } from 'edgefl';

export interface LateJoiners {
  /** Fraction of the clients that are not there in round 1. */
  fraction: number;
  /** The round by which every late client has joined (≥ 2). */
  byRound: number;
}

/** Stream separating join draws from every other per-client draw of the seed. */
const LATE_JOIN_STREAM = 0x1a7e;

export function checkLateJoiners(late: LateJoiners): void {
  if (!(late.fraction >= 0 && late.fraction < 1))
    throw new RangeError(`late joiners: fraction must be in [0, 1), got ${late.fraction}`);
  if (!(Number.isInteger(late.byRound) && late.byRound >= 2))
    throw new RangeError(`late joiners: byRound must be an integer ≥ 2, got ${late.byRound}`);
}

/** The round a client is first available in: 1, or for a late joiner a round in 2..byRound. */
export function joinRound(seed: number, clientId: string, late: LateJoiners): number {
  const u = clientSeed(seed ^ LATE_JOIN_STREAM, 0, clientId) / 2 ** 32;
  if (u >= late.fraction) return 1;
  // u / fraction is again uniform in [0, 1) given that the client is late.
  return 2 + Math.floor((u / late.fraction) * (late.byRound - 1));
}

/** The engine's `availableAt`: the clients that have joined by `round`. */
export function lateJoinAvailability(
  seed: number,
  late: LateJoiners,
): (round: number, clients: readonly ClientInfo[]) => readonly ClientInfo[] {
  checkLateJoiners(late);
  return (round, clients) => clients.filter((c) => joinRound(seed, c.id, late) <= round);
}
