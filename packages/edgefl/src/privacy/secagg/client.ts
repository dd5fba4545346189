/**
 * The client side of SecAgg / SecAgg+ as a transport-free state machine. Each method consumes the
 * server's message for one round and returns the client's reply:
 *
 *   advertiseKeys()                  -> two fresh X25519 public keys
 *   shareKeys(directory)             -> Shamir shares of (mask secret key, self-mask seed), sealed per neighbour
 *   maskInput(forwarded, input)      -> quantized input + self-mask + pairwise masks, mod 2^32
 *   unmask(request)                  -> the shares the server needs, after checking it may have them
 *
 * The client never reveals, for the same client, both a share of its self-mask seed and a share of
 * its mask key (that pair would let the server strip every mask off that client's input), answers
 * about nobody outside its neighbourhood, and answers at most one unmasking request.
 */
import { accumulate, type SignedStream } from './accumulate.js';
import type { SecAggCrypto } from './crypto-suite.js';
import {
  SecAggAbortError,
  SecAggError,
  SecAggRefusalError,
  type SecAggErrorCode,
  type SecAggStage,
} from './errors.js';
import { pairwiseMaskKey, selfMaskKey, shareBoxKey } from './kdf.js';
import { checkKey, type KeyPair } from './key-agreement.js';
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
import { allocateMaskedVector } from './codec.js';
import type { SecAggParams } from './params.js';
import { CHUNK_WORDS, PRG_KEY_BYTES } from './prg.js';
import { quantizationStep, quantizeInto } from './quantize.js';
import { randomBytes } from './random.js';
import { SHARE_WORDS, splitSecret } from './shamir.js';
import { openShares, sealShares } from './share-box.js';
import { RoundTopology } from './topology.js';

type ClientStage = 'new' | 'advertised' | 'shared' | 'masked' | 'answered' | 'failed';

interface SharesHeld {
  /** Share of the holder's neighbour's mask secret key. */
  readonly maskKey: Uint32Array;
  /** Share of the neighbour's self-mask seed. */
  readonly selfMaskSeed: Uint32Array;
}

export interface SecAggClientOptions {
  /** Reuse one topology for many in-process clients (it is derived from the params either way). */
  readonly topology?: RoundTopology;
}

export class SecAggClient {
  private stage: ClientStage = 'new';
  private readonly topology: RoundTopology;
  private readonly neighbours: ReadonlySet<number>;
  private encryptionKeys?: KeyPair;
  private maskKeys?: KeyPair;
  private selfMaskSeed?: Uint8Array;
  /** Neighbours that advertised keys (from the directory). */
  private readonly peers = new Map<number, PublicKeys>();
  /** X25519 secrets shared with each peer's encryption key, for the share boxes. */
  private readonly boxSecrets = new Map<number, Uint8Array>();
  /** Shares this client holds, by owner: its own and those received from neighbours. */
  private readonly held = new Map<number, SharesHeld>();
  private clippedValues = 0;

  constructor(
    readonly id: number,
    readonly params: SecAggParams,
    private readonly crypto: SecAggCrypto,
    options: SecAggClientOptions = {},
  ) {
    this.topology = options.topology ?? new RoundTopology(params);
    if (this.topology.params !== params) throw new RangeError('client: topology was built for other params');
    if (!this.topology.has(id)) {
      throw new SecAggError('invalid-params', 'setup', `client ${id} is not in this round's clientIds`);
    }
    this.neighbours = new Set(this.topology.neighbourIds(id));
  }

  /** How many input values were outside [-range, range] and clipped (known after maskInput). */
  get clipped(): number {
    return this.clippedValues;
  }

  /** Round 0: fresh key pairs for this round only. */
  advertiseKeys(): AdvertiseKeysMessage {
    this.expectStage('new', 'advertise-keys');
    this.encryptionKeys = this.crypto.keyAgreement.generateKeyPair();
    this.maskKeys = this.crypto.keyAgreement.generateKeyPair();
    this.stage = 'advertised';
    return {
      type: 'advertise-keys',
      from: this.id,
      encryptionKey: this.encryptionKeys.publicKey,
      maskKey: this.maskKeys.publicKey,
    };
  }

