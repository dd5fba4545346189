/**
 * Top-k sparsification with error feedback: send only the k = ceil(fraction · n) coordinates of
 * largest magnitude, and keep what was not sent on the client, adding it to the next round's update.
 *
 * Error feedback (Stich, Cordonnier & Jaggi, "Sparsified SGD with Memory", NeurIPS 2018;
 * Karimireddy, Rebjock, Stich & Jaggi, "Error Feedback Fixes SignSGD and other Gradient Compression
 * Schemes", ICML 2019): with residual e (zero at first),
 *
 *   p = delta + e;   send C(p) = p on its top-k coordinates, 0 elsewhere;   e' = p − C(p).
 *
 * Nothing is lost, only delayed: the decoded updates of rounds 1..T sum to the deltas' sum minus the
 * final residual e_T. And the residual stays bounded: top-k keeps at least the fraction k/n of ‖p‖²,
 * so ‖e'‖ ≤ q(‖e‖ + ‖delta‖) with q = sqrt(1 − k/n), hence ‖e‖ ≤ q/(1 − q) · max‖delta‖ for all
 * rounds. Without feedback, small coordinates would never be sent at all.
 *
 * The residual lives in the returned `state`; the client keeps it between rounds (a model-sized
 * Float32Array) and passes it to the next encode. Non-finite values cannot be ranked: encode refuses
 * them (and the decoder refuses non-finite values, which this encoder never produces).
 *
 * Wire format after the header: k (uint32 LE), the k values (float32 LE, 4-byte aligned), then the
 * indices in increasing order as unsigned LEB128 varints — the first index, then each gap minus one.
 * At fraction 0.01 the gaps average 100, so most indices take 1–2 bytes instead of 4.
 */
import {
  CodecError,
  decodeTarget,
  encoded,
  requireFinite,
  type CodecState,
  type EncodeOptions,
  type Encoded,
  type UpdateCodec,
} from './codec.js';
import { checkHeader, checkSize, HEADER_BYTES, writeHeader } from './header.js';
import { readFloat32LE, writeFloat32LE } from './little-endian.js';
import { topKIndices } from './top-k-select.js';
import { readVarint, varintLength, writeVarint } from './varint.js';

export interface TopKOptions {
  /** Fraction of the coordinates to send, in (0, 1]. */
  fraction: number;
  /** Keep the unsent remainder on the client for the next round (default true). */
  errorFeedback?: boolean;
}

const FIXED = HEADER_BYTES + 4;

/** k for a fraction of n: ceil(fraction·n), at least 1 when n > 0; a product within 1e-9 of an integer counts as it. */
export function topKCount(fraction: number, n: number): number {
  if (n === 0) return 0;
  const exact = fraction * n;
  const nearest = Math.round(exact);
  const k = Math.abs(exact - nearest) <= 1e-9 * Math.max(1, exact) ? nearest : Math.ceil(exact);
  return Math.min(n, Math.max(1, k));
}

export function topKCodec(options: TopKOptions): UpdateCodec {
  const { fraction, errorFeedback = true } = options;
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1))
    throw new RangeError(`topk: fraction must be in (0, 1], got ${fraction}`);
  const name = `topk:${fraction}`;

  return {
    name,
    maxEncodedBytes: (length) => {
      const k = topKCount(fraction, length);
      // Every gap is below length, so no varint is longer than length's own.
      return FIXED + 4 * k + k * varintLength(Math.max(0, length - 1));
    },
    encode(delta: Float32Array, { state }: EncodeOptions = {}): Encoded {
      const n = delta.length;
      let corrected = delta;
      if (errorFeedback) {
        corrected = delta.slice();
        if (state !== undefined) {
          if (state.codec !== 'topk')
            throw new Error(`${name}: the state passed to encode was made by ${state.codec}, not topk`);
          if (state.residual.length !== n)
            throw new Error(`${name}: the residual holds ${state.residual.length} values but the delta ${n}`);
          for (let i = 0; i < n; i++) corrected[i] += state.residual[i];
        }
      }
      requireFinite(name, corrected);

      const k = topKCount(fraction, n);
      const indices = topKIndices(corrected, k);
      let indexBytes = 0;
      for (let j = 0; j < k; j++)
        indexBytes += varintLength(j === 0 ? indices[0] : indices[j] - indices[j - 1] - 1);
      const bytes = new Uint8Array(FIXED + 4 * k + indexBytes);
      writeHeader(bytes, 'topk', n);
      new DataView(bytes.buffer).setUint32(HEADER_BYTES, k, true);
      const values = new Float32Array(k);
      for (let j = 0; j < k; j++) values[j] = corrected[indices[j]];
      writeFloat32LE(values, bytes, FIXED);
      let offset = FIXED + 4 * k;
      for (let j = 0; j < k; j++)
        offset = writeVarint(bytes, offset, j === 0 ? indices[0] : indices[j] - indices[j - 1] - 1);

      if (!errorFeedback) return encoded(bytes, n);
      // What was sent leaves the residual; `corrected` is our own copy, so it becomes the new residual.
      for (let j = 0; j < k; j++) corrected[indices[j]] = 0;
      const next: CodecState = { codec: 'topk', residual: corrected };
      return encoded(bytes, n, next);
    },
    decode(bytes: Uint8Array, length: number, out?: Float32Array): Float32Array {
      const target = decodeTarget(name, length, out);
      checkHeader(bytes, 'topk', length);
      if (bytes.length < FIXED) checkSize('topk', bytes, FIXED, 'the count field');
      const k = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(HEADER_BYTES, true);
      if (k > length) throw new CodecError(`topk: ${k} values sent for an update of ${length}`);
      if (bytes.length < FIXED + 4 * k)
        throw new CodecError(
          `topk: ${bytes.length} bytes cannot hold ${k} values and their indices (truncated)`,
        );
      const values = readFloat32LE(bytes, FIXED, new Float32Array(k));
      target.fill(0);
      const cursor = { offset: FIXED + 4 * k, value: 0 };
      let index = -1;
      for (let j = 0; j < k; j++) {
        readVarint(bytes, cursor, bytes.length, 'topk');
        index += cursor.value + 1;
        if (index >= length)
          throw new CodecError(`topk: index ${index} is outside an update of ${length} values`);
        if (!Number.isFinite(values[j]))
          throw new CodecError(`topk: value ${values[j]} at index ${index} is not finite`);
        target[index] = values[j];
      }
      if (cursor.offset !== bytes.length)
        throw new CodecError(`topk: ${bytes.length - cursor.offset} trailing bytes after ${k} indices`);
      return target;
    },
  };
}
