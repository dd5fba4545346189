/**
 * Log-space arithmetic for the privacy accountant.
 *
 * RDP of the sampled Gaussian mechanism sums terms whose magnitudes span hundreds of orders of
 * magnitude (exp((i^2 - i) / (2 sigma^2)) for large orders and small sigma overflows a double long
 * before the sum is done), so every quantity here is carried as its natural logarithm, with
 * -Infinity standing for zero. Nothing here depends on Node: it runs in a browser too.
 */

/** log(exp(a) + exp(b)) without overflow. */
export function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (lo === -Infinity) return hi;
  if (hi === Infinity) return Infinity;
  // exp(lo) + exp(hi) = exp(hi) * (1 + exp(lo - hi)); lo - hi <= 0 so the exp cannot overflow.
  return hi + Math.log1p(Math.exp(lo - hi));
}

/**
 * log(exp(a) - exp(b)) for a >= b. Returns -Infinity when a === b (the difference is zero).
 * Throws when a < b because the result would be the log of a negative number.
 */
export function logSub(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (a < b) {
    throw new RangeError(
      `logSub(a, b) needs a >= b (the difference must be non-negative); got a=${a}, b=${b}`,
    );
  }
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  const d = b - a; // < 0
  // log(1 - exp(d)): for d close to 0, 1 - exp(d) loses digits, so use -expm1(d) there;
  // for very negative d, log1p(-exp(d)) is the accurate form.
  return a + (d > -Math.LN2 ? Math.log(-Math.expm1(d)) : Math.log1p(-Math.exp(d)));
}

/** log(exp(x) - 1) for x > 0, accurate both near 0 and for large x. */
export function logExpm1(x: number): number {
  if (x <= 0) {
    throw new RangeError(`logExpm1(x) needs x > 0; got ${x}`);
  }
  // Near 0, expm1 keeps the digits that exp(x) - 1 would lose; for large x, expm1 overflows,
  // so factor out exp(x): log(exp(x) - 1) = x + log(1 - exp(-x)).
  return x < 1 ? Math.log(Math.expm1(x)) : x + Math.log1p(-Math.exp(-x));
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * Below this the power series for erf is used, above it the continued fraction for erfc.
 * At 2 the series' cancellation in 1 - erf costs at most ~2e-13 relative error in erfc(2) ~ 4.7e-3,
 * and the continued fraction needs ~100 terms; both grow worse on the wrong side of the split.
 */
const ERFC_SPLIT = 2;

/**
 * erf(x) for 0 <= x < ERFC_SPLIT from the everywhere-positive series
 *   erf(x) = (2 / sqrt(pi)) exp(-x^2) sum_{n>=0} (2x^2)^n x / (1*3*...*(2n+1))
 * (Abramowitz & Stegun 7.1.6). All terms are positive, so nothing cancels inside the sum.
 */
function erfSeries(x: number): number {
  const twoX2 = 2 * x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= twoX2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/**
 * log(erfc(x)) + x^2 for x >= ERFC_SPLIT, from Laplace's continued fraction
 *   erfc(x) = exp(-x^2) / sqrt(pi) * 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + 2 / (x + ...)))))
 * (Abramowitz & Stegun 7.1.14), evaluated with the modified Lentz method. Working with the scaled
 * value means erfc(x) never underflows, whatever x.
 */
function logErfcScaledLarge(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -LOG_SQRT_PI - Math.log(f);
}

/** erfc(x) for x >= 0. Underflows to 0 for x beyond ~26.5; use logErfc there. */
function erfcNonNegative(x: number): number {
  if (x < ERFC_SPLIT) return 1 - erfSeries(x);
  return Math.exp(logErfcScaledLarge(x) - x * x);
}

/** The complementary error function erfc(x) = 1 - erf(x), for any real x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 0) return erfcNonNegative(x);
  // erfc(-x) = 2 - erfc(x): for negative x the result lies in (1, 2], so the subtraction is benign.
  return 2 - erfcNonNegative(-x);
}

/**
 * log(erfc(x)), accurate for large positive x where erfc(x) itself underflows (erfc(30) ~ 2.6e-393).
 * The fractional-order RDP series evaluates Gaussian tail masses this far out.
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  // Near zero, erfc(x) = 1 - erf(x) with erf(x) small: log1p keeps the digits log(1 - erf) would drop.
  if (Math.abs(x) < ERFC_SPLIT) return Math.log1p(x >= 0 ? -erfSeries(x) : erfSeries(-x));
  if (x < 0) return Math.log(erfc(x));
  return logErfcScaledLarge(x) - x * x;
}
