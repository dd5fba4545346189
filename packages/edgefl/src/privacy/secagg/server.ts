/**
 * The server side of SecAgg / SecAgg+ as a transport-free state machine. For each round it
 * collects client messages (`receive*`), then `close*` decides who is still in and returns the
 * messages to send on. It only ever holds the running sum of masked inputs (O(model) memory, folded
 * in as each arrives) and, at the end, returns the sum of the survivors' inputs and who they are —
 * never an individual input.
 *
 *   receiveAdvertisedKeys* -> closeAdvertising()   : key directories, one per client still in
 *   receiveSharedKeys*     -> closeKeySharing()    : forwarded boxes, one bundle per client still in
 *   receiveMaskedInput*    -> closeMaskedInputs()  : unmasking requests, one per survivor
 *   receiveUnmaskResponse* -> finish()             : { sum, survivors, errorBound }
 *
 * If the round cannot finish (fewer than t survivors, a neighbourhood too thin to rebuild a
 * secret, survivors split into separately masked groups) it throws SecAggAbortError naming why.
 */
import { accumulate, arrayStream, type SignedStream } from './accumulate.js';
import type { SecAggCrypto } from './crypto-suite.js';
import { SecAggAbortError, SecAggError, type SecAggStage } from './errors.js';
import { pairwiseMaskKey, selfMaskKey } from './kdf.js';
import { X25519_KEY_BYTES } from './key-agreement.js';
import type {
  AdvertiseKeysMessage,
  ForwardedSharesMessage,
  HeldShare,
  KeyDirectoryMessage,
  MaskedInputMessage,
  PublicKeys,
  ShareKeysMessage,
  UnmaskRequestMessage,
  UnmaskResponseMessage,
} from './messages.js';
import type { SecAggParams } from './params.js';
import { RoundTopology } from './topology.js';
import { dequantizeSum, sumErrorBound } from './quantize.js';
import { combineShares, lagrangeAtZero, SECRET_BYTES, SHARE_WORDS, type Share } from './shamir.js';

type ServerStage = 'advertise-keys' | 'share-keys' | 'masked-input' | 'unmasking' | 'done' | 'aborted';

export interface SecAggResult {
  /** Sum over `survivors` of their clipped inputs, within `errorBound` per coordinate. */
  readonly sum: Float32Array;
  /** Clients whose inputs are in the sum, ascending. */
  readonly survivors: readonly number[];
  /** Per-coordinate bound on |sum - exact sum of clipped inputs| from quantization (see quantize.ts). */
  readonly errorBound: number;
  /** Clients that dropped after sharing keys and whose pairwise masks were rebuilt and removed. */
  readonly recoveredDropouts: readonly number[];
  /** Clients left out before masking because too few of their neighbours were present. */
  readonly excluded: readonly number[];
}

export interface SecAggServerOptions {
  readonly topology?: RoundTopology;
}

export class SecAggServer {
  private stage: ServerStage = 'advertise-keys';
  private readonly topology: RoundTopology;
  private readonly keys = new Map<number, PublicKeys>();
  /** U1: clients that advertised and are kept. */
  private advertised = new Set<number>();
  private readonly sharedBoxes = new Map<number, ShareKeysMessage>();
  /** U2: clients whose shares were forwarded; they and their U2 neighbours mask with each other. */
  private sharing = new Set<number>();
  private sum?: Uint32Array;
  /** U3: clients whose masked input is in the running sum. */
  private readonly survivors = new Set<number>();
  private readonly requests = new Map<number, UnmaskRequestMessage>();
  private readonly responses = new Set<number>();
  /** Shares received in unmasking, by the client they are shares of. */
  private readonly selfMaskShares = new Map<number, Share[]>();
  private readonly keyShares = new Map<number, Share[]>();
  private readonly excluded: number[] = [];

  constructor(
    readonly params: SecAggParams,
    private readonly crypto: SecAggCrypto,
    options: SecAggServerOptions = {},
  ) {
    this.topology = options.topology ?? new RoundTopology(params);
    if (this.topology.params !== params) throw new RangeError('server: topology was built for other params');
  }

  // ---- round 0: advertise keys --------------------------------------------------------------

  receiveAdvertisedKeys(m: AdvertiseKeysMessage): void {
    const stage: SecAggStage = 'advertise-keys';
    this.expectStage('advertise-keys', stage);
    this.expectMember(m.from, stage);
    if (this.keys.has(m.from)) this.reject(stage, `client ${m.from} advertised keys twice`);
    if (m.encryptionKey?.length !== X25519_KEY_BYTES || m.maskKey?.length !== X25519_KEY_BYTES) {
      this.reject(stage, `client ${m.from}: public keys must be ${X25519_KEY_BYTES} bytes`);
    }
    this.keys.set(m.from, { id: m.from, encryptionKey: m.encryptionKey, maskKey: m.maskKey });
  }

