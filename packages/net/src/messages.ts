/**
 * The protocol's messages: one zod schema per header, by direction. Every frame a peer receives is
 * checked against these before anything reads it (`parseClientMessage`, `parseServerMessage`); a
 * header that does not fit is refused with a ProtocolError naming the field. docs/protocol.md
 * describes the same messages for implementers in other languages.
 *
 * Numbers in headers are instructions and counts (round, task, batch size, a client's loss); model
 * parameters and updates only ever travel as payload bytes.
 */
import { z } from 'zod';
import { ProtocolError, type Frame } from './frame.js';

/** The protocol version this package speaks; also the WebSocket subprotocol `edgefl.1`. */
export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = `edgefl.${PROTOCOL_VERSION}`;

const round = z.number().int().min(1);
const task = z.string().regex(/^[0-9a-f]{16,64}$/, 'a task id is 16 to 64 lowercase hex digits');
const finite = z.number().refine(Number.isFinite, 'must be finite');
const base64url = (bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url')
    .refine((s) => Math.floor((s.length * 3) / 4) === bytes, `must encode ${bytes} bytes`);
/** A client's name in the federation: what it is registered, logged and reported as. */
export const clientIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a client id is 1 to 64 letters, digits, dots, dashes or underscores');

// ---- client -> server ----------------------------------------------------------------------

export const helloSchema = z.strictObject({
  type: z.literal('hello'),
  protocol: z.number().int(),
  clientId: clientIdSchema,
  /** The device's Ed25519 public key (32 bytes). */
  publicKey: base64url(32),
  /** An enrollment token, on a device's first connection. */
  token: z.string().min(1).max(512).optional(),
  /**
   * The examples the device trains on: FedAvg's weight, and what secure aggregation scales the
   * weights by (the largest among a round's participants), known before the round.
   */
  numExamples: z.number().int().min(0),
});

export const authSchema = z.strictObject({
  type: z.literal('auth'),
  /** Ed25519 signature of authChallengeBytes(nonce, clientId). */
  signature: base64url(64),
});

const uploadHeader = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('delta'), auxiliary: z.array(finite).max(64).optional() }),
  z.strictObject({
    kind: z.literal('encoded'),
    codec: z.string().min(1).max(64),
    auxiliary: z.array(finite).max(64).optional(),
  }),
  z.strictObject({ kind: z.literal('secure') }),
]);

export const fitResultSchema = z.strictObject({
  type: z.literal('fit-result'),
  round,
  task,
  upload: uploadHeader,
  numExamples: z.number().int().min(0),
  metrics: z
    .record(z.string().max(64), finite)
    .refine((m) => Object.keys(m).length <= 32, 'at most 32 metrics'),
  seconds: z.number().min(0).refine(Number.isFinite, 'must be finite'),
  /** Ed25519 signature of updateSigningBytes(clientId, round, task, payload). */
  signature: base64url(64),
  /**
   * Under secure aggregation (upload kind 'secure'): the Ed25519 signature of keySigningBytes over
   * the keys the payload advertises, which the server passes on to the client's neighbours.
   */
  keySignature: base64url(64).optional(),
});

export const stageResultSchema = z.strictObject({
  type: z.literal('stage-result'),
  round,
  task,
  stage: z.string().min(1).max(32),
  seconds: z.number().min(0).refine(Number.isFinite, 'must be finite'),
  signature: base64url(64),
});

export const evaluateResultSchema = z.strictObject({
  type: z.literal('evaluate-result'),
  round,
  task,
  numExamples: z.number().int().min(1),
  loss: finite,
  accuracy: z.number().min(0).max(1).optional(),
  seconds: z.number().min(0).refine(Number.isFinite, 'must be finite'),
});

/** A client could not do what it was asked (its data, its runtime): the task fails with this reason. */
export const taskErrorSchema = z.strictObject({
  type: z.literal('task-error'),
  round,
  task,
  message: z.string().max(2000),
});

