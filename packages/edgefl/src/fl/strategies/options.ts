/** Hyper-parameter checks shared by the strategies: errors that name the parameter and the value. */

export function positive(name: string, value: number): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0))
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

export function nonNegative(name: string, value: number): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0))
    throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}

/** In [0, 1). */
export function decay(name: string, value: number): number {
  if (!(typeof value === 'number' && value >= 0 && value < 1))
    throw new RangeError(`${name} must be in [0, 1), got ${value}`);
  return value;
}

export function integerAtLeast(name: string, value: number, min: number): number {
  if (!(Number.isInteger(value) && value >= min))
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}