  closeAdvertising(): KeyDirectoryMessage[] {
    const stage: SecAggStage = 'advertise-keys';
    this.expectStage('advertise-keys', stage);
    const kept = this.pruneThinNeighbourhoods(new Set(this.keys.keys()), stage, 'advertised keys');
    this.advertised = kept;
    this.stage = 'share-keys';
    return [...kept]
      .sort((a, b) => a - b)
      .map((to) => ({
        type: 'key-directory',
        to,
        peers: this.topology
          .neighbourIds(to)
          .filter((v) => kept.has(v))
          .map((v) => this.keys.get(v)!),
      }));
  }

  // ---- round 1: share keys ------------------------------------------------------------------

  receiveSharedKeys(m: ShareKeysMessage): void {
    const stage: SecAggStage = 'share-keys';
    this.expectStage('share-keys', stage);
    this.expectMember(m.from, stage);
    if (!this.advertised.has(m.from))
      this.reject(stage, `client ${m.from} is not in the round (no keys advertised)`);
    if (this.sharedBoxes.has(m.from)) this.reject(stage, `client ${m.from} shared keys twice`);
    // A client must address exactly the neighbours in its directory: if it skipped one, the two would
    // disagree on whether they share a mask and the sum would come out garbage.
    const expected = new Set(this.topology.neighbourIds(m.from).filter((v) => this.advertised.has(v)));
    const addressed = new Set<number>();
    for (const { to, box } of m.boxes) {
      if (!expected.has(to))
        this.reject(stage, `client ${m.from} sent a box to ${to}, not one of its neighbours in the round`);
      if (addressed.has(to)) this.reject(stage, `client ${m.from} sent two boxes to ${to}`);
      if (!(box instanceof Uint8Array)) this.reject(stage, `client ${m.from}: box to ${to} is not bytes`);
      addressed.add(to);
    }
    if (addressed.size !== expected.size) {
      this.reject(
        stage,
        `client ${m.from} sent ${addressed.size} boxes, expected one to each of its ${expected.size} neighbours`,
      );
    }
    this.sharedBoxes.set(m.from, m);
  }

  closeKeySharing(): ForwardedSharesMessage[] {
    const stage: SecAggStage = 'share-keys';
    this.expectStage('share-keys', stage);
    this.sharing = this.pruneThinNeighbourhoods(new Set(this.sharedBoxes.keys()), stage, 'shared keys');
    const inbox = new Map<number, { from: number; box: Uint8Array }[]>();
    for (const id of this.sharing) inbox.set(id, []);
    for (const from of [...this.sharing].sort((a, b) => a - b)) {
      for (const { to, box } of this.sharedBoxes.get(from)!.boxes) inbox.get(to)?.push({ from, box });
    }
    this.sharedBoxes.clear();
    this.stage = 'masked-input';
    return [...inbox.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([to, boxes]) => ({ type: 'forwarded-shares', to, boxes }));
  }

  // ---- round 2: masked input collection -----------------------------------------------------

  /** Folds the masked vector into the running sum right away; the message can be dropped after. */
  receiveMaskedInput(m: MaskedInputMessage): void {
    const stage: SecAggStage = 'masked-input';
    this.expectStage('masked-input', stage);
    this.expectMember(m.from, stage);
    if (!this.sharing.has(m.from))
      this.reject(stage, `client ${m.from} did not complete key sharing; its input cannot be unmasked`);
    if (this.survivors.has(m.from)) this.reject(stage, `client ${m.from} sent its masked input twice`);
    if (!(m.masked instanceof Uint32Array) || m.masked.length !== this.params.vectorLength) {
      this.reject(
        stage,
        `client ${m.from}: masked input must be ${this.params.vectorLength} 32-bit words, got ${m.masked?.length}`,
      );
    }
    this.sum ??= new Uint32Array(this.params.vectorLength);
    accumulate(this.sum, [{ stream: arrayStream(m.masked), sign: 1 }], this.crypto.kernel);
    this.survivors.add(m.from);
  }

