/** Parsers for numeric command-line options that name the flag in their error. */
import { InvalidArgumentError } from 'commander';

export function intOption(flag: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got '${value}'`);
    return n;
  };
}

export function floatOption(flag: string, o: { min?: number; max?: number; exclusiveMin?: boolean } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const tooSmall = o.min !== undefined && (o.exclusiveMin ? n <= o.min : n < o.min);
    if (value.trim() === '' || !Number.isFinite(n) || tooSmall || (o.max !== undefined && n > o.max))
      throw new InvalidArgumentError(
        `${flag} must be a number${o.min !== undefined ? (o.exclusiveMin ? ` > ${o.min}` : ` >= ${o.min}`) : ''}${o.max !== undefined ? ` <= ${o.max}` : ''}, got '${value}'`,
      );
    return n;
  };
}
