/**
 * Shamir t-of-n secret sharing of short byte strings (32-byte seeds and private keys).
 *
 * Field choice: the prime p = 2^26 - 5. A secret is cut into 3-byte chunks (each < 2^24 < p) and
 * every chunk is shared independently with its own random polynomial of degree t-1. Shamir's scheme
 * is information-theoretically hiding in any field, so a small field loses nothing; what the field
 * must be is larger than the number of shareholders (here up to p - 1, far beyond any round).
 * The payoff of p < 2^26.5 is that a product of two field elements is below 2^53 and so exact in a
 * JavaScript double: no BigInt anywhere, and sharing for hundreds of neighbours costs microseconds.
 *
 * A share is the x-coordinate of its holder (1..p-1) and one field element per chunk, carried as
 * little-endian 32-bit words. Coefficients come from the CSPRNG by rejection sampling (no bias).
 */

export const SHAMIR_PRIME = 67108859; // 2^26 - 5, prime
const CHUNK_BYTES = 3;

export interface Share {
  /** The holder's evaluation point, an integer in [1, p-1]. */
  readonly x: number;
  /** One field element per 3-byte chunk of the secret. */
  readonly y: Uint32Array;
}

export function chunkCount(secretLength: number): number {
  return Math.ceil(secretLength / CHUNK_BYTES);
}

/** The protocol's shared secrets (self-mask seeds and mask private keys) are 32 bytes each. */
export const SECRET_BYTES = 32;
/** Words of one share of such a secret. */
export const SHARE_WORDS = chunkCount(SECRET_BYTES);

/** Bytes of one encoded share of a secret of `secretLength` bytes (x is carried separately). */
export function shareByteLength(secretLength: number): number {
  return 4 * chunkCount(secretLength);
}

function mulMod(a: number, b: number): number {
  return (a * b) % SHAMIR_PRIME; // exact: a, b < 2^26 so a*b < 2^52
}

/** Modular inverse by Fermat's little theorem, a^(p-2) mod p, with exact double arithmetic. */
function invMod(a: number): number {
  if (a % SHAMIR_PRIME === 0) throw new RangeError('shamir: zero has no inverse (duplicate share x?)');
  let result = 1;
  let base = ((a % SHAMIR_PRIME) + SHAMIR_PRIME) % SHAMIR_PRIME;
  let e = SHAMIR_PRIME - 2;
  while (e > 0) {
    if (e & 1) result = mulMod(result, base);
    base = mulMod(base, base);
    e = Math.floor(e / 2);
  }
  return result;
}

/** Uniform field elements from the CSPRNG; rejection keeps them unbiased. */
function randomFieldElements(count: number): Uint32Array {
  const out = new Uint32Array(count);
  const limit = Math.floor(2 ** 32 / SHAMIR_PRIME) * SHAMIR_PRIME;
  const buf = new Uint32Array(Math.max(16, count + (count >> 3) + 4));
  let have = 0;
  while (have < count) {
    globalThis.crypto.getRandomValues(buf);
    for (let i = 0; i < buf.length && have < count; i++) {
      if (buf[i] < limit) out[have++] = buf[i] % SHAMIR_PRIME;
    }
  }
  return out;
}

function checkPoint(x: number): void {
  if (!Number.isInteger(x) || x < 1 || x >= SHAMIR_PRIME) {
    throw new RangeError(`shamir: share point x must be an integer in [1, ${SHAMIR_PRIME - 1}], got ${x}`);
  }
}

/**
 * Split `secret` into one share per point in `xs`; any `threshold` of them rebuild it, any
 * `threshold - 1` reveal nothing about it.
 */
