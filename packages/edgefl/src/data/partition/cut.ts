/**
 * Cuts an ordering of sample indices into consecutive parts of the given sizes. Each part is its own
 * array (not a view of one shared buffer, so a part can be transferred to a worker alone) and is
 * sorted ascending: gathers then walk the dataset forward, and two partitions compare by value.
 */
export function cutIntoParts(order: Uint32Array, sizes: readonly number[]): Uint32Array[] {
  const parts: Uint32Array[] = [];
  let start = 0;
  for (const size of sizes) {
    parts.push(order.slice(start, start + size).sort());
    start += size;
  }
  if (start !== order.length) throw new Error(`cutIntoParts: sizes add up to ${start}, not ${order.length}`);
  return parts;
}

/**
 * Integer sizes summing to `total` in the given proportions, each at least `minSize`: every part first
 * gets minSize, and the remaining total − parts·minSize samples are apportioned by the largest-remainder
 * (Hamilton) method, so no part is off its exact share by a whole sample or more.
 */
export function apportion(total: number, proportions: ArrayLike<number>, minSize = 0): number[] {
  const k = proportions.length;
  const free = total - k * minSize;
  if (free < 0) throw new RangeError(`apportion: ${total} samples cannot give ${k} parts ${minSize} each`);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    if (!(proportions[i] >= 0) || !Number.isFinite(proportions[i]))
      throw new RangeError(`apportion: proportion ${i} is ${proportions[i]}, expected a finite number >= 0`);
    sum += proportions[i];
  }
  if (sum === 0 && free > 0) throw new RangeError('apportion: all proportions are zero');
  const sizes = new Array<number>(k);
  const remainders: { i: number; r: number }[] = [];
  let assigned = 0;
  for (let i = 0; i < k; i++) {
    const exact = free === 0 ? 0 : (proportions[i] / sum) * free;
    sizes[i] = Math.floor(exact);
    assigned += sizes[i];
    remainders.push({ i, r: exact - sizes[i] });
  }
  // Ties broken by index so the result depends only on the proportions.
  remainders.sort((a, b) => b.r - a.r || a.i - b.i);
  for (let j = 0; j < free - assigned; j++) sizes[remainders[j].i]++;
  for (let i = 0; i < k; i++) sizes[i] += minSize;
  return sizes;
}
