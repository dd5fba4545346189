/** The picture: layout of the grid, pixel mapping, and a PNG that decodes back to the same pixels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { composeGrid, encodePng } from './picture.js';

test('originals on top, reconstructions below, scaled, on a gray background', () => {
  // 2x2 images: a gradient 0, 1/3, 2/3, 1 and its inverse.
  const a = Float32Array.of(0, 1 / 3, 2 / 3, 1);
  const b = Float32Array.of(1, 2 / 3, 1 / 3, 0);
  const grid = composeGrid(
    [
      [a, b],
      [b, a],
    ],
    { width: 2, height: 2, scale: 3, gap: 1 },
  );
  // width: gap + 2 * (6 + gap); height: gap + 6 + 2 gaps (wider under the originals) + 6 + gap.
  assert.equal(grid.width, 1 + 2 * 7);
  assert.equal(grid.height, 1 + 6 + 2 + 6 + 1);
  const at = (x: number, y: number) => grid.pixels[y * grid.width + x];
  assert.equal(at(0, 0), 128, 'background');
  assert.equal(at(1, 1), 0, 'top-left pixel of the first original');
  assert.equal(at(3, 1), 0, 'scaled 3x: still the first pixel');
  assert.equal(at(4, 1), 85, 'the second pixel, 1/3 of white');
  assert.equal(at(6, 6), 255, 'bottom-right pixel of the first original');
  assert.equal(at(8, 1), 255, 'the second original starts after one gap');
  assert.equal(at(1, 9), 255, 'the reconstruction row starts two gaps below');
  assert.equal(at(7, 9), 128, 'gap between columns');
});

test('values outside the range are clamped; rows may be shorter; bad sizes are refused', () => {
  const grid = composeGrid([[Float32Array.of(-1, 2, NaN, 0.5)], []], {
    width: 2,
    height: 2,
    scale: 1,
    gap: 0,
  });
  assert.deepEqual([...grid.pixels.subarray(0, 2)], [0, 255]);
  assert.equal(grid.pixels[2], 0, 'NaN draws black');
  assert.equal(grid.pixels[3], 128);
  assert.throws(
    () => composeGrid([[new Float32Array(3)]], { width: 2, height: 2 }),
    /has 3 pixels, expected 4/,
  );
  assert.throws(() => composeGrid([], { width: 2, height: 2 }), /no images/);
});

test('the PNG decodes to the same grayscale pixels', () => {
  const grid = composeGrid([[Float32Array.from({ length: 9 }, (_, i) => i / 8)]], { width: 3, height: 3 });
  const png = PNG.sync.read(encodePng(grid));
  assert.equal(png.width, grid.width);
  assert.equal(png.height, grid.height);
  for (let i = 0; i < grid.pixels.length; i++) assert.equal(png.data[4 * i], grid.pixels[i]);
});