  /** Round 1: share the mask key and a fresh self-mask seed among the neighbours that advertised. */
  shareKeys(directory: KeyDirectoryMessage): ShareKeysMessage {
    const stage: SecAggStage = 'share-keys';
    this.expectStage('advertised', stage);
    this.expectAddressedToMe(directory.to, stage);
    const seenKeys = new Set<string>([hex(this.encryptionKeys!.publicKey), hex(this.maskKeys!.publicKey)]);
    for (const peer of directory.peers) {
      if (!this.neighbours.has(peer.id))
        this.refuse('outside-neighbourhood', stage, `client ${peer.id} is not my neighbour`);
      if (this.peers.has(peer.id))
        this.refuse('bad-message', stage, `the directory lists client ${peer.id} twice`);
      for (const key of [peer.encryptionKey, peer.maskKey]) {
        try {
          checkKey(key, `public key of client ${peer.id}`);
        } catch (e) {
          this.refuse('bad-message', stage, (e as Error).message);
        }
        // Distinct keys stop a server from reflecting a client's own key back at it.
        if (seenKeys.has(hex(key)))
          this.refuse('bad-message', stage, `a public key of client ${peer.id} is reused`);
        seenKeys.add(hex(key));
      }
      this.peers.set(peer.id, peer);
    }
    const t = this.params.threshold;
    if (this.peers.size + 1 < t) {
      this.fail();
      throw new SecAggAbortError(
        'neighbourhood-too-small',
        stage,
        `client ${this.id}: only ${this.peers.size} of its ${this.neighbours.size} neighbours advertised keys; ` +
          `with itself that is fewer than the threshold ${t}`,
      );
    }

    this.selfMaskSeed = randomBytes(PRG_KEY_BYTES);
    const holders = [this.id, ...this.peers.keys()];
    const points = holders.map((h) => this.topology.sharePoint(h));
    const keyShares = splitSecret(this.maskKeys!.secretKey, t, points);
    const seedShares = splitSecret(this.selfMaskSeed, t, points);
    this.held.set(this.id, { maskKey: keyShares[0].y, selfMaskSeed: seedShares[0].y });

    const boxes = holders.slice(1).map((to, i) => {
      const plaintext = new Uint8Array(8 * SHARE_WORDS);
      plaintext.set(wordBytes(keyShares[i + 1].y), 0);
      plaintext.set(wordBytes(seedShares[i + 1].y), 4 * SHARE_WORDS);
      const box = sealShares(this.boxKey(to, this.id, to), this.params.roundId, this.id, to, plaintext);
      return { to, box };
    });
    this.stage = 'shared';
    return { type: 'share-keys', from: this.id, boxes };
  }

