/**
 * Adaptive clipping for DP-FedAvg (Andrew, Thakkar, McMahan, Ramaswamy, "Differentially Private
 * Learning with Adaptive Clipping", NeurIPS 2021).
 *
 * Each round, every participating client reports whether its update was NOT clipped
 * (b = 1 when ‖Δ‖ ≤ C). The server estimates the unclipped fraction with Gaussian noise and a fixed
 * denominator, b̄ = (Σ b + N(0, σ_b²)) / m̄, and moves the clip norm geometrically towards the
 * target quantile γ of the update norms:
 *
 *     C ← C · exp(−η · (b̄ − γ))
 *
 * If more than γ of the updates fit under C, C is larger than the γ-quantile and shrinks; if fewer
 * do, it grows. (Counting the *clipped* updates here instead inverts the feedback and drives C away
 * from the quantile — the direction matters.)
 *
 * Privacy: releasing the noisy count is a second Gaussian mechanism of sensitivity 1/2 (after
 * centering b at 1/2). Theorem 1 of the paper: noise multipliers z_Δ on the updates and σ_b on the
 * count together cost the same as one Gaussian mechanism with z where z⁻² = z_Δ⁻² + (2σ_b)⁻², so
 * for a target overall z the updates get z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2).
 */

export interface AdaptiveClippingOptions {
  /** γ: the quantile of the clients' update norms that C should track, in (0, 1). */
  targetQuantile: number;
  /** η_C: the geometric learning rate (default 0.2, the paper's choice). */
  learningRate?: number;
  /** σ_b: std of the noise on the unclipped count (default: `defaultCountNoiseStd`). */
  countNoiseStd?: number;
}

export function validateAdaptiveClipping(o: AdaptiveClippingOptions): void {
  if (!(o.targetQuantile > 0 && o.targetQuantile < 1))
    throw new RangeError(`adaptive clipping: targetQuantile must be in (0, 1), got ${o.targetQuantile}`);
  const eta = o.learningRate ?? 0.2;
  if (!(eta > 0 && Number.isFinite(eta)))
    throw new RangeError(`adaptive clipping: learningRate must be positive, got ${eta}`);
  if (o.countNoiseStd !== undefined && !(o.countNoiseStd >= 0 && Number.isFinite(o.countNoiseStd)))
    throw new RangeError(`adaptive clipping: countNoiseStd must be >= 0, got ${o.countNoiseStd}`);
}

/** The next clip norm from the noisy fraction of unclipped updates. */
export function nextClipNorm(
  clipNorm: number,
  unclippedFraction: number,
  o: AdaptiveClippingOptions,
): number {
  return clipNorm * Math.exp(-(o.learningRate ?? 0.2) * (unclippedFraction - o.targetQuantile));
}

/**
 * The update noise multiplier z_Δ that, together with count noise σ_b, spends the privacy of one
 * Gaussian mechanism with multiplier z. Throws when σ_b is too small for z (2σ_b ≤ z).
 */
export function updateNoiseMultiplier(z: number, countNoiseStd: number): number {
  if (countNoiseStd === 0)
    throw new RangeError('adaptive clipping needs noise on the unclipped count (countNoiseStd > 0)');
  const rest = z ** -2 - (2 * countNoiseStd) ** -2;
  if (!(rest > 0))
    throw new RangeError(
      `adaptive clipping: count noise std ${countNoiseStd} is too small for noise multiplier ${z} (it needs 2·σ_b > z)`,
    );
  return rest ** -0.5;
}

/**
 * The paper's σ_b = m̄/20 assumes hundreds of clients a round; with few, it would leave the count
 * too little noise for z (or eat most of the budget). So σ_b is at least z·√10/2, where the count
 * costs a tenth of the mechanism's z⁻² and the updates' noise grows by 1/√0.9 ≈ 5%.
 */
export function defaultCountNoiseStd(z: number, expectedClients: number): number {
  return Math.max(expectedClients / 20, (z * Math.sqrt(10)) / 2);
}