export function splitSecret(secret: Uint8Array, threshold: number, xs: readonly number[]): Share[] {
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new RangeError(`shamir: threshold must be a positive integer, got ${threshold}`);
  }
  if (xs.length < threshold) {
    throw new RangeError(`shamir: ${xs.length} shareholders cannot meet threshold ${threshold}`);
  }
  const seen = new Set<number>();
  for (const x of xs) {
    checkPoint(x);
    if (seen.has(x)) throw new RangeError(`shamir: share point ${x} appears twice`);
    seen.add(x);
  }
  const chunks = chunkCount(secret.length);
  // coefficients[c * threshold + d] is the degree-d coefficient of chunk c's polynomial; degree 0 is the chunk.
  const coefficients = randomFieldElements(chunks * threshold);
  for (let c = 0; c < chunks; c++) {
    let value = 0;
    for (let b = 0; b < CHUNK_BYTES; b++) {
      const i = c * CHUNK_BYTES + b;
      if (i < secret.length) value |= secret[i] << (8 * b);
    }
    coefficients[c * threshold] = value;
  }
  const shares = xs.map((x) => {
    const y = new Uint32Array(chunks);
    for (let c = 0; c < chunks; c++) {
      // Horner's rule from the highest degree down.
      let acc = 0;
      for (let d = threshold - 1; d >= 0; d--)
        acc = (mulMod(acc, x) + coefficients[c * threshold + d]) % SHAMIR_PRIME;
      y[c] = acc;
    }
    return { x, y };
  });
  coefficients.fill(0);
  return shares;
}

/**
 * Lagrange coefficients for evaluating at 0 from the points `xs`: secret = sum_j lambda_j * y_j.
 * They depend only on which holders answered, so a server rebuilding many secrets from the same
 * holders can compute them once.
 */
export function lagrangeAtZero(xs: readonly number[]): Float64Array {
  const lambdas = new Float64Array(xs.length);
  for (let j = 0; j < xs.length; j++) {
    let num = 1;
    let den = 1;
    for (let m = 0; m < xs.length; m++) {
      if (m === j) continue;
      num = mulMod(num, xs[m]);
      den = mulMod(den, (xs[m] - xs[j] + SHAMIR_PRIME) % SHAMIR_PRIME);
    }
    lambdas[j] = mulMod(num, invMod(den));
  }
  return lambdas;
}

/**
 * Rebuild a secret of `secretLength` bytes from at least `threshold` shares (the first `threshold`
 * are used). Throws if there are too few shares, if two share the same x, or if the result is not a
 * valid encoding (a chunk out of range shows the shares were corrupted or mixed).
 */
export function combineShares(
  shares: readonly Share[],
  threshold: number,
  secretLength: number,
  lambdas?: Float64Array,
): Uint8Array {
  if (shares.length < threshold) {
    throw new RangeError(`shamir: ${shares.length} shares given, ${threshold} needed to reconstruct`);
  }
  const used = shares.slice(0, threshold);
  const chunks = chunkCount(secretLength);
  const seen = new Set<number>();
  for (const s of used) {
    checkPoint(s.x);
    if (seen.has(s.x)) throw new RangeError(`shamir: two shares have the same point x = ${s.x}`);
    seen.add(s.x);
    if (s.y.length !== chunks) {
      throw new RangeError(`shamir: share of x = ${s.x} has ${s.y.length} chunks, expected ${chunks}`);
    }
  }
  const l = lambdas ?? lagrangeAtZero(used.map((s) => s.x));
  const secret = new Uint8Array(secretLength);
  for (let c = 0; c < chunks; c++) {
    let value = 0;
    for (let j = 0; j < used.length; j++) value = (value + mulMod(l[j], used[j].y[c])) % SHAMIR_PRIME;
    const bytesHere = Math.min(CHUNK_BYTES, secretLength - c * CHUNK_BYTES);
    if (value >= 2 ** (8 * bytesHere)) {
      throw new RangeError('shamir: reconstructed value is out of range: the shares are inconsistent');
    }
    for (let b = 0; b < bytesHere; b++) secret[c * CHUNK_BYTES + b] = (value >>> (8 * b)) & 0xff;
  }
  return secret;
}
