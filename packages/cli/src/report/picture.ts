/**
 * The attack's picture: originals on the top row, each reconstruction row below, every image scaled
 * up (nearest neighbour) so that 28x28 digits are readable, on a mid-gray background that keeps the
 * black borders of the digits visible. Written as an 8-bit grayscale PNG with pngjs.
 */
import { PNG } from 'pngjs';
import { writeFileAtomic } from '@edgefl/node';

export interface GridOptions {
  /** Size of one image (row-major, one value per pixel). */
  width: number;
  height: number;
  /** Pixels per image pixel (default 3). */
  scale?: number;
  /** Background pixels between images (default 4); rows after the first get twice that above them. */
  gap?: number;
  /** The value range mapped to black..white (default [0, 1]); values outside are clamped. */
  bounds?: readonly [number, number];
}

export interface GrayImage {
  width: number;
  height: number;
  /** One byte per pixel, row-major. */
  pixels: Uint8Array;
}

const BACKGROUND = 128;

/** Lays out `rows` of images (rows may differ in length) into one grayscale image. */
export function composeGrid(rows: readonly (readonly Float32Array[])[], o: GridOptions): GrayImage {
  const scale = o.scale ?? 3;
  const gap = o.gap ?? 4;
  const [lo, hi] = o.bounds ?? [0, 1];
  if (!Number.isInteger(scale) || scale < 1)
    throw new RangeError(`picture: scale must be a positive integer, got ${scale}`);
  if (rows.length === 0 || rows.every((r) => r.length === 0))
    throw new RangeError('picture: no images to draw');
  const cell = { w: o.width * scale, h: o.height * scale };
  const columns = Math.max(...rows.map((r) => r.length));
  const width = gap + columns * (cell.w + gap);
  // A wider gap under the originals separates them from the reconstructions.
  const rowTop = (r: number) => gap + r * (cell.h + gap) + (r > 0 ? gap : 0);
  const height = rowTop(rows.length - 1) + cell.h + gap;
  const pixels = new Uint8Array(width * height).fill(BACKGROUND);
  rows.forEach((row, r) =>
    row.forEach((img, c) => {
      if (img.length !== o.width * o.height)
        throw new RangeError(
          `picture: image ${c} of row ${r} has ${img.length} pixels, expected ${o.width * o.height}`,
        );
      const top = rowTop(r);
      const left = gap + c * (cell.w + gap);
      for (let y = 0; y < cell.h; y++)
        for (let x = 0; x < cell.w; x++) {
          const v = (img[Math.floor(y / scale) * o.width + Math.floor(x / scale)] - lo) / (hi - lo);
          pixels[(top + y) * width + left + x] = Math.round(255 * Math.min(1, Math.max(0, v || 0)));
        }
    }),
  );
  return { width, height, pixels };
}

/** PNG bytes of a grayscale image. */
export function encodePng(img: GrayImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.pixels.length; i++) {
    const v = img.pixels[i];
    png.data[4 * i] = v;
    png.data[4 * i + 1] = v;
    png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: 0 });
}

/** Writes the grid of `rows` as a PNG at `path` (atomically, creating the folder). */
export async function writeImageGrid(
  path: string,
  rows: readonly (readonly Float32Array[])[],
  o: GridOptions,
): Promise<void> {
  await writeFileAtomic(path, encodePng(composeGrid(rows, o)));
}
