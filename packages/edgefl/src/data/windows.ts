/**
 * Sliding windows over time series, for models that decide as each reading arrives: the sample
 * ending at reading t holds readings t−window+1 … t of every series, so a device keeps the last
 * `window` readings and asks the model once per new reading. The label of a window is the label of
 * its last reading — the reading the decision is about — so a window only sees the past.
 */
import { ArrayDataset, type ArrayDatasetInit } from './dataset.js';

/** Windows as a dataset, remembering which reading each window ends at (to line decisions up with the stream). */
export class WindowDataset extends ArrayDataset {
  constructor(
    init: ArrayDatasetInit,
    /** The index of each window's last reading in the series. */
    readonly ends: Int32Array,
  ) {
    super(init);
  }
}

export interface SlidingWindowOptions {
  /** Readings per window (≥ 1). */
  window: number;
  /** Readings between the ends of consecutive windows (default 1: a window per reading). */
  step?: number;
  /** One label per reading (e.g. 1 for an anomalous reading); a window takes its last reading's. Default: all 0. */
  labels?: ArrayLike<number>;
  /**
   * The first reading a window may end at (default window − 1, the first with a full history). A later
   * `from` cuts a stream in time while the windows of the later part still see the readings before it,
   * as a device would.
   */
  from?: number;
  /** One past the last reading a window may end at (default: the series' length). */
  to?: number;
  /**
   * Each reading of the window minus the window's first reading, per series, and the first reading
   * dropped: window − 1 readings of changes. The window's shape without its level, so a model of it
   * is unmoved by a level it never saw in training (the slow drift of an outdoor sensor through a day).
   */
  relative?: boolean;
}

/**
 * Windows of `series` (each a reading per time step, all the same length, e.g. [humidity,
 * temperature]) as a dataset: features [window × S] for S series (relative: [(window − 1) × S]),
 * time-major — reading after reading, each reading's series side by side: x[j·S + s] is series s at
 * the j-th reading of the window, the last reading last; labels int32, one per window.
 */
export function slidingWindows(series: readonly Float32Array[], o: SlidingWindowOptions): WindowDataset {
  const S = series.length;
  if (S === 0) throw new Error('slidingWindows: no series given');
  const n = series[0].length;
  series.forEach((s, i) => {
    if (s.length !== n)
      throw new Error(`slidingWindows: series ${i} has ${s.length} readings, series 0 has ${n}`);
  });
  const { window } = o;
  const step = o.step ?? 1;
  if (!Number.isInteger(window) || window < 1)
    throw new Error(`slidingWindows: window must be an integer >= 1, got ${window}`);
  if (!Number.isInteger(step) || step < 1)
    throw new Error(`slidingWindows: step must be an integer >= 1, got ${step}`);
  const from = o.from ?? window - 1;
  const to = o.to ?? n;
  if (!Number.isInteger(from) || from < window - 1)
    throw new Error(
      `slidingWindows: from must be an integer >= window - 1 = ${window - 1} (a window needs ${window} readings up to its end), got ${from}`,
    );
  if (!Number.isInteger(to) || to > n || to < from)
    throw new Error(`slidingWindows: to must be an integer in [from = ${from}, ${n}], got ${to}`);
  if (o.labels && o.labels.length !== n)
    throw new Error(`slidingWindows: ${o.labels.length} labels for ${n} readings`);

  const relative = o.relative ?? false;
  if (relative && window < 2)
    throw new Error('slidingWindows: a relative window needs at least 2 readings (window >= 2)');
  const count = Math.max(0, Math.ceil((to - from) / step));
  const skip = relative ? 1 : 0;
  const width = (window - skip) * S;
  const features = new Float32Array(count * width);
  const labels = new Int32Array(count);
  const ends = new Int32Array(count);
  for (let w = 0; w < count; w++) {
    const end = from + w * step;
    ends[w] = end;
    const start = end - window + 1;
    for (let j = skip; j < window; j++)
      for (let s = 0; s < S; s++)
        features[w * width + (j - skip) * S + s] = series[s][start + j] - (relative ? series[s][start] : 0);
    if (o.labels) {
      const y = o.labels[end];
      if (!Number.isInteger(y) || y < 0)
        throw new Error(`slidingWindows: the label of reading ${end} is ${y}, not a class index`);
      labels[w] = y;
    }
  }
  return new WindowDataset({ features, labels, featureShape: [width] }, ends);
}
