/**
 * The rounds in progress of the clients an executor runs: a client's session from its fit, kept
 * until it has answered its last stage, fails, or fits again. Every executor that carries
 * multi-stage rounds (in process, worker threads, later the network client) keeps them the same way.
 */
import type { ClientRoundSession } from './client-pipeline.js';

export class RoundSessions {
  private readonly held = new Map<string, { round: number; session: ClientRoundSession }>();

  /** A new fit of `clientId` in `round`: its previous round, if any, is over. */
  begin(clientId: string, round: number, session: ClientRoundSession | undefined): void {
    this.held.delete(clientId);
    if (session) this.held.set(clientId, { round, session });
  }

  /**
   * The client's answer to one server message in `round`. Throws (and forgets the session) when
   * the client has no round in progress there or its session refuses the message.
   */
  answer(clientId: string, round: number, payload: Uint8Array): Uint8Array {
    const held = this.held.get(clientId);
    if (!held || held.round !== round) throw new Error('has no round in progress');
    try {
      const reply = held.session.receive(payload);
      if (held.session.done) this.held.delete(clientId);
      return reply;
    } catch (e) {
      this.held.delete(clientId);
      throw e;
    }
  }
}
