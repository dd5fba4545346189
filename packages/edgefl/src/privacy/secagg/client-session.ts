/**
 * A client's part of one secure-aggregation round, on the client: it turns the client's update
 * into the protocol's input vector, holds it with the protocol's client state machine, and answers
 * the server's messages stage by stage — the input never leaves the client except masked. The same
 * code runs in process, in a simulation's worker thread and (later) on a device over the network;
 * only bytes cross between client and server.
 *
 *   start(...)   -> advertise-keys bytes (sent with the fit's reply)
 *   receive(key directory)    -> share-keys bytes
 *   receive(forwarded shares) -> masked-input bytes
 *   receive(unmask request)   -> unmask-response bytes; the session is then done
 */
import type { SecureAggregationInstructions } from '../../fl/strategy.js';
import { SecAggClient } from './client.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { SecAggCrypto } from './crypto-suite.js';
import { SecAggError } from './errors.js';
import { ROUND_ID_BYTES, validateParams, type SecAggParams } from './params.js';
import type { PrgAlgorithm } from './prg.js';

/** The protocol's parameters from a round's instructions (checked: an error names the bad field). */
export function paramsOf(s: SecureAggregationInstructions): SecAggParams {
  if (!/^[0-9a-f]*$/.test(s.roundId) || s.roundId.length !== 2 * ROUND_ID_BYTES)
    throw new SecAggError('invalid-params', 'setup', `roundId must be ${ROUND_ID_BYTES} bytes of hex`);
  const roundId = new Uint8Array(ROUND_ID_BYTES);
  for (let i = 0; i < ROUND_ID_BYTES; i++) roundId[i] = parseInt(s.roundId.slice(2 * i, 2 * i + 2), 16);
  const params: SecAggParams = {
    roundId,
    clientIds: s.participants.map((_, i) => i),
    vectorLength: s.vectorLength,
    neighbours: s.neighbours,
    threshold: s.threshold,
    quantization: { range: s.range, bits: s.bits, rounding: s.rounding },
    prg: s.prg as PrgAlgorithm,
  };
  validateParams(params);
  return params;
}

export function roundIdHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** What building the input did, for the client's metrics. */
export interface SecureInputStats {
  /** 1 when the update was scaled down to the clip norm. */
  clippedUpdate: number;
  /** Values cut to [−range, range]. */
  clippedValues: number;
}

/**
 * The protocol input [u·clip(Δ), u·r, auxiliary...] (see SecureAggregationInstructions), u the
 * client's weight over the round's largest. Values outside [−r, r] are cut and counted; the weight
 * slot never is (u·r ≤ r).
 */
export function secureInput(
  s: SecureAggregationInstructions,
  delta: Float32Array,
  weight: number,
  auxiliary: readonly number[],
): { input: Float32Array; stats: SecureInputStats } {
  const d = delta.length;
  if (d + 1 + s.auxiliary !== s.vectorLength)
    throw new Error(
      `secure aggregation: the round expects ${s.vectorLength - 1 - s.auxiliary} values, this update has ${d}`,
    );
  if (auxiliary.length !== s.auxiliary)
    throw new Error(
      `secure aggregation: the round carries ${s.auxiliary} auxiliary values, this update has ${auxiliary.length}`,
    );
  if (!(weight > 0 && weight <= s.maxWeight))
    throw new Error(`secure aggregation: weight ${weight} is outside (0, ${s.maxWeight}]`);
  const r = s.range;
  const u = weight / s.maxWeight;
  let factor = u;
  let clippedUpdate = 0;
  if (s.clipNorm !== undefined) {
    let squares = 0;
    for (let i = 0; i < d; i++) squares += delta[i] * delta[i];
    const norm = Math.sqrt(squares);
    if (norm > s.clipNorm) {
      // One part in 10^7 below the bound, so float32 rounding cannot leave it above.
      factor *= (s.clipNorm / norm) * (1 - 1e-7);
      clippedUpdate = 1;
    }
  }
  const x = new Float32Array(s.vectorLength);
  let cut = 0;
  const put = (i: number, v: number) => {
    if (v > r || v < -r) {
      x[i] = v > 0 ? r : -r;
      cut++;
    } else x[i] = v;
  };
  for (let i = 0; i < d; i++) put(i, factor * delta[i]);
  x[d] = u * r;
  auxiliary.forEach((v, j) => put(d + 1 + j, v));
  return { input: x, stats: { clippedUpdate, clippedValues: cut } };
}

export class SecureClientSession {
  private readonly client: SecAggClient;
  private input: Float32Array | undefined;
  private finished = false;

  private constructor(
    readonly instructions: SecureAggregationInstructions,
    readonly protocolId: number,
    input: Float32Array,
    crypto: SecAggCrypto,
  ) {
    this.client = new SecAggClient(protocolId, paramsOf(instructions), crypto);
    this.input = input;
  }

  /** Starts the client's round: the session, and the advertise-keys message to send. */
  static start(
    instructions: SecureAggregationInstructions,
    clientId: string,
    input: Float32Array,
    crypto: SecAggCrypto,
  ): { session: SecureClientSession; message: Uint8Array } {
    const protocolId = instructions.participants.indexOf(clientId);
    if (protocolId < 0)
      throw new Error(`secure aggregation: client '${clientId}' is not among the round's participants`);
    const session = new SecureClientSession(instructions, protocolId, input, crypto);
    return { session, message: encodeMessage(session.client.advertiseKeys()) };
  }

  /** Whether the client has answered its last stage. */
  get done(): boolean {
    return this.finished;
  }

  /** The client's answer to one server message (bytes in, bytes out); throws on a bad message. */
  receive(bytes: Uint8Array): Uint8Array {
    if (this.finished) throw new Error('secure aggregation: this round is over for the client');
    const m = decodeMessage(bytes);
    if ('to' in m && m.to !== this.protocolId)
      throw new Error(`secure aggregation: a message for client ${m.to} reached client ${this.protocolId}`);
    switch (m.type) {
      case 'key-directory':
        return encodeMessage(this.client.shareKeys(m));
      case 'forwarded-shares': {
        const input = this.input;
        if (!input) throw new Error('secure aggregation: the input was already masked');
        this.input = undefined; // masked once; the plain input is no longer needed
        return encodeMessage(this.client.maskInput(m, input));
      }
      case 'unmask-request':
        this.finished = true;
        return encodeMessage(this.client.unmask(m));
      default:
        throw new Error(`secure aggregation: a client does not answer '${m.type}' messages`);
    }
  }
}