export const clientMessageSchema = z.discriminatedUnion('type', [
  helloSchema,
  authSchema,
  fitResultSchema,
  stageResultSchema,
  evaluateResultSchema,
  taskErrorSchema,
]);
export type ClientMessage = z.output<typeof clientMessageSchema>;

// ---- server -> client ----------------------------------------------------------------------

export const challengeSchema = z.strictObject({
  type: z.literal('challenge'),
  protocol: z.number().int(),
  nonce: base64url(32),
});

/** What the federation trains: the model and the local training's loss and optimizer. */
export const welcomeSchema = z.strictObject({
  type: z.literal('welcome'),
  clientId: clientIdSchema,
  federation: z.string().max(200),
  /** A ModelSpec (model/build.ts) as JSON; the client's Trainer checks it. */
  model: z.record(z.string(), z.unknown()),
  trainer: z.strictObject({
    loss: z.string().max(64),
    optimizer: z.record(z.string(), z.unknown()),
    classWeights: z.array(finite).optional(),
  }),
  parameters: z.number().int().min(1),
  /**
   * What the server accepts from this client: the largest frame (a client may send any message up
   * to it unchunked) and the largest message payload (an update, a stage reply).
   */
  limits: z.strictObject({
    // At least the smallest frame a message can be chunked into (a 64-byte chunk header, 1 KiB).
    maxFrameBytes: z.number().int().min(1088),
    maxMessageBytes: z.number().int().min(0),
  }),
});

export const fitSchema = z.strictObject({
  type: z.literal('fit'),
  round,
  task,
  /** The FitConfig (fl/strategy.ts) as JSON. */
  config: z.record(z.string(), z.unknown()),
  /** The client's randomness this round (shuffling; seeded noise only in simulations). */
  seed: z.number().int().min(0).max(0xffffffff),
});

export const stageSchema = z.strictObject({
  type: z.literal('stage'),
  round,
  task,
  stage: z.string().min(1).max(32),
  /**
   * 'share-keys' only: the key directory's length; the neighbours' key attestations follow it in
   * the payload (secagg-keys.ts).
   */
  directoryBytes: z.number().int().min(0).optional(),
});

export const evaluateSchema = z.strictObject({ type: z.literal('evaluate'), round, task });

/** Sent before the server closes a connection, or about a message it refused. */
export const errorSchema = z.strictObject({
  type: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(2000),
  /** Whether the server closes the connection after this (a refused message alone does not). */
  fatal: z.boolean(),
});

/** The run is over: the client may disconnect and stop. */
export const doneSchema = z.strictObject({ type: z.literal('done'), reason: z.string().max(2000) });

export const serverMessageSchema = z.discriminatedUnion('type', [
  challengeSchema,
  welcomeSchema,
  fitSchema,
  stageSchema,
  evaluateSchema,
  errorSchema,
  doneSchema,
]);
export type ServerMessage = z.output<typeof serverMessageSchema>;

export type Message<T extends { type: string }, K extends T['type']> = Extract<T, { type: K }>;

/** A checked message and its payload. */
export interface Received<T> {
  message: T;
  payload: Uint8Array;
}

function parseWith<T>(schema: z.ZodType<T>, frame: Frame, from: string): Received<T> {
  const r = schema.safeParse(frame.header);
  if (r.success) return { message: r.data, payload: frame.payload };
  const header = frame.header;
  const type =
    typeof header === 'object' && header !== null ? (header as { type?: unknown }).type : undefined;
  const issues = r.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(header)'}: ${i.message}`)
    .join('; ');
  throw new ProtocolError(
    'bad-message',
    `${from} message${typeof type === 'string' ? ` '${type.slice(0, 32)}'` : ''} refused: ${issues}`,
  );
}

export function parseClientMessage(frame: Frame): Received<ClientMessage> {
  return parseWith(clientMessageSchema, frame, 'client');
}

export function parseServerMessage(frame: Frame): Received<ServerMessage> {
  return parseWith(serverMessageSchema, frame, 'server');
}
