/**
 * Gaussian noise for differential privacy. Two sources:
 *
 * - `secureGaussian()`: uniforms from the platform's cryptographic generator (WebCrypto
 *   `getRandomValues`, in Node and browsers), 53 bits each, turned into normals by Box–Muller in
 *   float64. This is the default: noise an adversary can predict protects nothing.
 * - `seededGaussian(seed)`: a seeded statistical generator, so that experiments and tests repeat
 *   exactly. Never for a deployment.
 *
 * Both add float64 noise to float32 values, the practice of Opacus and TensorFlow Privacy; the
 * floating-point subtleties of sampling (Mironov 2012) are not addressed beyond that.
 */
import { Rng } from '../../util/rng.js';

export interface GaussianSource {
  /** Whether the uniforms come from a cryptographic generator. */
  readonly secure: boolean;
  /** One standard normal sample. */
  normal(): number;
  /** Adds N(0, std²) independently to every entry of `x`. */
  addNoise(x: Float32Array | Float64Array, std: number): void;
}

const TWO_PI = 2 * Math.PI;

abstract class BoxMuller implements GaussianSource {
  abstract readonly secure: boolean;
  private spare: number | undefined;
  /** A uniform in (0, 1), never 0 (log(0) would be -Infinity). */
  protected abstract uniform(): number;

  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const theta = TWO_PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  addNoise(x: Float32Array | Float64Array, std: number): void {
    if (!(std >= 0 && Number.isFinite(std)))
      throw new RangeError(`noise std must be finite and >= 0, got ${std}`);
    if (std === 0) return;
    let i = 0;
    for (; i + 1 < x.length; i += 2) {
      const r = std * Math.sqrt(-2 * Math.log(this.uniform()));
      const theta = TWO_PI * this.uniform();
      x[i] += r * Math.cos(theta);
      x[i + 1] += r * Math.sin(theta);
    }
    if (i < x.length) x[i] += std * this.normal();
  }
}

class CryptoGaussian extends BoxMuller {
  readonly secure = true;
  // Refilled in blocks: one getRandomValues call per 8,192 uniforms (its limit is 65,536 bytes).
  private readonly words = new Uint32Array(16384);
  private next = this.words.length;

  constructor(private readonly crypto: Crypto) {
    super();
  }

  nextUniform(): number {
    return this.uniform();
  }

  protected uniform(): number {
    if (this.next + 2 > this.words.length) {
      this.crypto.getRandomValues(this.words);
      this.next = 0;
    }
    // 53 random bits: 27 from one word, 26 from the other, plus half a step so the result is in (0, 1).
    const hi = this.words[this.next++] >>> 5;
    const lo = this.words[this.next++] >>> 6;
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }
}

class SeededGaussian extends BoxMuller {
  readonly secure = false;
  constructor(private readonly rng: Rng) {
    super();
  }
  protected uniform(): number {
    let u = this.rng.uniform();
    while (u === 0) u = this.rng.uniform();
    return u;
  }
}

/** Uniforms in (0, 1) from the platform's cryptographic generator (53 bits each). */
export function secureUniform(): () => number {
  const g = new CryptoGaussian(platformCrypto());
  return () => g.nextUniform();
}

function platformCrypto(): Crypto {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (!c || typeof c.getRandomValues !== 'function')
    throw new Error('no cryptographic random generator (globalThis.crypto.getRandomValues) on this platform');
  return c;
}

/** Normals from the platform's cryptographic generator (WebCrypto); throws where there is none. */
export function secureGaussian(): GaussianSource {
  return new CryptoGaussian(platformCrypto());
}

/** Reproducible normals for experiments and tests — predictable, so never for a deployment. */
export function seededGaussian(seed: number): GaussianSource {
  return new SeededGaussian(new Rng(seed >>> 0));
}
