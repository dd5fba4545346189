/**
 * The federation's enrolled clients: each client id bound to the Ed25519 public key it registered
 * with the operator's enrollment token, and the revocations. A client id can be enrolled once;
 * after that only its key opens a connection under that id, and a revoked id opens none. The
 * registry is part of the server's state and is saved (atomically) on every change.
 */
import { timingSafeEqual, createHash } from 'node:crypto';

export interface EnrolledClient {
  id: string;
  /** The client's Ed25519 public key, base64url. */
  publicKey: string;
  enrolledAt: string;
  /** When it was revoked; a revoked client is refused from its next message on. */
  revokedAt?: string;
}

export interface RegistryState {
  clients: EnrolledClient[];
}

export type Admission =
  | { ok: true; client: EnrolledClient; enrolled: boolean }
  | { ok: false; code: 'unauthorized' | 'revoked'; message: string };

export class ClientRegistry {
  private readonly byId = new Map<string, EnrolledClient>();

  constructor(
    state: RegistryState,
    /** The enrollment tokens the operator issued (any one enrolls a new device). */
    private readonly tokens: readonly string[],
    /** Saves the registry after a change (atomically: a crash leaves the previous or the new one). */
    private readonly save: (state: RegistryState) => Promise<void>,
  ) {
    for (const c of state.clients) this.byId.set(c.id, c);
  }

  /**
   * Whether `hello` may proceed to the challenge: the id is enrolled with this key, or it is new and
   * a valid token came with it. Nothing is recorded yet — a device is enrolled only once it has
   * proved it holds the key (`enroll`, after the challenge): a token holder cannot claim ids with
   * keys it does not have.
   */
  check(clientId: string, publicKey: string, token: string | undefined): Admission {
    const known = this.byId.get(clientId);
    if (known) {
      if (known.revokedAt)
        return {
          ok: false,
          code: 'revoked',
          message: `client '${clientId}' was revoked at ${known.revokedAt}`,
        };
      if (known.publicKey !== publicKey)
        return {
          ok: false,
          code: 'unauthorized',
          message: `client '${clientId}' is enrolled with another identity key`,
        };
      return { ok: true, client: known, enrolled: false };
    }
    if (token === undefined)
      return {
        ok: false,
        code: 'unauthorized',
        message: `client '${clientId}' is not enrolled: connect once with an enrollment token`,
      };
    if (!this.tokens.some((t) => sameSecret(t, token)))
      return { ok: false, code: 'unauthorized', message: 'the enrollment token is not valid' };
    return { ok: true, client: { id: clientId, publicKey, enrolledAt: '' }, enrolled: true };
  }

  /**
   * Enrolls a device that passed `check` with a token and then proved its key; refused if the id
   * was enrolled meanwhile (with another key, or revoked). Resolves once the registry is on disk.
   */
  async enroll(clientId: string, publicKey: string): Promise<Admission> {
    const known = this.byId.get(clientId);
    if (known) return this.check(clientId, publicKey, undefined);
    const client: EnrolledClient = { id: clientId, publicKey, enrolledAt: new Date().toISOString() };
    this.byId.set(clientId, client);
    await this.persist();
    return { ok: true, client, enrolled: true };
  }

  /** Revokes a client: its open connection is refused from its next message on (the caller closes it). */
  async revoke(clientId: string): Promise<boolean> {
    const c = this.byId.get(clientId);
    if (!c || c.revokedAt) return false;
    c.revokedAt = new Date().toISOString();
    await this.persist();
    return true;
  }

  private writing: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;

  /**
   * Saves the registry, resolving once a save that includes every change made so far is on disk.
   * Changes that arrive while a save is being written share the one save after it: a thousand
   * devices enrolling at once cost a handful of writes, not a thousand (each rewrites the file).
   */
  private persist(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.writing.then(async () => {
      this.queued = undefined;
      await this.save(this.state());
    });
    this.queued = next;
    this.writing = next.catch(() => {});
    return next;
  }

  get(clientId: string): EnrolledClient | undefined {
    return this.byId.get(clientId);
  }

  /** The enrolled, unrevoked clients, as the round engine registers them. */
  active(): { id: string }[] {
    const out: { id: string }[] = [];
    for (const c of this.byId.values()) if (!c.revokedAt) out.push({ id: c.id });
    return out;
  }

  isActive(clientId: string): boolean {
    const c = this.byId.get(clientId);
    return c !== undefined && !c.revokedAt;
  }

  get size(): number {
    return this.byId.size;
  }

  state(): RegistryState {
    return { clients: [...this.byId.values()].map((c) => ({ ...c })) };
  }
}

/** Compares secrets in time independent of where they differ (hashes make the lengths equal). */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
