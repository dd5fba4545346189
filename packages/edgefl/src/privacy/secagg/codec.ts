/**
 * Compact binary encoding of the protocol messages, so sizes can be measured and messages can cross
 * any transport. Layout: 4-byte header (magic 'S','A', version, type tag), then fields as
 * little-endian uint32s and raw byte strings with a uint32 length prefix. A masked input's words
 * start at byte 12, so a decoder can view them in place when the buffer is 4-byte aligned.
 */
import { SecAggError, type SecAggStage } from './errors.js';
import type { HeldShare, SecAggMessage } from './messages.js';
import { HOST_IS_LITTLE_ENDIAN } from './prg.js';

const MAGIC_0 = 0x53; // 'S'
const MAGIC_1 = 0x41; // 'A'
const VERSION = 1;

const TAGS = {
  'advertise-keys': 1,
  'key-directory': 2,
  'share-keys': 3,
  'forwarded-shares': 4,
  'masked-input': 5,
  'unmask-request': 6,
  'unmask-response': 7,
} as const;
type MessageType = keyof typeof TAGS;
const TYPE_BY_TAG = new Map<number, MessageType>(Object.entries(TAGS).map(([k, v]) => [v, k as MessageType]));

const STAGE: Record<MessageType, SecAggStage> = {
  'advertise-keys': 'advertise-keys',
  'key-directory': 'advertise-keys',
  'share-keys': 'share-keys',
  'forwarded-shares': 'share-keys',
  'masked-input': 'masked-input',
  'unmask-request': 'unmasking',
  'unmask-response': 'unmasking',
};

class Writer {
  private bytes: Uint8Array;
  private view: DataView;
  private at = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
    this.view = new DataView(this.bytes.buffer);
  }

  private ensure(extra: number): void {
    if (this.at + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.at + extra));
    grown.set(this.bytes);
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.bytes[this.at++] = v;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.at, v, true);
    this.at += 4;
    return this;
  }

  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.bytes.set(b, this.at);
    this.at += b.length;
    return this;
  }

  sized(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }

  ids(ids: readonly number[]): this {
    this.u32(ids.length);
    for (const id of ids) this.u32(id);
    return this;
  }

  words(w: Uint32Array): this {
    // Little-endian host (checked when masks are made): the words' memory is already the wire format.
    return this.raw(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  }

  finish(): Uint8Array {
    return this.at === this.bytes.length ? this.bytes : this.bytes.subarray(0, this.at);
  }
}

class Reader {
  private readonly view: DataView;
  private at = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly stage: SecAggStage,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(what: string): never {
    throw new SecAggError('bad-message', this.stage, `malformed message: ${what}`);
  }

