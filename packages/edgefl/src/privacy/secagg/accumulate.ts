/**
 * Adding many word streams into one vector, chunk by chunk: for each 64 KiB slice of the target,
 * every stream writes its next slice of keystream next to it and is added or subtracted while the
 * slice is still in cache. This is how a client applies its self-mask and all pairwise masks, and how
 * the server adds masked inputs and removes masks.
 */
import { CHUNK_WORDS, type WordStream } from './prg.js';
import { bestWordKernel, type WordKernel } from './word-kernel.js';

export interface SignedStream {
  readonly stream: WordStream;
  /** +1 adds the stream's words, -1 subtracts them (mod 2^32). */
  readonly sign: 1 | -1;
}

/** A stream over words already in memory, e.g. a received masked vector. */
export function arrayStream(words: Uint32Array): WordStream {
  let offset = 0;
  return {
    fill(out) {
      if (offset + out.length > words.length) throw new RangeError('array stream: read past the end');
      out.set(words.subarray(offset, offset + out.length));
      offset += out.length;
    },
  };
}

let sharedKernel: WordKernel | undefined;

function defaultKernel(): WordKernel {
  sharedKernel ??= bestWordKernel();
  return sharedKernel;
}

/**
 * target += sum of sign * stream, over the whole target, mod 2^32. Streams advance by target.length.
 * With `initialise`, each accumulator chunk starts from what it writes (given the chunk's offset in
 * the target) instead of from the target's current words — so a client can quantize its input straight
 * into the chunk that its masks are then added to, saving a pass over memory.
 */
export function accumulate(
  target: Uint32Array,
  streams: readonly SignedStream[],
  kernel = defaultKernel(),
  initialise?: (chunk: Uint32Array, offset: number) => void,
): void {
  if (streams.length === 0 && !initialise) return;
  const { acc, src } = kernel;
  for (let offset = 0; offset < target.length; offset += CHUNK_WORDS) {
    const count = Math.min(CHUNK_WORDS, target.length - offset);
    const accChunk = acc.subarray(0, count);
    const srcChunk = src.subarray(0, count);
    if (initialise) initialise(accChunk, offset);
    else accChunk.set(target.subarray(offset, offset + count));
    for (const { stream, sign } of streams) {
      stream.fill(srcChunk);
      if (sign === 1) kernel.add(count);
      else kernel.sub(count);
    }
    target.set(accChunk, offset);
  }
}
