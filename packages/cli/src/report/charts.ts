/**
 * The charts of a report, as vega-lite specifications: grouped bars (a figure per client and per way of
 * training), lines of y against x (precision-recall and ROC curves, learning curves) and a time series
 * with marked points (a sensor's readings and the decisions taken on them). Each has a title, labelled
 * axes and a legend; `renderChart` draws them as SVG and PNG without a browser.
 */
import type { TopLevelSpec } from 'vega-lite';

export interface Bar {
  /** Where the bar stands on the x axis, e.g. a hospital. */
  group: string;
  /** Which bar of the group, e.g. 'alone', 'federated', 'pooled': the legend. */
  series: string;
  value: number;
}

export interface BarChartOptions {
  title: string;
  /** What the bars measure, e.g. 'ROC-AUC on its own held-out patients'. */
  yTitle: string;
  xTitle?: string;
  /** e.g. [0, 1] for a rate; default: from zero to the largest bar. */
  yDomain?: [number, number];
  /** Order of the bars within a group and in the legend (default: as they first appear). */
  seriesOrder?: readonly string[];
  /** How the value is printed above its bar (a d3 format, default '.2f'). */
  format?: string;
}

export function barChart(bars: readonly Bar[], o: BarChartOptions): TopLevelSpec {
  const groups = unique(bars.map((b) => b.group));
  const series = o.seriesOrder ? [...o.seriesOrder] : unique(bars.map((b) => b.series));
  const values = bars.filter((b) => Number.isFinite(b.value)) as unknown as Record<string, unknown>[];
  const x = {
    field: 'group',
    type: 'nominal' as const,
    title: o.xTitle ?? null,
    sort: groups,
    axis: { labelAngle: 0, labelLimit: 0 },
  };
  const y = {
    field: 'value',
    type: 'quantitative' as const,
    title: o.yTitle,
    ...(o.yDomain ? { scale: { domain: o.yDomain } } : {}),
  };
  const xOffset = { field: 'series', type: 'nominal' as const, sort: series };
  // Side by side within a group only when a group has several bars; room for the longest label.
  const sideBySide = groups.length < bars.length;
  const perGroup = Math.max(
    (sideBySide ? series.length : 1) * 34,
    7 * Math.max(...groups.map((g) => g.length)) + 12,
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: Math.max(360, groups.length * perGroup),
    height: 280,
    background: 'white',
    data: { values },
    encoding: sideBySide ? { x, xOffset, y } : { x, y },
    layer: [
      {
        mark: { type: 'bar', clip: true },
        encoding: {
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            sort: series,
            legend: { orient: 'bottom', labelLimit: 0 },
          },
        },
      },
      {
        mark: { type: 'text', dy: -6, fontSize: 10 },
        encoding: { text: { field: 'value', type: 'quantitative', format: o.format ?? '.2f' } },
      },
    ],
  };
}

export interface LinePoint {
  x: number;
  y: number;
  /** The line the point belongs to: the legend. */
  series: string;
  /** The panel the point is drawn in, when the chart has several (`panels`). */
  panel?: string;
}

export interface LineChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** The dashed diagonal y = x (a ROC curve's chance line). */
  diagonal?: boolean;
  /** Step lines (precision-recall curves are steps), default straight segments. */
  step?: boolean;
  /** One panel per value of the points' `panel` (e.g. one per bank), this many side by side. */
  panels?: { columns: number };
  seriesOrder?: readonly string[];
}

export function lineChart(points: readonly LinePoint[], o: LineChartOptions): TopLevelSpec {
  const series = o.seriesOrder ? [...o.seriesOrder] : unique(points.map((p) => p.series));
  const scale = (d?: [number, number]) => (d ? { domain: d } : { zero: false });
  const lines = {
    mark: {
      type: 'line' as const,
      clip: true,
      interpolate: o.step ? ('step-after' as const) : ('linear' as const),
    },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const, title: o.xTitle, scale: scale(o.xDomain) },
      y: { field: 'y', type: 'quantitative' as const, title: o.yTitle, scale: scale(o.yDomain) },
      color: {
        field: 'series',
        type: 'nominal' as const,
        title: null,
        sort: series,
        legend: { orient: 'bottom' as const, labelLimit: 0 },
      },
    },
  };
  const diagonal = {
    data: {
      values: [
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ],
    },
    mark: { type: 'line' as const, strokeDash: [4, 4], color: 'gray' },
    encoding: {
      x: { field: 'x', type: 'quantitative' as const },
      y: { field: 'y', type: 'quantitative' as const },
    },
  };
  const panel = { width: 300, height: 240, layer: o.diagonal ? [lines, diagonal] : [lines] };
  const data = {
    values: points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)) as unknown as Record<
      string,
      unknown
    >[],
  };
  const head = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    background: 'white',
    data,
  };
  if (!o.panels) return { ...head, ...panel, width: 520, height: 320 } as TopLevelSpec;
  return {
    ...head,
    facet: {
      field: 'panel',
      type: 'nominal',
      title: null,
      sort: unique(points.map((p) => p.panel ?? '')),
    },
    columns: o.panels.columns,
    spec: panel,
    resolve: { scale: { x: 'shared', y: 'shared' } },
  } as TopLevelSpec;
}

export interface SeriesPoint {
  /** Time or reading number. */
  t: number;
  value: number;
  /** Which measurement, e.g. 'humidity (%)': one panel each. */
  quantity: string;
}

export interface MarkedPoint {
  t: number;
  /** What the mark means, e.g. 'labelled event', 'detected', 'false alarm': the legend. */
  kind: string;
}

export interface TimeSeriesOptions {
  title: string;
  tTitle: string;
  /** Order and colours of the marks' kinds. */
  kinds: readonly { kind: string; color: string }[];
}

/**
 * One panel per quantity with its readings as a line, and below them a strip with a row of ticks per
 * kind of mark (the labelled events, the device's detections, its false alarms) on the same time axis,
 * so a reader sees what was detected against what happened.
 */
export function timeSeriesChart(
  readings: readonly SeriesPoint[],
  marks: readonly MarkedPoint[],
  o: TimeSeriesOptions,
): TopLevelSpec {
  const quantities = unique(readings.map((r) => r.quantity));
  const t = { field: 't', type: 'quantitative' as const, title: null, scale: { zero: false, nice: false } };
  const panels: unknown[] = quantities.map((q) => ({
    width: 640,
    height: 120,
    data: { values: readings.filter((r) => r.quantity === q) as unknown as Record<string, unknown>[] },
    mark: { type: 'line', strokeWidth: 1, color: '#4c78a8' },
    encoding: { x: t, y: { field: 'value', type: 'quantitative', title: q, scale: { zero: false } } },
  }));
  const kinds = o.kinds.map((k) => k.kind);
  panels.push({
    width: 640,
    height: 18 * kinds.length,
    data: { values: marks as unknown as Record<string, unknown>[] },
    mark: { type: 'tick', thickness: 1, opacity: 0.9 },
    encoding: {
      x: { ...t, title: o.tTitle },
      y: { field: 'kind', type: 'nominal', title: null, sort: kinds, scale: { domain: kinds } },
      color: {
        field: 'kind',
        type: 'nominal',
        scale: { domain: kinds, range: o.kinds.map((k) => k.color) },
        legend: null,
      },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    background: 'white',
    vconcat: panels,
    resolve: { scale: { x: 'shared' } },
  } as TopLevelSpec;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
