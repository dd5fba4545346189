/**
 * The server's decoding of encoded uploads, as a layer around any executor: an upload of codec
 * bytes becomes the delta the strategy aggregates; bytes that cannot be decoded (truncated, another
 * codec's, another model's size) make the client's outcome a failure with the decoder's reason —
 * what a client sends must never crash the server.
 */
import { codecByName } from '../../compress/by-name.js';
import type { UpdateCodec } from '../../compress/codec.js';
import { decodeClientUpdate } from '../../compress/client-codec.js';
import type { FitExecutor } from '../executor.js';
import { mapOutcomes } from './wrap.js';

/**
 * Decodes uploads encoded with `codec` (a codecByName spec) into deltas of `length` values; refuses
 * uploads encoded with any other codec than the one the round asked for.
 */
export function decodingUploads(inner: FitExecutor, codec: string, length: number): FitExecutor {
  const decoder: UpdateCodec = codecByName(codec);
  return mapOutcomes(inner, (o) => {
    if (!o.ok || o.upload.kind !== 'encoded') return o;
    const { clientId } = o;
    if (o.upload.codec !== decoder.name)
      return {
        ok: false,
        clientId,
        kind: 'failed',
        reason: `sent a ${o.upload.codec} update; this federation uses ${decoder.name}`,
      };
    const decoded = decodeClientUpdate(decoder, o.upload.bytes, length);
    if (!decoded.ok) return { ok: false, clientId, kind: 'failed', reason: decoded.reason };
    const { auxiliary } = o.upload;
    return { ...o, upload: { kind: 'delta', delta: decoded.delta, ...(auxiliary ? { auxiliary } : {}) } };
  });
}
