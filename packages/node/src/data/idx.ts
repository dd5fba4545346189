/**
 * Node adapter for IDX files: reads them from disk and gunzips them when they are compressed, so callers
 * can point at either `train-images-idx3-ubyte` or `train-images-idx3-ubyte.gz`.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { isGzip, parseIdx, type IdxTensor } from 'edgefl';

/** Returns the bytes of an IDX file, decompressed when they start with the gzip magic. */
export function decompressIfGzip(bytes: Uint8Array, source = 'IDX data'): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (err) {
    throw new Error(
      `${source}: starts with the gzip magic but does not decompress: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** Parses IDX bytes that may be gzip-compressed. */
export function parseIdxMaybeGzip(bytes: Uint8Array, source = 'IDX data'): IdxTensor {
  return parseIdx(decompressIfGzip(bytes, source), source);
}

/** Reads and parses an IDX file, gzipped or not. */
export async function readIdxFile(path: string): Promise<IdxTensor> {
  const bytes = await readFile(path);
  // A Buffer may be a slice of Node's shared pool; parseIdx handles byteOffset, so no copy is needed.
  return parseIdxMaybeGzip(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
