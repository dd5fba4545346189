/**
 * Clients that already hold their updates, behind an executor: each runs the client pipeline's
 * update transforms (federation/client-pipeline.ts) on its given update — clip and noise, encode,
 * and under secure aggregation its own protocol session — and answers the round's later stages.
 * For testing the server's layers through the real engine and the real client code, without
 * training anything.
 */
import {
  type FitExecutor,
  type StageReply,
  type ClientUpdate,
  type FitConfig,
  clientSeed,
  uploadBytes,
  transformUpdate,
} from 'edgefl';
import { RoundSessions } from 'edgefl/internal/federation/round-sessions';
import type { SecAggCrypto } from 'edgefl/internal/privacy/secagg/crypto-suite';

/** What a client was told and had, for a test to recompute what it did. */
export interface ClientFitRecord {
  config: FitConfig;
  seed: number;
  /** The update before the pipeline's transforms. */
  delta: Float32Array;
}

export interface ClientsWithUpdates extends FitExecutor {
  /** Each client's last fit, by id. */
  readonly fits: Map<string, ClientFitRecord>;
}

/**
 * The executor; `tamper` may replace what a client sends (its first message at stage 'fit', or its
 * answer at a later stage), to play a forging or broken client.
 */
export function clientsWithUpdates(
  updates: readonly ClientUpdate[],
  secaggCrypto?: SecAggCrypto,
  tamper?: (clientId: string, stage: string, payload: Uint8Array) => Uint8Array,
): ClientsWithUpdates {
  const sessions = new RoundSessions();
  const fits = new Map<string, ClientFitRecord>();
  const edit = tamper ?? ((_id: string, _stage: string, p: Uint8Array) => p);
  return {
    fits,
    async run(round, global, tasks, onOutcome) {
      for (const t of tasks) {
        const u = updates.find((x) => x.clientId === t.client.id);
        if (!u) throw new Error(`no update for client ${t.client.id}`);
        const seed = clientSeed(1, round, u.clientId);
        fits.set(u.clientId, { config: t.config, seed, delta: Float32Array.from(u.delta) });
        const r = transformUpdate(
          { secaggCrypto },
          { clientId: u.clientId, global, config: t.config, seed },
          Float32Array.from(u.delta),
          u.numExamples,
        );
        sessions.begin(u.clientId, round, r.session);
        let upload = r.upload;
        if (upload.kind === 'secure')
          upload = { kind: 'secure', message: edit(u.clientId, 'fit', upload.message) };
        else if (upload.kind === 'delta' && u.auxiliary) upload = { ...upload, auxiliary: u.auxiliary };
        onOutcome({
          ok: true,
          clientId: u.clientId,
          upload,
          numExamples: u.numExamples,
          seconds: 0,
          bytesUp: uploadBytes(upload),
          bytesDown: global.byteLength,
        });
      }
    },
    async exchange(round, stage, messages, onReply) {
      for (const m of messages) {
        let reply: StageReply;
        try {
          reply = {
            ok: true,
            clientId: m.clientId,
            payload: edit(m.clientId, stage, sessions.answer(m.clientId, round, m.payload)),
            seconds: 0,
          };
        } catch (e) {
          reply = { ok: false, clientId: m.clientId, kind: 'failed', reason: (e as Error).message };
        }
        onReply(reply);
      }
    },
  };
}
