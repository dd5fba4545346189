/**
 * What a partition looks like: each client's size and label histogram, and overall statistics, to
 * check a split before spending hours training on it (is it as skewed as intended? did a scheme
 * drop samples? is some client nearly empty?).
 */
import { checkCount, checkLabels } from './check.js';

export interface ClientSummary {
  size: number;
  /** Samples per class; present when labels were given. */
  histogram?: Uint32Array;
  /** Classes with at least one sample; present when labels were given. */
  classes?: number;
}

export interface PartitionSummary {
  numClients: number;
  /** Dataset size (labels.length); undefined without labels. */
  numSamples?: number;
  /** Sum of client sizes. */
  assigned: number;
  /** Samples listed by more than one client (counted once per extra listing). */
  duplicated: number;
  /** Samples of the dataset that no client holds; undefined without labels. */
  unassigned?: number;
  size: { min: number; median: number; max: number; mean: number; std: number };
  numClasses?: number;
  meanClassesPerClient?: number;
  clients: ClientSummary[];
}

/**
 * Summarizes `parts`. With `labels` (one class index per sample, see classLabels), also the label
 * histograms; `numClasses` defaults to the largest label + 1.
 */
export function partitionSummary(
  parts: readonly Uint32Array[],
  labels?: Int32Array,
  numClasses?: number,
): PartitionSummary {
  if (parts.length === 0) throw new RangeError('partitionSummary: no clients');
  if (labels !== undefined) {
    const seen = checkLabels('partitionSummary', labels);
    numClasses ??= seen;
    checkCount('partitionSummary', 'numClasses', numClasses, 1);
    if (seen > numClasses)
      throw new RangeError(`partitionSummary: label ${seen - 1} is outside numClasses=${numClasses}`);
  }
  let maxIndex = -1;
  for (const part of parts) for (const j of part) if (j > maxIndex) maxIndex = j;
  if (labels !== undefined && maxIndex >= labels.length)
    throw new RangeError(
      `partitionSummary: index ${maxIndex} is outside the ${labels.length} labelled samples`,
    );

  const timesListed = new Uint8Array(Math.max(maxIndex + 1, labels?.length ?? 0));
  let duplicated = 0;
  let assigned = 0;
  const clients = parts.map((part): ClientSummary => {
    assigned += part.length;
    for (const j of part) {
      if (timesListed[j] > 0) duplicated++;
      else timesListed[j] = 1;
    }
    if (labels === undefined) return { size: part.length };
    const histogram = new Uint32Array(numClasses as number);
    for (const j of part) histogram[labels[j]]++;
    return { size: part.length, histogram, classes: histogram.reduce((a, c) => a + (c > 0 ? 1 : 0), 0) };
  });

  const sizes = clients.map((c) => c.size).sort((a, b) => a - b);
  const m = sizes.length;
  const mean = assigned / m;
  const variance = sizes.reduce((a, s) => a + (s - mean) ** 2, 0) / m;
  const summary: PartitionSummary = {
    numClients: m,
    assigned,
    duplicated,
    size: {
      min: sizes[0],
      median: m % 2 === 1 ? sizes[(m - 1) / 2] : (sizes[m / 2 - 1] + sizes[m / 2]) / 2,
      max: sizes[m - 1],
      mean,
      std: Math.sqrt(variance),
    },
    clients,
  };
  if (labels !== undefined) {
    summary.numSamples = labels.length;
    summary.unassigned = labels.length - (assigned - duplicated);
    summary.numClasses = numClasses;
    summary.meanClassesPerClient = clients.reduce((a, c) => a + (c.classes as number), 0) / m;
  }
  return summary;
}

export interface SummaryTableOptions {
  /** Client rows to print (default 20); the rest are counted in one line. */
  maxRows?: number;
  /** Client names (e.g. speakers) instead of numbers. */
  names?: readonly string[];
  /** With more classes than this (default 10), print each client's largest classes instead of every class. */
  maxClassColumns?: number;
}

/** A plain-text table for the terminal: one row per client, then the overall statistics. */
export function formatSummaryTable(summary: PartitionSummary, options: SummaryTableOptions = {}): string {
  const { maxRows = 20, names, maxClassColumns = 10 } = options;
  checkCount('formatSummaryTable', 'maxRows', maxRows, 0);
  const k = summary.numClasses;
  const perClass = k !== undefined && k <= maxClassColumns;
  const header = ['client', 'size'];
  if (k !== undefined) header.push('classes');
  if (perClass) for (let c = 0; c < (k as number); c++) header.push(String(c));
  else if (k !== undefined) header.push('largest classes (class:count)');

  const rows = summary.clients.slice(0, maxRows).map((client, i) => {
    const row = [names?.[i] ?? String(i), String(client.size)];
    if (client.histogram) {
      row.push(String(client.classes));
      if (perClass) for (const count of client.histogram) row.push(String(count));
      else row.push(largestClasses(client.histogram, 3));
    }
    return row;
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  // Numbers right-aligned; the first column (names) and a trailing text column left-aligned.
  const textColumn = (c: number) => c === 0 || (!perClass && k !== undefined && c === header.length - 1);
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (textColumn(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();

  const out = [line(header), ...rows.map(line)];
  if (summary.numClients > rows.length) out.push(`… ${summary.numClients - rows.length} more clients`);
  out.push('');
  const s = summary.size;
  if (summary.numSamples !== undefined)
    out.push(
      `${summary.numClients} clients hold ${summary.assigned - summary.duplicated} of ${summary.numSamples} samples ` +
        `(${summary.unassigned} unassigned, ${summary.duplicated} duplicated)`,
    );
  else
    out.push(
      `${summary.numClients} clients hold ${summary.assigned} samples (${summary.duplicated} duplicated)`,
    );
  out.push(
    `size: min ${s.min}, median ${s.median}, max ${s.max} (mean ${round(s.mean)}, std ${round(s.std)})`,
  );
  if (summary.meanClassesPerClient !== undefined)
    out.push(`classes per client: ${round(summary.meanClassesPerClient)} of ${k} on average`);
  return out.join('\n');
}

function largestClasses(histogram: Uint32Array, count: number): string {
  return [...histogram.keys()]
    .filter((c) => histogram[c] > 0)
    .sort((a, b) => histogram[b] - histogram[a] || a - b)
    .slice(0, count)
    .map((c) => `${c}:${histogram[c]}`)
    .join(' ');
}

function round(x: number): string {
  return String(Math.round(x * 100) / 100);
}
