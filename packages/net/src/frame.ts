/**
 * The binary frame every protocol message travels in, one WebSocket binary message each:
 *
 *   [ header length H: uint32, little-endian ][ header: H bytes of UTF-8 JSON ][ payload: the rest ]
 *
 * The header says what the message is (`type`, round, task...); the payload carries the numbers
 * (global parameters as float32 little-endian, a codec's bytes, a secure-aggregation message) as
 * they are, never as JSON numbers. A message larger than one frame may carry is split into a first
 * frame holding the header with `chunks` (how many frames follow) and `payloadBytes` (the whole
 * payload's length), then `chunks` frames of type 'chunk' whose payloads are the payload's pieces in
 * order (see Chunker / Assembler).
 */

/** Why a frame or message was refused: the receiver answers with this message and drops it. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    /** A stable identifier a client in another language can match ('bad-frame', 'too-large'...). */
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type ProtocolErrorCode =
  | 'bad-frame'
  | 'bad-message'
  | 'too-large'
  | 'unsupported-version'
  | 'unauthorized'
  | 'revoked'
  | 'unexpected'
  | 'busy'
  | 'server-error';

/** The largest header accepted: headers carry instructions, never parameters. */
export const MAX_HEADER_BYTES = 64 * 1024;

export interface Frame {
  /** The parsed JSON header, not yet checked against a message schema. */
  header: unknown;
  payload: Uint8Array;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header's bytes: its JSON, padded with spaces (JSON whitespace) to a multiple of 4 bytes, so the
 * payload that follows starts 4-byte aligned and a receiver can read float32 values in place.
 */
function headerBytes(header: object): Uint8Array {
  const json = utf8.encode(JSON.stringify(header));
  const padded = json.length + ((4 - (json.length % 4)) % 4);
  if (padded > MAX_HEADER_BYTES)
    throw new ProtocolError('too-large', `frame header of ${padded} bytes exceeds ${MAX_HEADER_BYTES}`);
  if (padded === json.length) return json;
  const out = new Uint8Array(padded).fill(0x20);
  out.set(json);
  return out;
}

/** One frame's bytes. */
export function encodeFrame(header: object, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = headerBytes(header);
  const out = new Uint8Array(4 + h.length + payload.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 4);
  out.set(payload, 4 + h.length);
  return out;
}

/** Parses one frame; throws ProtocolError('bad-frame') naming what is wrong. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < 4)
    throw new ProtocolError(
      'bad-frame',
      `frame of ${bytes.length} bytes is shorter than its 4-byte header length`,
    );
  const h = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  if (h > MAX_HEADER_BYTES)
    throw new ProtocolError('bad-frame', `frame header length ${h} exceeds ${MAX_HEADER_BYTES}`);
  if (4 + h > bytes.length)
    throw new ProtocolError(
      'bad-frame',
      `frame header length ${h} runs past the frame's ${bytes.length} bytes`,
    );
  let header: unknown;
  try {
    header = JSON.parse(fromUtf8.decode(bytes.subarray(4, 4 + h)));
  } catch (e) {
    throw new ProtocolError('bad-frame', `frame header is not UTF-8 JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new ProtocolError('bad-frame', 'frame header is not a JSON object');
  return { header, payload: bytes.subarray(4 + h) };
}

/**
 * Splits a message into frames of at most `maxFrameBytes` each: one frame when it fits, else a
 * first frame with the header (marked with `chunks` and `payloadBytes`) and the payload in pieces.
 */
export function frameMessage(
  header: { type: string } & Record<string, unknown>,
  payload: Uint8Array,
  maxFrameBytes: number,
): Uint8Array[] {
  // Measured before building: a payload too large for one frame is never copied whole first.
  if (4 + headerBytes(header).length + payload.length <= maxFrameBytes) return [encodeFrame(header, payload)];
  const chunks = chunkFrames(payload, maxFrameBytes);
  return [firstFrame(header, chunks.length, payload.length, maxFrameBytes), ...chunks];
}

/**
 * A payload as 'chunk' frames of at most `maxFrameBytes`: the part of a chunked message that does
 * not depend on its header, so one payload sent to many peers (the global model to every client)
 * is framed once and shared (see firstFrame).
 */
export function chunkFrames(payload: Uint8Array, maxFrameBytes: number): Uint8Array[] {
  // Room for a chunk frame's own header ({"type":"chunk","seq":N} is well under 64 bytes).
  const piece = maxFrameBytes - 64;
  if (piece < 1024) throw new RangeError(`maxFrameBytes ${maxFrameBytes} is too small to chunk a payload`);
  const frames: Uint8Array[] = [];
  for (let k = 0; k * piece < payload.length; k++)
    frames.push(encodeFrame({ type: 'chunk', seq: k }, payload.subarray(k * piece, (k + 1) * piece)));
  return frames;
}

/** The first frame of a chunked message: its whole header, announcing `chunks` frames of `payloadBytes` in all. */
export function firstFrame(
  header: { type: string } & Record<string, unknown>,
  chunks: number,
  payloadBytes: number,
  maxFrameBytes: number,
): Uint8Array {
  // The header goes whole in the first frame: one that does not fit cannot be chunked.
  const first = chunks === 0 ? undefined : encodeFrame({ ...header, chunks, payloadBytes });
  if (!first || first.length > maxFrameBytes)
    throw new RangeError(
      `a '${header.type}' header of ${first?.length ?? encodeFrame(header).length} bytes does not fit a frame of ${maxFrameBytes}`,
    );
  return first;
}

/**
 * Reassembles chunked messages on one connection, holding at most `maxMessageBytes` of payload:
 * feed it every frame; it returns a whole message when one is complete, else undefined.
 */
export class Assembler {
  private pending?: {
    header: Record<string, unknown>;
    payload: Uint8Array;
    received: number;
    next: number;
    chunks: number;
  };

