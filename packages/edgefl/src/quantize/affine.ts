/**
 * The arithmetic of affine (scale, zero-point) int8 quantization, as ONNX's QuantizeLinear defines
 * it: q = saturate(round_half_even(x / scale) + zero_point), x ≈ (q - zero_point) * scale.
 *
 * Activations are uint8 with a zero-point (asymmetric) and weights int8 without one (symmetric):
 * that is the pairing ONNX Runtime's x86 kernels (u8s8) fuse into QLinearConv / QLinearMatMul and
 * run faster than float; signed activations or unsigned weights either do not fuse or run slower.
 */

export interface ActivationParams {
  /** Float scale of one uint8 step. */
  readonly scale: number;
  /** The uint8 that stands for 0.0 (exactly: zero padding and ReLU's 0 must be representable). */
  readonly zeroPoint: number;
}

/** The float32 nearest a number: what the model will store and the runtime will compute with. */
const f32 = Math.fround;

/** Rounds half to even, as QuantizeLinear does (Math.round rounds half up). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * uint8 parameters covering [min, max] widened to include 0: the zero-point is an integer, so 0.0
 * is quantized exactly (Conv's zero padding, ReLU's output floor). A range of one point (a constant
 * activation) gets scale 1 rather than 0, which would divide by zero.
 */
export function activationParams(min: number, max: number): ActivationParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max)
    throw new RangeError(`activationParams: not a range: [${min}, ${max}]`);
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? f32((hi - lo) / 255) : 1;
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zeroPoint };
}

/**
 * Symmetric int8 scales for a weight, one per slice along `axis` (or one for the whole tensor when
 * axis is undefined). The range is ±127, not -128..127: symmetric keeps the zero-point 0, which is
 * what lets the runtime skip the zero-point correction of the weight.
 */
export function weightScales(
  data: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
): Float32Array {
  const channels = axis === undefined ? 1 : dims[axis];
  const inner = axis === undefined ? data.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const largest = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = axis === undefined ? 0 : Math.floor(i / inner) % channels;
    const v = Math.abs(data[i]);
    if (v > largest[c]) largest[c] = v;
  }
  // An all-zero channel still needs a positive scale (its values all quantize to 0).
  return Float32Array.from(largest, (m) => (m > 0 ? f32(m / 127) : 1));
}

/** The weight as int8 with the scales from weightScales (same axis). */
export function quantizeWeight(
  data: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  scales: Float32Array,
): Int8Array {
  const channels = scales.length;
  const inner = axis === undefined ? data.length : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const s = scales[channels === 1 ? 0 : Math.floor(i / inner) % channels];
    q[i] = Math.max(-127, Math.min(127, roundHalfEven(data[i] / s)));
  }
  return q;
}

/**
 * A bias as int32 in the accumulator's units: scale = activation scale x weight scale (per output
 * channel), zero-point 0, so the integer kernel adds it to the int32 sum without rescaling.
 */
export function quantizeBias(
  bias: Float32Array,
  activationScale: number,
  weightScales: Float32Array,
): { values: Int32Array; scales: Float32Array } {
  const scales = Float32Array.from(bias, (_, c) =>
    f32(activationScale * weightScales[weightScales.length === 1 ? 0 : c]),
  );
  const limit = 2 ** 31 - 1;
  const values = Int32Array.from(bias, (b, c) =>
    Math.max(-limit, Math.min(limit, roundHalfEven(b / scales[c]))),
  );
  return { values, scales };
}