  /**
   * Round 2: open the neighbours' boxes, then mask the input. The client masks with exactly the
   * neighbours whose boxes it received; the server forwards boxes symmetrically, so both ends of
   * every pair agree on whether their mask is there.
   */
  maskInput(forwarded: ForwardedSharesMessage, input: Float32Array): MaskedInputMessage {
    const stage: SecAggStage = 'masked-input';
    this.expectStage('shared', stage);
    this.expectAddressedToMe(forwarded.to, stage);
    if (!(input instanceof Float32Array) || input.length !== this.params.vectorLength) {
      this.fail();
      throw new SecAggError(
        'invalid-input',
        stage,
        `client ${this.id}: input must be a Float32Array of length ${this.params.vectorLength}, got ` +
          `${input?.constructor?.name} of length ${input?.length}`,
      );
    }
    const maskedWith: number[] = [];
    for (const { from, box } of forwarded.boxes) {
      if (!this.peers.has(from))
        this.refuse(
          'outside-neighbourhood',
          stage,
          `got a box from client ${from}, not a neighbour that advertised`,
        );
      if (this.held.has(from)) this.refuse('bad-message', stage, `got two boxes from client ${from}`);
      const plaintext = openShares(this.boxKey(from, from, this.id), this.params.roundId, from, this.id, box);
      if (!plaintext || plaintext.length !== 8 * SHARE_WORDS) {
        this.refuse('bad-message', stage, `the box from client ${from} does not authenticate`);
      }
      this.held.set(from, {
        maskKey: readWords(plaintext, 0, SHARE_WORDS),
        selfMaskSeed: readWords(plaintext, 4 * SHARE_WORDS, SHARE_WORDS),
      });
      maskedWith.push(from);
    }
    const t = this.params.threshold;
    if (maskedWith.length + 1 < t) {
      this.fail();
      throw new SecAggAbortError(
        'neighbourhood-too-small',
        stage,
        `client ${this.id}: only ${maskedWith.length} neighbours shared their keys; with itself that is fewer ` +
          `than the threshold ${t}, so its input could not be protected`,
      );
    }

    const prg = this.crypto.maskPrg(this.params.prg);
    const streams: SignedStream[] = [
      { stream: prg.open(selfMaskKey(this.selfMaskSeed!, this.params.roundId, this.id)), sign: 1 },
    ];
    for (const v of maskedWith) {
      const shared = this.crypto.keyAgreement.agree(this.maskKeys!.secretKey, this.peers.get(v)!.maskKey);
      const seed = pairwiseMaskKey(shared, this.params.roundId, this.id, v);
      // Bonawitz et al.'s convention: the lower id adds the pair's mask, the higher subtracts it.
      streams.push({ stream: prg.open(seed), sign: this.id < v ? 1 : -1 });
    }

    const q = this.params.quantization;
    // Stochastic rounding draws its noise from a fresh CSPRNG-keyed stream: unpredictable and cheap.
    const rounding = q.rounding === 'stochastic' ? prg.open(randomBytes(PRG_KEY_BYTES)) : undefined;
    const noise = rounding ? new Uint32Array(CHUNK_WORDS) : undefined;
    const masked = allocateMaskedVector(this.params.vectorLength);
    const kernel = this.crypto.kernel;
    const scale = 1 / quantizationStep(q);
    let clipped = 0;
    try {
      // Each chunk is quantized straight into the accumulator, then every mask is added to it.
      accumulate(masked, streams, kernel, (chunk, offset) => {
        const slice = input.subarray(offset, offset + chunk.length);
        if (!rounding) {
          // Fast path; a chunk with anything out of range is redone exactly below.
          kernel.floats.set(slice);
          if (kernel.quantizeNearest(chunk.length, q.range, scale) === 0) return;
        }
        const words = noise?.subarray(0, chunk.length);
        if (words) rounding!.fill(words);
        clipped += quantizeInto(slice, chunk, q, words, offset).clipped;
      });
    } catch (e) {
      this.fail();
      throw e;
    }
    this.clippedValues = clipped;
    this.stage = 'masked';
    return { type: 'masked-input', from: this.id, masked };
  }

  /** Round 3: reveal self-mask shares of survivors and key shares of dropped clients — if safe. */
  unmask(request: UnmaskRequestMessage): UnmaskResponseMessage {
    const stage: SecAggStage = 'unmasking';
    if (this.stage === 'answered') {
      this.refuse('already-answered', stage, 'it already answered an unmasking request this round');
    }
    this.expectStage('masked', stage);
    this.expectAddressedToMe(request.to, stage);
    const { selfMask, keys } = this.checkUnmaskRequest(request);
    const selfMaskShares: HeldShare[] = [...selfMask].map((of) => ({
      of,
      share: this.held.get(of)!.selfMaskSeed,
    }));
    const keyShares: HeldShare[] = [...keys].map((of) => ({ of, share: this.held.get(of)!.maskKey }));
    this.stage = 'answered';
    this.wipeSecrets();
    return { type: 'unmask-response', from: this.id, selfMaskShares, keyShares };
  }

