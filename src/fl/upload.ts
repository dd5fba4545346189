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

/** Bytes the upload takes on the wire (its payload; headers and framing are the transport's). */
export function uploadBytes(u: Upload): number {
  return u.kind === 'delta' ? u.delta.byteLength : u.kind === 'secure' ? u.message.length : u.bytes.length;
}
