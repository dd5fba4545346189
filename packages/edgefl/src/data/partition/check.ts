/**
 * Argument checks shared by the partitioners, so every scheme refuses bad input with the same kind
 * of message: which function, which argument, what was expected, what it got.
 */

export function checkCount(fn: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min)
    throw new RangeError(`${fn}: ${name} must be an integer >= ${min}, got ${value}`);
}

export function checkPositive(fn: string, name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new RangeError(`${fn}: ${name} must be a finite number > 0, got ${value}`);
}

/** Class labels must be non-negative integers; returns the number of classes (largest label + 1). */
export function checkLabels(fn: string, labels: Int32Array): number {
  if (!(labels instanceof Int32Array))
    throw new TypeError(`${fn}: labels must be an Int32Array of class indices (see classLabels)`);
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y < 0) throw new RangeError(`${fn}: label ${y} of sample ${i} is negative; class labels start at 0`);
    if (y > max) max = y;
  }
  return max + 1;
}
