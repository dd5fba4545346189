/**
 * Accuracy and loss curves of a run, as an SVG (vega-lite, rendered without a browser) and a PNG
 * (resvg). Text in the PNG uses the machine's fonts; where there are none the SVG still has it.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';
import { writeFileAtomic } from '@edgefl/node';

export interface CurvePoint {
  round: number;
  /** Series name, e.g. 'test accuracy' or a strategy name. */
  series: string;
  value: number;
}

/** Renders one or two panels (accuracy and loss) of value against round. */
export interface CurveOptions {
  title: string;
  yTitle?: string;
  /** Show only this range of values (lines leaving it are clipped), e.g. [0.9, 1] to read 97% from 98%. */
  yDomain?: [number, number];
  /** Horizontal dashed lines, e.g. the accuracy a run must reach. */
  targets?: readonly number[];
}

export async function renderCurves(
  points: readonly CurvePoint[],
  o: CurveOptions,
): Promise<{ svg: string; png: Uint8Array }> {
  const y = {
    field: 'value',
    type: 'quantitative' as const,
    title: o.yTitle ?? 'value',
    scale: o.yDomain ? { domain: o.yDomain } : { zero: false },
  };
  const curves = {
    data: { values: points.filter((p) => Number.isFinite(p.value)) as unknown as Record<string, unknown>[] },
    mark: { type: 'line' as const, point: points.length <= 60, clip: true },
    encoding: {
      x: { field: 'round', type: 'quantitative' as const, title: 'round' },
      y,
      // Series names are whole descriptions ("1,000 clients, DP-FedAvg z = 2.0"): never truncate them.
      color: {
        field: 'series',
        type: 'nominal' as const,
        title: null,
        legend: { labelLimit: 0, orient: 'bottom' as const, columns: 2 },
      },
    },
  };
  const targets = {
    data: { values: (o.targets ?? []).map((value) => ({ value })) },
    mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'gray' },
    encoding: { y },
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: 560,
    height: 300,
    background: 'white',
    layer: o.targets?.length ? [curves, targets] : [curves],
  };
  return renderChart(spec);
}

/** A vega-lite chart as an SVG and a PNG, without a browser. */
export async function renderChart(spec: TopLevelSpec): Promise<{ svg: string; png: Uint8Array }> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  return { svg, png: new Uint8Array(png) };
}

/** Writes `<base>.svg` and `<base>.png`. */
export async function writeCurves(
  base: string,
  points: readonly CurvePoint[],
  o: CurveOptions,
): Promise<void> {
  const { svg, png } = await renderCurves(points, o);
  await writeFileAtomic(`${base}.svg`, svg);
  await writeFileAtomic(`${base}.png`, png);
}