  closeMaskedInputs(): UnmaskRequestMessage[] {
    const stage: SecAggStage = 'masked-input';
    this.expectStage('masked-input', stage);
    const t = this.params.threshold;
    const survivors = [...this.survivors].sort((a, b) => a - b);
    if (survivors.length < t) {
      this.abort(
        'too-few-clients',
        stage,
        `only ${survivors.length} clients sent masked inputs, fewer than the threshold ${t}`,
      );
    }
    for (const u of survivors) {
      const around = this.topology.neighbourIds(u).filter((v) => this.survivors.has(v)).length + 1;
      if (around < t) {
        this.abort(
          'neighbourhood-too-small',
          stage,
          `client ${u} has only ${around - 1} surviving neighbours; with itself that is fewer than the ` +
            `threshold ${t} needed to rebuild its self-mask`,
        );
      }
    }
    for (const v of this.droppedAfterSharing()) {
      const holders = this.topology.neighbourIds(v).filter((w) => this.survivors.has(w)).length;
      if (holders > 0 && holders < t) {
        this.abort(
          'neighbourhood-too-small',
          stage,
          `client ${v} dropped after sharing keys and only ${holders} of its neighbours survived to hold ` +
            `shares of its mask key, fewer than the threshold ${t}`,
        );
      }
    }
    const components = this.topology.survivorComponents(survivors);
    if (components.length > 1) {
      this.abort(
        'disconnected-survivors',
        stage,
        `the survivors fall into ${components.length} groups with no mask between them (sizes ` +
          `${components.map((c) => c.length).join(', ')}); unmasking would reveal each group's partial sum`,
      );
    }
    this.stage = 'unmasking';
    return survivors.map((to) => {
      const around = this.topology.neighbourIds(to).filter((v) => this.sharing.has(v));
      const request: UnmaskRequestMessage = {
        type: 'unmask-request',
        to,
        survivors,
        selfMaskSharesOf: [to, ...around.filter((v) => this.survivors.has(v))],
        keySharesOf: around.filter((v) => !this.survivors.has(v)),
      };
      this.requests.set(to, request);
      return request;
    });
  }

  // ---- round 3: unmasking -------------------------------------------------------------------

  receiveUnmaskResponse(m: UnmaskResponseMessage): void {
    const stage: SecAggStage = 'unmasking';
    this.expectStage('unmasking', stage);
    this.expectMember(m.from, stage);
    const request = this.requests.get(m.from);
    if (!request) this.reject(stage, `client ${m.from} was not asked to unmask`);
    if (this.responses.has(m.from)) this.reject(stage, `client ${m.from} answered twice`);
    const matches = (asked: readonly number[], got: readonly HeldShare[], what: string) => {
      const gotIds = got.map((s) => s.of);
      if (
        gotIds.length !== asked.length ||
        new Set(gotIds).size !== gotIds.length ||
        !asked.every((v) => gotIds.includes(v))
      ) {
        this.reject(stage, `client ${m.from} did not return exactly the ${what} shares asked for`);
      }
      for (const s of got) {
        if (!(s.share instanceof Uint32Array) || s.share.length !== SHARE_WORDS) {
          this.reject(
            stage,
            `client ${m.from}: ${what} share of client ${s.of} must be ${SHARE_WORDS} words`,
          );
        }
      }
    };
    matches(request.selfMaskSharesOf, m.selfMaskShares, 'self-mask');
    matches(request.keySharesOf, m.keyShares, 'mask-key');
    const x = this.topology.sharePoint(m.from);
    const file = (into: Map<number, Share[]>, shares: readonly HeldShare[]) => {
      for (const { of, share } of shares) {
        let list = into.get(of);
        if (!list) into.set(of, (list = []));
        list.push({ x, y: share });
      }
    };
    file(this.selfMaskShares, m.selfMaskShares);
    file(this.keyShares, m.keyShares);
    this.responses.add(m.from);
  }

