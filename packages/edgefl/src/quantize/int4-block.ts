/**
 * Block-wise 4-bit quantization of a weight matrix, in the layout of ONNX Runtime's MatMulNBits:
 * for each output column n, its K weights are cut into blocks of `blockSize` along K; each block
 * has one float scale and (asymmetric) one 4-bit zero point, and a weight is stored as a code
 * q in 0..15 that stands for (q - zeroPoint) * scale.
 *
 * Layout (com.microsoft MatMulNBits, bits = 4): codes [N, blocks, blockSize / 2] bytes, two codes a
 * byte, the lower K index in the low nibble; scales [N * blocks], n major; zero points packed the
 * same way, [N * ceil(blocks / 2)] bytes. Without zero points the runtime uses 8, the middle code:
 * the symmetric form.
 */
export interface Int4Blocks {
  readonly k: number;
  readonly n: number;
  readonly blockSize: number;
  readonly blocks: number;
  /** [N, blocks, blockSize / 2] packed codes. */
  readonly codes: Uint8Array;
  /** [N * blocks]. */
  readonly scales: Float32Array;
  /** [N * ceil(blocks / 2)] packed zero points; absent when symmetric (zero point 8). */
  readonly zeroPoints?: Uint8Array;
}

const LEVELS = 15;
const SYMMETRIC_ZERO = 8;

/**
 * Quantizes `weight`, given as `columns` rows of K values each ([N, K]: a Gemm's transposed B, or
 * MatMul's [K, N] transposed beforehand). Asymmetric blocks cover [min(w, 0), max(w, 0)] with 16
 * levels, so 0 stays exact; symmetric blocks cover [-amax, amax] with codes 1..15.
 */
export function quantizeInt4Blocks(
  weight: Float32Array,
  n: number,
  k: number,
  blockSize: number,
  symmetric: boolean,
): Int4Blocks {
  if (weight.length !== n * k) throw new RangeError(`int4 blocks: ${weight.length} weights, not ${n} x ${k}`);
  const blocks = Math.ceil(k / blockSize);
  const half = blockSize / 2;
  const codes = new Uint8Array(n * blocks * half);
  const scales = new Float32Array(n * blocks);
  const zeroBytes = Math.ceil(blocks / 2);
  const zeroPoints = symmetric ? undefined : new Uint8Array(n * zeroBytes);
  for (let col = 0; col < n; col++) {
    const row = col * k;
    for (let b = 0; b < blocks; b++) {
      const start = b * blockSize;
      const end = Math.min(k, start + blockSize);
      let lo = 0;
      let hi = 0;
      for (let i = start; i < end; i++) {
        const w = weight[row + i];
        if (w < lo) lo = w;
        if (w > hi) hi = w;
      }
      let scale: number;
      let zero: number;
      if (symmetric) {
        const amax = Math.max(-lo, hi);
        scale = amax / (SYMMETRIC_ZERO - 1);
        zero = SYMMETRIC_ZERO;
      } else {
        scale = (hi - lo) / LEVELS;
        zero = scale > 0 ? Math.min(LEVELS, Math.max(0, Math.round(-lo / scale))) : 0;
      }
      // An all-zero block: any scale reproduces it; 1 keeps the division below finite.
      if (!(scale > 0)) scale = 1;
      // The stored float32 scale is what the runtime multiplies by: round with that one.
      const stored = Math.fround(scale);
      scales[col * blocks + b] = stored;
      if (zeroPoints) {
        const at = col * zeroBytes + (b >> 1);
        zeroPoints[at] |= b & 1 ? zero << 4 : zero;
      }
      const base = (col * blocks + b) * half;
      for (let j = 0; j < blockSize; j++) {
        const i = start + j;
        // Padding past K: the zero point's code, which stands for 0.
        const q = i < end ? Math.min(LEVELS, Math.max(0, Math.round(weight[row + i] / stored) + zero)) : zero;
        codes[base + (j >> 1)] |= j & 1 ? q << 4 : q;
      }
    }
  }
  return { k, n, blockSize, blocks, codes, scales, ...(zeroPoints ? { zeroPoints } : {}) };
}

/** The float weights the blocks stand for, [N, K]: what the runtime multiplies by. */
export function dequantizeInt4Blocks(q: Int4Blocks): Float32Array {
  const { n, k, blockSize, blocks, codes, scales, zeroPoints } = q;
  const out = new Float32Array(n * k);
  const half = blockSize / 2;
  const zeroBytes = Math.ceil(blocks / 2);
  for (let col = 0; col < n; col++) {
    for (let b = 0; b < blocks; b++) {
      const scale = scales[col * blocks + b];
      const zero = zeroPoints
        ? (zeroPoints[col * zeroBytes + (b >> 1)] >> (b & 1 ? 4 : 0)) & 0xf
        : SYMMETRIC_ZERO;
      const base = (col * blocks + b) * half;
      for (let j = 0; j < blockSize && b * blockSize + j < k; j++) {
        const code = (codes[base + (j >> 1)] >> (j & 1 ? 4 : 0)) & 0xf;
        out[col * k + b * blockSize + j] = (code - zero) * scale;
      }
    }
  }
  return out;
}
