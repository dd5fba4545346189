/**
 * Accuracy and loss curves of a run, as an SVG (vega-lite, rendered without a browser) and a PNG
 * (resvg). Text in the PNG uses the machine's fonts; where there are none the SVG still has it.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';
import { writeFileAtomic } from '../../io/node/files.js';

export interface CurvePoint {
  round: number;
  /** Series name, e.g. 'test accuracy' or a strategy name. */
  series: string;
  value: number;
}

/** Renders one or two panels (accuracy and loss) of value against round. */
export async function renderCurves(
  points: readonly CurvePoint[],
  o: { title: string; yTitle?: string },
): Promise<{ svg: string; png: Uint8Array }> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: 560,
    height: 300,
    background: 'white',
    data: { values: points.filter((p) => Number.isFinite(p.value)) as unknown as Record<string, unknown>[] },
    mark: { type: 'line', point: points.length <= 60 },
    encoding: {
      x: { field: 'round', type: 'quantitative', title: 'round' },
      y: { field: 'value', type: 'quantitative', title: o.yTitle ?? 'value', scale: { zero: false } },
      // Series names are whole descriptions ("1,000 clients, DP-FedAvg z = 2.0"): never truncate them.
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        legend: { labelLimit: 0, orient: 'bottom', columns: 2 },
      },
    },
  };
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
  o: { title: string; yTitle?: string },
): Promise<void> {
  const { svg, png } = await renderCurves(points, o);
  await writeFileAtomic(`${base}.svg`, svg);
  await writeFileAtomic(`${base}.png`, png);
}
