/**
 * Secret randomness. Everything secret in the protocol (key pairs, self-mask seeds, Shamir
 * coefficients, nonces) comes from the platform CSPRNG, `crypto.getRandomValues`, which Node (>= 19
 * as a global) and every browser provide. The seeded `Rng` of the project is never used for secrets.
 */

// getRandomValues fills at most 65,536 bytes per call (a WebCrypto limit).
const MAX_REQUEST = 65536;

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += MAX_REQUEST) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + MAX_REQUEST)));
  }
  return out;
}

/** Fill `out` with uniform 32-bit words from the CSPRNG. */
export function randomWords(out: Uint32Array): Uint32Array {
  const perCall = MAX_REQUEST / 4;
  for (let offset = 0; offset < out.length; offset += perCall) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(out.length, offset + perCall)));
  }
  return out;
}