  /** Every rule an unmasking request must pass before this client reveals anything. */
  private checkUnmaskRequest(request: UnmaskRequestMessage): { selfMask: Set<number>; keys: Set<number> } {
    const rule = (ok: boolean, code: SecAggErrorCode, message: () => string) => {
      if (!ok) this.refuse(code, 'unmasking', message());
    };
    const survivors = new Set(request.survivors);
    const selfMask = new Set(request.selfMaskSharesOf);
    const keys = new Set(request.keySharesOf);
    rule(
      survivors.size === request.survivors.length &&
        selfMask.size === request.selfMaskSharesOf.length &&
        keys.size === request.keySharesOf.length,
      'inconsistent-request',
      () => 'the request lists a client twice',
    );
    for (const v of selfMask) {
      rule(
        !keys.has(v),
        'double-share-request',
        () =>
          `the server asks for both the self-mask share and the mask-key share of client ${v}, which ` +
          `together would unmask that client's input`,
      );
      rule(
        survivors.has(v),
        'inconsistent-request',
        () => `self-mask share asked for client ${v}, not listed as a survivor`,
      );
    }
    for (const v of keys) {
      rule(
        !survivors.has(v),
        'inconsistent-request',
        () => `mask-key share asked for client ${v}, listed as a survivor`,
      );
    }
    for (const v of [...selfMask, ...keys]) {
      rule(
        v === this.id || this.neighbours.has(v),
        'outside-neighbourhood',
        () => `client ${v} is not in its neighbourhood`,
      );
      rule(this.held.has(v), 'inconsistent-request', () => `it holds no share of client ${v}`);
    }
    rule(
      !keys.has(this.id),
      'inconsistent-request',
      () => 'the server asks for its own mask-key share, as if it had dropped',
    );
    rule(
      survivors.has(this.id),
      'inconsistent-request',
      () => 'it is not listed among the survivors, yet asked to unmask',
    );
    // Every neighbour called a survivor must be one this client masked with.
    let aroundMe = 1;
    for (const v of this.neighbours) {
      if (!survivors.has(v)) continue;
      rule(
        this.held.has(v),
        'inconsistent-request',
        () => `client ${v} is listed as a survivor but never shared keys with it`,
      );
      aroundMe++;
    }
    const t = this.params.threshold;
    rule(
      survivors.size >= t,
      'too-few-clients',
      () => `only ${survivors.size} survivors, fewer than the threshold ${t}`,
    );
    rule(
      aroundMe >= t,
      'neighbourhood-too-small',
      () => `only ${aroundMe} of its neighbourhood (itself included) survived, fewer than the threshold ${t}`,
    );
    const components = this.topology.survivorComponents(request.survivors);
    rule(
      components.length === 1,
      'disconnected-survivors',
      () =>
        `the survivors fall into ${components.length} groups with no mask between them (sizes ` +
        `${components.map((c) => c.length).join(', ')}); unmasking would reveal each group's partial sum`,
    );
    return { selfMask, keys };
  }

  /**
   * The key of the box from `sender` to `receiver`, one of which is this client. The X25519 secret
   * with each peer is computed once and reused for both directions (each gets its own HKDF key).
   */
  private boxKey(peer: number, sender: number, receiver: number): Uint8Array {
    let shared = this.boxSecrets.get(peer);
    if (!shared) {
      shared = this.crypto.keyAgreement.agree(
        this.encryptionKeys!.secretKey,
        this.peers.get(peer)!.encryptionKey,
      );
      this.boxSecrets.set(peer, shared);
    }
    return shareBoxKey(shared, this.params.roundId, sender, receiver);
  }

  private expectStage(expected: ClientStage, stage: SecAggStage): void {
    if (this.stage !== expected) {
      throw new SecAggError(
        'out-of-order',
        stage,
        `client ${this.id} is at '${this.stage}', expected '${expected}'`,
      );
    }
  }

  private expectAddressedToMe(to: number, stage: SecAggStage): void {
    if (to !== this.id) this.refuse('bad-message', stage, `message addressed to client ${to}`);
  }

  private refuse(code: SecAggErrorCode, stage: SecAggStage, message: string): never {
    this.fail();
    throw new SecAggRefusalError(this.id, code, stage, message);
  }

  /** Once a client refuses or aborts it takes no further part in the round. */
  private fail(): void {
    this.stage = 'failed';
    this.wipeSecrets();
  }

  /** Best effort: JavaScript cannot guarantee erasure, but nothing secret outlives the round here. */
  private wipeSecrets(): void {
    for (const secret of this.boxSecrets.values()) secret.fill(0);
    this.maskKeys?.secretKey.fill(0);
    this.encryptionKeys?.secretKey.fill(0);
    this.selfMaskSeed?.fill(0);
  }
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function wordBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(4 * words.length);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint32(4 * i, w, true));
  return out;
}

function readWords(bytes: Uint8Array, offset: number, count: number): Uint32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 4 * count);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(4 * i, true);
  return out;
}
