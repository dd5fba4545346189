/**
 * One client's WebSocket on the server: frames in (reassembled, size-limited, checked against the
 * client message schemas) and out (chunked, with back-pressure). Nothing here knows about rounds;
 * the server hands each checked message to whoever handles the connection's current state.
 *
 * Back-pressure: the server sends a client at most one model per task, and `send` waits while
 * the socket's unsent bytes exceed `highWaterBytes`, so a client that reads slowly holds back only
 * its own messages instead of growing the server's buffers without bound.
 */
import type { WebSocket } from 'ws';
import {
  Assembler,
  ProtocolError,
  decodeFrame,
  firstFrame,
  frameMessage,
  parseClientMessage,
  type ClientMessage,
  type ProtocolErrorCode,
} from '@edgefl/net';

export interface ConnectionLimits {
  /** Frames larger than this are chunked when sent (default 1 MiB). */
  maxFrameBytes: number;
  /** The largest message payload a client may send (default: enough for the model's update). */
  maxMessageBytes: number;
  /** `send` waits while more than this many bytes are unsent (default 8 MiB). */
  highWaterBytes: number;
  /** Refused messages after which the connection is closed (default 20). */
  maxRefusals: number;
}

export type MessageHandler = (message: ClientMessage, payload: Uint8Array) => void | Promise<void>;

export class Connection {
  private readonly assembler: Assembler;
  private handler?: MessageHandler;
  private refusals = 0;
  private chain = Promise.resolve();
  /** Set once the client proved its identity. */
  clientId?: string;
  readonly closed: Promise<{ code: number; reason: string }>;
  private isClosed = false;

  constructor(
    readonly socket: WebSocket,
    readonly address: string,
    private readonly limits: ConnectionLimits,
    /** Told about every refused frame or message (for the metrics and the log). */
    private readonly onRefused: (conn: Connection, error: ProtocolError) => void,
  ) {
    this.assembler = new Assembler(limits.maxMessageBytes);
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => {
        this.isClosed = true;
        resolve({ code, reason: reason.toString() });
      }),
    );
    // ws reports a frame it will not read (past maxPayload, a protocol violation) as an 'error'
    // and closes the socket; without a listener that error would end the server process.
    socket.on('error', (e) =>
      onRefused(this, new ProtocolError(tooLargeOr(e), `connection error: ${e.message}`)),
    );
    socket.on('message', (data, isBinary) => this.receive(data as Buffer | ArrayBuffer | Buffer[], isBinary));
  }

  get open(): boolean {
    return !this.isClosed && this.socket.readyState === this.socket.OPEN;
  }

  /** Who handles the next messages (replacing the previous handler). */
  setHandler(handler: MessageHandler): void {
    this.handler = handler;
  }

  private receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.closing) return;
    let checked;
    try {
      if (!isBinary)
        throw new ProtocolError(
          'bad-frame',
          'text messages are not part of the protocol; send binary frames',
        );
      const bytes = Array.isArray(data) ? Buffer.concat(data) : data;
      const u8 =
        bytes instanceof ArrayBuffer
          ? new Uint8Array(bytes)
          : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const whole = this.assembler.push(decodeFrame(u8));
      if (!whole) return;
      checked = parseClientMessage(whole);
    } catch (e) {
      this.refuse(e);
      return;
    }
    const { message, payload } = checked;
    // In order, one at a time: a handler may be async (verifying, storing).
    this.chain = this.chain.then(async () => {
      try {
        if (!this.handler)
          throw new ProtocolError(
            'unexpected',
            `'${message.type}' arrived before the server was ready for it`,
          );
        await this.handler(message, payload);
      } catch (e) {
        this.refuse(e);
      }
    });
  }

  /** Refuses what a client sent: tells it why, counts it, and closes the connection when told to. */
  refuse(e: unknown, fatal = false): void {
    const error =
      e instanceof ProtocolError
        ? e
        : new ProtocolError('server-error', `the server failed on this message: ${(e as Error).message}`);
    this.onRefused(this, error);
    this.refusals++;
    const closing =
      fatal ||
      this.refusals >= this.limits.maxRefusals ||
      error.code === 'too-large' ||
      error.code === 'bad-frame';
    this.sendError(
      { type: 'error', code: error.code, message: error.message.slice(0, 2000), fatal: closing },
      closing,
    );
  }

  /** Sends an error and closes (an identity refused, a revoked client). */
  reject(code: ProtocolErrorCode, message: string): void {
    this.onRefused(this, new ProtocolError(code, message));
    this.sendError({ type: 'error', code, message, fatal: true }, true);
  }

  /** Sends a message; resolves when the socket has taken it without exceeding the high-water mark. */
  send(
    header: { type: string } & Record<string, unknown>,
    payload: Uint8Array = new Uint8Array(0),
  ): Promise<void> {
    return this.sendFrames(frameMessage(header, payload, this.limits.maxFrameBytes));
  }

  /**
   * Sends a message whose payload was framed once for many connections (`chunkFrames`, at this
   * connection's frame size): only the first frame, with the header, is this connection's own.
   */
  async sendShared(
    header: { type: string } & Record<string, unknown>,
    payloadBytes: number,
    chunks: Uint8Array[],
  ): Promise<void> {
    if (chunks.length === 0) return this.send(header);
    return this.sendFrames([
      firstFrame(header, chunks.length, payloadBytes, this.limits.maxFrameBytes),
      ...chunks,
    ]);
  }

  get maxFrameBytes(): number {
    return this.limits.maxFrameBytes;
  }

  /** Messages go out one after another: a message's frames are never interleaved with another's. */
  private sendFrames(frames: Uint8Array[]): Promise<void> {
    const sent = this.outbox.then(() => this.write(frames));
    this.outbox = sent.catch(() => {});
    return sent;
  }

  private outbox: Promise<void> = Promise.resolve();

  private async write(frames: Uint8Array[]): Promise<void> {
    for (const frame of frames) {
      if (!this.open) throw new Error('connection closed');
      while (this.socket.bufferedAmount > this.limits.highWaterBytes) {
        if (!this.open) throw new Error('connection closed');
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise<void>((resolve, reject) =>
        this.socket.send(frame, { binary: true }, (err) => (err ? reject(err) : resolve())),
      );
    }
  }

  /**
   * An error message, queued behind what is being sent (never between a message's frames); with
   * `close`, the connection closes once it is out (or at once if it cannot go out).
   */
  private sendError(header: { type: 'error'; code: string } & Record<string, unknown>, close: boolean): void {
    if (close) this.closing = true;
    const done = () => {
      if (close) this.close(1008, header.code);
    };
    if (!this.open) return done();
    this.send(header).then(done, done);
  }

  /** Set once the connection is being closed for a fatal error: what arrives after is ignored. */
  closing = false;

  close(code = 1000, reason = ''): void {
    if (this.isClosed) return;
    try {
      this.socket.close(code, reason.slice(0, 120));
    } catch {
      this.socket.terminate();
    }
    // A client that never answers the close handshake is cut off.
    setTimeout(() => {
      if (!this.isClosed) this.socket.terminate();
    }, 2000).unref();
  }
}

function tooLargeOr(e: Error): ProtocolErrorCode {
  return /max payload/i.test(e.message) ? 'too-large' : 'bad-frame';
}
