/**
 * What a client sends at the end of its fit: its update as raw float32 values, or as the bytes of
 * an update codec — either may carry a few auxiliary values a privacy layer sums alongside the
 * updates (ClientUpdate.auxiliary) — or, under secure aggregation, the protocol's first message.
 */
export type Upload =
  | { kind: 'delta'; delta: Float32Array; auxiliary?: readonly number[] }
  /** Under secure aggregation: the protocol's first message; the update itself stays on the client. */
  | { kind: 'secure'; message: Uint8Array }
  | {
      kind: 'encoded';
      bytes: Uint8Array;
      /** The codecByName spec that encoded it. */
      codec: string;
      auxiliary?: readonly number[];
    };

/** What the upload carries on the wire: the float32 values, the codec's bytes, or the message. */
export function uploadPayload(u: Upload): Float32Array | Uint8Array {
  return u.kind === 'delta' ? u.delta : u.kind === 'secure' ? u.message : u.bytes;
}

/** Bytes the upload takes on the wire (its payload; headers and framing are the transport's). */
export function uploadBytes(u: Upload): number {
  return uploadPayload(u).byteLength;
}
