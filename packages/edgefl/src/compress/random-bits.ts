/**
 * Bulk random 32-bit words for stochastic rounding, derived from a seeded Rng.
 *
 * Calling Rng.nextUint32 once per value costs tens of nanoseconds (its state words are kept as
 * unsigned 32-bit numbers, which the engine stores as heap doubles). Quantizing a million values
 * needs a million words, so this runs the same generator, xoshiro128** (Blackman & Vigna), over
 * local int32 variables in a tight loop, seeded with four words drawn from the caller's Rng: the
 * stream is as reproducible as the Rng it comes from, at a few nanoseconds a word.
 */
import type { Rng } from '../util/rng.js';

export class RandomBits {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(rng: Rng) {
    this.s0 = rng.nextUint32() | 0;
    this.s1 = rng.nextUint32() | 0;
    this.s2 = rng.nextUint32() | 0;
    this.s3 = rng.nextUint32() | 0;
    // xoshiro's all-zero state is a fixed point; four zero words from a good Rng are (almost) impossible.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Fills `out` with uniform 32-bit words. */
  fill(out: Uint32Array): Uint32Array {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    for (let i = 0; i < out.length; i++) {
      const x = Math.imul(s1, 5);
      out[i] = Math.imul((x << 7) | (x >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return out;
  }
}
