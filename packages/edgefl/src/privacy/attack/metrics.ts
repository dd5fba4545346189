/**
 * Image-quality metrics for judging a reconstruction against the original: PSNR and SSIM.
 *
 * SSIM follows Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from error visibility
 * to structural similarity" (IEEE TIP 2004): local means, variances and covariance under a
 * normalized Gaussian window, SSIM = (2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(s_a^2
 * + s_b^2 + C2)) with C1 = (K1 R)^2, C2 = (K2 R)^2, K1 = 0.01, K2 = 0.03, averaged over every window
 * position that lies fully inside the image (the paper's 'valid' filtering). The paper's window is
 * 11x11 with sigma 1.5; on 28x28 digits that leaves only 18x18 positions and blurs the strokes, so
 * the attack uses 7x7 (sigma 1.5) there and says so.
 */

export interface ImageSize {
  width: number;
  height: number;
}

export interface SsimOptions extends ImageSize {
  /** The value range of a pixel (max - min), R in C1 = (K1 R)^2. */
  dataRange: number;
  /** Side of the square Gaussian window, odd (default 11, as in the paper). */
  window?: number;
  /** Standard deviation of the Gaussian window (default 1.5). */
  sigma?: number;
  k1?: number;
  k2?: number;
}

function checkPair(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length)
    throw new RangeError(`${what}: the images have ${a.length} and ${b.length} pixels`);
  if (a.length === 0) throw new RangeError(`${what}: the images are empty`);
}

/** Mean squared error between two images of the same size. */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkPair(a, b, 'mse');
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s / a.length;
}

/** Peak signal-to-noise ratio in dB, 10 log10(R^2 / MSE); Infinity for identical images. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, dataRange: number): number {
  if (!(dataRange > 0)) throw new RangeError(`psnr: dataRange must be > 0, got ${dataRange}`);
  const e = mse(a, b);
  return e === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / e);
}

/** A normalized 1-D Gaussian of `size` taps; the 2-D window is its outer product (separable). */
export function gaussianTaps(size: number, sigma: number): Float64Array {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0)
    throw new RangeError(`SSIM window must be an odd positive integer, got ${size}`);
  if (!(sigma > 0)) throw new RangeError(`SSIM sigma must be > 0, got ${sigma}`);
  const taps = new Float64Array(size);
  const c = (size - 1) / 2;
  let total = 0;
  for (let i = 0; i < size; i++) total += taps[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) taps[i] /= total;
  return taps;
}

/** 'valid' separable filtering of a width x height image with `taps` along both axes. */
function filterValid(img: Float64Array, width: number, height: number, taps: Float64Array): Float64Array {
  const k = taps.length;
  const ow = width - k + 1;
  const oh = height - k + 1;
  const rows = new Float64Array(height * ow);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += taps[t] * img[y * width + x + t];
      rows[y * ow + x] = s;
    }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += taps[t] * rows[(y + t) * ow + x];
      out[y * ow + x] = s;
    }
  return out;
}

/** Mean structural similarity of two grayscale images (row-major), in [-1, 1]; 1 iff identical. */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, o: SsimOptions): number {
  checkPair(a, b, 'ssim');
  const { width, height } = o;
  if (width * height !== a.length)
    throw new RangeError(`ssim: ${a.length} pixels is not a ${width}x${height} image`);
  if (!(o.dataRange > 0)) throw new RangeError(`ssim: dataRange must be > 0, got ${o.dataRange}`);
  const size = o.window ?? 11;
  if (size > width || size > height)
    throw new RangeError(`ssim: a ${size}x${size} window does not fit a ${width}x${height} image`);
  const taps = gaussianTaps(size, o.sigma ?? 1.5);
  const c1 = ((o.k1 ?? 0.01) * o.dataRange) ** 2;
  const c2 = ((o.k2 ?? 0.03) * o.dataRange) ** 2;
  const n = a.length;
  const fa = Float64Array.from(a);
  const fb = Float64Array.from(b);
  const aa = new Float64Array(n);
  const bb = new Float64Array(n);
  const ab = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    aa[i] = fa[i] * fa[i];
    bb[i] = fb[i] * fb[i];
    ab[i] = fa[i] * fb[i];
  }
  const [muA, muB, eAA, eBB, eAB] = [fa, fb, aa, bb, ab].map((m) => filterValid(m, width, height, taps));
  let total = 0;
  for (let i = 0; i < muA.length; i++) {
    const ma = muA[i];
    const mb = muB[i];
    // Biased (window-weighted) moments, as in the paper's reference implementation.
    const va = eAA[i] - ma * ma;
    const vb = eBB[i] - mb * mb;
    const cov = eAB[i] - ma * mb;
    total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
  }
  return total / muA.length;
}
