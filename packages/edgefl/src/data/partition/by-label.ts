/**
 * Groups samples by class label with a counting sort, O(n + classes).
 */

export interface LabelSorted {
  /** The indices of `order`, grouped by label in increasing label order; `order` is kept within a label. */
  sorted: Uint32Array;
  /** Class k's samples are sorted[classStart[k] .. classStart[k + 1]). */
  classStart: Uint32Array;
}

/** `labels` must hold integers in [0, numClasses). */
export function sortByLabel(order: Uint32Array, labels: Int32Array, numClasses: number): LabelSorted {
  const classStart = new Uint32Array(numClasses + 1);
  for (let i = 0; i < order.length; i++) classStart[labels[order[i]] + 1]++;
  for (let k = 0; k < numClasses; k++) classStart[k + 1] += classStart[k];
  const next = classStart.slice(0, numClasses);
  const sorted = new Uint32Array(order.length);
  for (let i = 0; i < order.length; i++) sorted[next[labels[order[i]]]++] = order[i];
  return { sorted, classStart };
}
