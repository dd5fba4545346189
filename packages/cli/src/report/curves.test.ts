import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderCurves } from './curves.js';

const points = [0.5, 0.95, 0.975, 0.992].map((value, i) => ({ round: i + 1, series: 'run', value }));

test('renderCurves: a PNG and an SVG; a y range shows only that range and targets are dashed lines', async () => {
  const plain = await renderCurves(points, { title: 'plain', yTitle: 'test accuracy' });
  assert.deepEqual([...plain.png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.doesNotMatch(plain.svg, /stroke-dasharray/);
  assert.match(plain.svg, />0\.50</, 'by default the axis covers the data');

  const zoom = await renderCurves(points, { title: 'zoom', yDomain: [0.9, 1], targets: [0.97, 0.99] });
  // The axis runs from 0.90 to 1.00 (ticks every 0.01), not from 0.5.
  assert.match(zoom.svg, />0\.90</);
  assert.match(zoom.svg, />1\.00</);
  assert.doesNotMatch(zoom.svg, />0\.50</);
  // One dashed rule per target.
  assert.equal(zoom.svg.match(/stroke-dasharray="4,4"/g)?.length, 2);
});