  /** Rebuild the secrets, remove every remaining mask, decode the sum. */
  finish(): SecAggResult {
    const stage: SecAggStage = 'unmasking';
    this.expectStage('unmasking', stage);
    const t = this.params.threshold;
    const prg = this.crypto.maskPrg(this.params.prg);
    const lagrangeCache = new Map<string, Float64Array>();
    const rebuild = (owner: number, received: Map<number, Share[]>, what: string): Uint8Array => {
      // Any t shares will do; taking those with the smallest points makes repeated sets (and so the
      // cached Lagrange coefficients) likely.
      const shares = [...(received.get(owner) ?? [])].sort((a, b) => a.x - b.x).slice(0, t);
      if (shares.length < t) {
        this.abort(
          'reconstruction-failed',
          stage,
          `only ${shares.length} shares of client ${owner}'s ${what} arrived, ${t} needed`,
        );
      }
      const key = shares.map((s) => s.x).join(',');
      let lambdas = lagrangeCache.get(key);
      if (!lambdas) lagrangeCache.set(key, (lambdas = lagrangeAtZero(shares.map((s) => s.x))));
      try {
        return combineShares(shares, t, SECRET_BYTES, lambdas);
      } catch (e) {
        this.abort('reconstruction-failed', stage, `client ${owner}'s ${what}: ${(e as Error).message}`);
      }
    };

    const streams: SignedStream[] = [];
    const survivors = [...this.survivors].sort((a, b) => a - b);
    for (const u of survivors) {
      const seed = rebuild(u, this.selfMaskShares, 'self-mask seed');
      streams.push({ stream: prg.open(selfMaskKey(seed, this.params.roundId, u)), sign: -1 });
    }
    const recovered: number[] = [];
    for (const v of this.droppedAfterSharing()) {
      const maskedWith = this.topology.neighbourIds(v).filter((u) => this.survivors.has(u));
      if (maskedWith.length === 0) continue;
      const secretKey = rebuild(v, this.keyShares, 'mask key');
      const advertisedKey = this.keys.get(v)!.maskKey;
      if (!equalBytes(this.crypto.keyAgreement.publicKeyOf(secretKey), advertisedKey)) {
        this.abort(
          'reconstruction-failed',
          stage,
          `the rebuilt mask key of client ${v} does not match its advertised public key`,
        );
      }
      for (const u of maskedWith) {
        const shared = this.crypto.keyAgreement.agree(secretKey, this.keys.get(u)!.maskKey);
        // u added the pair's mask if u < v and subtracted it otherwise; undo exactly that.
        streams.push({
          stream: prg.open(pairwiseMaskKey(shared, this.params.roundId, u, v)),
          sign: u < v ? -1 : 1,
        });
      }
      recovered.push(v);
    }
    const sum = this.sum!;
    accumulate(sum, streams, this.crypto.kernel);
    const q = this.params.quantization;
    const result: SecAggResult = {
      sum: dequantizeSum(sum, survivors.length, q),
      survivors,
      errorBound: sumErrorBound(q, survivors.length),
      recoveredDropouts: recovered,
      excluded: [...this.excluded],
    };
    this.sum = undefined;
    this.stage = 'done';
    return result;
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** U2 \ U3: shared keys, never sent a masked input. */
  private droppedAfterSharing(): number[] {
    return [...this.sharing].filter((v) => !this.survivors.has(v)).sort((a, b) => a - b);
  }

  /**
   * Drop, repeatedly, every client with fewer than t - 1 present neighbours: its secrets could not be
   * rebuilt by t holders, so it must not take part. Aborts if fewer than t clients remain.
   */
  private pruneThinNeighbourhoods(present: Set<number>, stage: SecAggStage, did: string): Set<number> {
    const t = this.params.threshold;
    if (present.size < t) {
      this.abort(
        'too-few-clients',
        stage,
        `only ${present.size} clients ${did}, fewer than the threshold ${t}`,
      );
    }
    const before = present.size;
    let changed = true;
    while (changed) {
      changed = false;
      for (const u of [...present]) {
        const around = this.topology.neighbourIds(u).filter((v) => present.has(v)).length;
        if (around + 1 < t) {
          present.delete(u);
          this.excluded.push(u);
          changed = true;
        }
      }
    }
    if (present.size < t) {
      this.abort(
        'too-few-clients',
        stage,
        `${before} clients ${did}, but only ${present.size} of them have at least t - 1 = ${t - 1} neighbours ` +
          `present, fewer than the threshold ${t}`,
      );
    }
    return present;
  }

  private expectStage(expected: ServerStage, stage: SecAggStage): void {
    if (this.stage !== expected) {
      throw new SecAggError('out-of-order', stage, `server is at '${this.stage}', expected '${expected}'`);
    }
  }

  private expectMember(id: number, stage: SecAggStage): void {
    if (!this.topology.has(id)) this.reject(stage, `client ${id} is not part of this round`);
  }

  /** A bad message is refused without changing any state: the round carries on without it. */
  private reject(stage: SecAggStage, message: string): never {
    throw new SecAggError('bad-message', stage, message);
  }

  private abort(
    code: 'too-few-clients' | 'neighbourhood-too-small' | 'disconnected-survivors' | 'reconstruction-failed',
    stage: SecAggStage,
    message: string,
  ): never {
    this.stage = 'aborted';
    this.sum = undefined;
    throw new SecAggAbortError(code, stage, message);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