  constructor(private readonly maxMessageBytes: number) {}

  /** Whether a chunked message is being received (bytes of it are held). */
  get busy(): boolean {
    return this.pending !== undefined;
  }

  push(frame: Frame): Frame | undefined {
    const header = frame.header as Record<string, unknown>;
    const p = this.pending;
    if (header.type === 'chunk') {
      if (!p) throw new ProtocolError('bad-frame', 'a chunk frame arrived with no chunked message begun');
      if (header.seq !== p.next)
        throw new ProtocolError(
          'bad-frame',
          `chunk ${describe(header.seq)} arrived where chunk ${p.next} was due`,
        );
      if (p.received + frame.payload.length > p.payload.length)
        throw new ProtocolError(
          'bad-frame',
          `chunks carry more than the ${p.payload.length} payload bytes announced`,
        );
      p.payload.set(frame.payload, p.received);
      p.received += frame.payload.length;
      p.next++;
      if (p.next < p.chunks) return undefined;
      this.pending = undefined;
      if (p.received !== p.payload.length)
        throw new ProtocolError(
          'bad-frame',
          `chunks carried ${p.received} of the ${p.payload.length} payload bytes announced`,
        );
      return { header: p.header, payload: p.payload };
    }
    if (p)
      throw new ProtocolError(
        'bad-frame',
        `a ${describe(header.type)} message arrived inside a chunked ${describe(p.header.type)} message`,
      );
    if (header.chunks === undefined) {
      if (frame.payload.length > this.maxMessageBytes)
        throw tooLarge(frame.payload.length, this.maxMessageBytes);
      return frame;
    }
    const { chunks, payloadBytes } = header;
    if (
      !Number.isInteger(chunks) ||
      (chunks as number) < 1 ||
      !Number.isInteger(payloadBytes) ||
      (payloadBytes as number) < 0
    )
      throw new ProtocolError(
        'bad-frame',
        'a chunked message needs integer chunks >= 1 and payloadBytes >= 0',
      );
    if ((payloadBytes as number) > this.maxMessageBytes)
      throw tooLarge(payloadBytes as number, this.maxMessageBytes);
    const { chunks: _c, payloadBytes: _b, ...rest } = header;
    this.pending = {
      header: rest,
      payload: new Uint8Array(payloadBytes as number),
      received: 0,
      next: 0,
      chunks: chunks as number,
    };
    return undefined;
  }
}

/** A peer's value in an error message: JSON, cut short — never String(), which a crafted object can make throw. */
function describe(value: unknown): string {
  try {
    return (JSON.stringify(value) ?? 'undefined').slice(0, 40).replace(/"/g, "'");
  } catch {
    return 'an unreadable value';
  }
}

function tooLarge(bytes: number, limit: number): ProtocolError {
  return new ProtocolError('too-large', `a message of ${bytes} payload bytes exceeds the limit of ${limit}`);
}

/** Float32 values as little-endian bytes (a copy on big-endian hosts, a view otherwise). */
export function float32Bytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/** Little-endian float32 bytes as values (copied: the frame's buffer is not the caller's to keep). */
export function float32Values(bytes: Uint8Array, what: string): Float32Array {
  if (bytes.length % 4 !== 0)
    throw new ProtocolError(
      'bad-message',
      `${what}: ${bytes.length} bytes is not a whole number of float32 values`,
    );
  const out = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/**
 * Little-endian float32 bytes as values, without a copy where the bytes are 4-byte aligned (a
 * reassembled chunked payload always is): for payloads the caller owns and nobody else writes,
 * such as a client's update that is summed and dropped. Copies otherwise, like float32Values.
 */
export function float32View(bytes: Uint8Array, what: string): Float32Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0)
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return float32Values(bytes, what);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