  private need(n: number, what: string): void {
    if (this.at + n > this.bytes.length) this.fail(`truncated while reading ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.at++];
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }

  raw(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }

  sized(what: string): Uint8Array {
    return this.raw(this.u32(`${what} length`), what);
  }

  count(perItemBytes: number, what: string): number {
    const n = this.u32(`${what} count`);
    // A count that cannot fit in the rest of the message is rejected before anything is allocated.
    if (n * perItemBytes > this.bytes.length - this.at)
      this.fail(`${what} count ${n} exceeds the message size`);
    return n;
  }

  ids(what: string): number[] {
    const n = this.count(4, what);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.u32(what));
    return out;
  }

  words(n: number, what: string): Uint32Array {
    this.need(4 * n, what);
    const offset = this.bytes.byteOffset + this.at;
    this.at += 4 * n;
    if (offset % 4 === 0 && HOST_IS_LITTLE_ENDIAN) return new Uint32Array(this.bytes.buffer, offset, n);
    const out = new Uint32Array(n);
    const view = new DataView(this.bytes.buffer, offset, 4 * n);
    for (let i = 0; i < n; i++) out[i] = view.getUint32(4 * i, true);
    return out;
  }

  end(): void {
    if (this.at !== this.bytes.length) this.fail(`${this.bytes.length - this.at} unexpected trailing bytes`);
  }
}

function writeShares(w: Writer, shares: readonly HeldShare[]): void {
  w.u32(shares.length);
  for (const s of shares) w.u32(s.of).u32(s.share.length).words(s.share);
}

function readShares(r: Reader, what: string): HeldShare[] {
  const n = r.count(8, what);
  const out: HeldShare[] = [];
  for (let i = 0; i < n; i++) {
    const of = r.u32(`${what} owner`);
    const length = r.u32(`${what} length`);
    out.push({ of, share: r.words(length, what).slice() });
  }
  return out;
}

const MASKED_HEADER_BYTES = 12;

/**
 * A zeroed vector for a masked input with room for its message header in front, so that encoding the
 * message writes 12 bytes instead of copying megabytes.
 */
export function allocateMaskedVector(length: number): Uint32Array {
  return new Uint32Array(new ArrayBuffer(MASKED_HEADER_BYTES + 4 * length), MASKED_HEADER_BYTES, length);
}

export function encodeMessage(m: SecAggMessage): Uint8Array {
  const header = (w: Writer) => w.u8(MAGIC_0).u8(MAGIC_1).u8(VERSION).u8(TAGS[m.type]);
  switch (m.type) {
    case 'advertise-keys':
      return header(new Writer(80)).u32(m.from).sized(m.encryptionKey).sized(m.maskKey).finish();
    case 'key-directory': {
      const w = header(new Writer(12 + 76 * m.peers.length))
        .u32(m.to)
        .u32(m.peers.length);
      for (const p of m.peers) w.u32(p.id).sized(p.encryptionKey).sized(p.maskKey);
      return w.finish();
    }
    case 'share-keys': {
      const w = header(new Writer(12 + 128 * m.boxes.length))
        .u32(m.from)
        .u32(m.boxes.length);
      for (const b of m.boxes) w.u32(b.to).sized(b.box);
      return w.finish();
    }
    case 'forwarded-shares': {
      const w = header(new Writer(12 + 128 * m.boxes.length))
        .u32(m.to)
        .u32(m.boxes.length);
      for (const b of m.boxes) w.u32(b.from).sized(b.box);
      return w.finish();
    }
    case 'masked-input': {
      const { masked } = m;
      if (
        HOST_IS_LITTLE_ENDIAN &&
        masked.byteOffset === MASKED_HEADER_BYTES &&
        masked.buffer.byteLength === MASKED_HEADER_BYTES + masked.byteLength &&
        masked.buffer instanceof ArrayBuffer
      ) {
        // Built by allocateMaskedVector: write the header into the reserved room, share the words.
        const bytes = new Uint8Array(masked.buffer);
        bytes.set(header(new Writer(MASKED_HEADER_BYTES)).u32(m.from).u32(masked.length).finish());
        return bytes;
      }
      return header(new Writer(MASKED_HEADER_BYTES + masked.byteLength))
        .u32(m.from)
        .u32(masked.length)
        .words(masked)
        .finish();
    }
    case 'unmask-request':
      return header(new Writer(64))
        .u32(m.to)
        .ids(m.survivors)
        .ids(m.selfMaskSharesOf)
        .ids(m.keySharesOf)
        .finish();
    case 'unmask-response': {
      const w = header(new Writer(64)).u32(m.from);
      writeShares(w, m.selfMaskShares);
      writeShares(w, m.keyShares);
      return w.finish();
    }
  }
}

/**
 * Decode and structurally check a message. Byte fields are copied out; a masked input's words are a
 * view into `bytes` when alignment allows (no copy of the large vector), so keep `bytes` unchanged.
 */
export function decodeMessage(bytes: Uint8Array): SecAggMessage {
  if (!(bytes instanceof Uint8Array) || bytes.length < 4 || bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) {
    throw new SecAggError('bad-message', 'setup', 'not a secure-aggregation message (bad magic)');
  }
  if (bytes[2] !== VERSION) {
    throw new SecAggError(
      'bad-message',
      'setup',
      `unsupported message version ${bytes[2]}, expected ${VERSION}`,
    );
  }
  const type = TYPE_BY_TAG.get(bytes[3]);
  if (!type) throw new SecAggError('bad-message', 'setup', `unknown message type tag ${bytes[3]}`);
  const r = new Reader(bytes, STAGE[type]);
  for (let i = 0; i < 4; i++) r.u8('header');
  let m: SecAggMessage;
  switch (type) {
    case 'advertise-keys':
      m = {
        type,
        from: r.u32('sender'),
        encryptionKey: r.sized('encryption key'),
        maskKey: r.sized('mask key'),
      };
      break;
    case 'key-directory': {
      const to = r.u32('receiver');
      const n = r.count(12, 'peers');
      const peers = [];
      for (let i = 0; i < n; i++) {
        peers.push({
          id: r.u32('peer id'),
          encryptionKey: r.sized('encryption key'),
          maskKey: r.sized('mask key'),
        });
      }
      m = { type, to, peers };
      break;
    }
    case 'share-keys': {
      const from = r.u32('sender');
      const n = r.count(8, 'boxes');
      const boxes = [];
      for (let i = 0; i < n; i++) boxes.push({ to: r.u32('box receiver'), box: r.sized('box') });
      m = { type, from, boxes };
      break;
    }
    case 'forwarded-shares': {
      const to = r.u32('receiver');
      const n = r.count(8, 'boxes');
      const boxes = [];
      for (let i = 0; i < n; i++) boxes.push({ from: r.u32('box sender'), box: r.sized('box') });
      m = { type, to, boxes };
      break;
    }
    case 'masked-input': {
      const from = r.u32('sender');
      const length = r.u32('vector length');
      m = { type, from, masked: r.words(length, 'masked vector') };
      break;
    }
    case 'unmask-request':
      m = {
        type,
        to: r.u32('receiver'),
        survivors: r.ids('survivors'),
        selfMaskSharesOf: r.ids('self-mask requests'),
        keySharesOf: r.ids('key requests'),
      };
      break;
    case 'unmask-response':
      m = {
        type,
        from: r.u32('sender'),
        selfMaskShares: readShares(r, 'self-mask shares'),
        keyShares: readShares(r, 'key shares'),
      };
      break;
  }
  r.end();
  return m;
}
