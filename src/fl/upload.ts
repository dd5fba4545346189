/**
 * What a client sends at the end of its fit: its update as raw float32 values, or as the bytes of
 * an update codec. Either may carry a few auxiliary values a privacy layer sums alongside the
 * updates (ClientUpdate.auxiliary).
 */
export type Upload =
  | { kind: 'delta'; delta: Float32Array; auxiliary?: readonly number[] }
  | {
      kind: 'encoded';
      bytes: Uint8Array;
      /** The codecByName spec that encoded it. */
      codec: string;
      auxiliary?: readonly number[];
    };

/** Bytes the upload takes on the wire (its payload; headers and framing are the transport's). */
export function uploadBytes(u: Upload): number {
  return u.kind === 'delta' ? u.delta.byteLength : u.bytes.length;
}
