/**
 * MNIST (LeCun, Bottou, Bengio & Haffner 1998) from its IDX files: 28x28 grey-level images of handwritten
 * digits, 60,000 for training and 10,000 for testing. The same layout serves every dataset distributed
 * the MNIST way (Fashion-MNIST, KMNIST, EMNIST), so the class names are an option. encodeMnist writes
 * samples back in the same format, bit for bit.
 */
import {
  allocateFeatures,
  allocateLabels,
  ArrayDataset,
  sizeOf,
  type Dataset,
  type Normalization,
} from './dataset.js';
import { encodeIdx, parseIdx, type IdxTensor } from './idx.js';

export const MNIST_CLASSES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Pixels are stored as bytes 0..255 and scaled to [0, 1]; no mean/std shift. */
export const MNIST_NORMALIZATION: Readonly<Normalization> = { scale: 1 / 255, mean: 0, std: 1 };

export interface MnistOptions {
  /** Features of shape [784] instead of [1, 28, 28] (for an MLP). */
  flatten?: boolean;
  /** Class names, one per label value; the digits '0'..'9' by default. */
  classes?: readonly string[];
}

/** Decoded MNIST arrays, shared between the flattened and image-shaped datasets built from them. */
export interface MnistArrays {
  /** pixel / 255, image after image, row-major. */
  features: Float32Array;
  labels: Int32Array;
  rows: number;
  cols: number;
}

/**
 * Converts an IDX image file (uint8, [n, rows, cols]) and an IDX label file (uint8, [n]) into float pixels in
 * [0, 1] and int32 labels, checking that they belong together.
 */
export function decodeMnist(
  images: Uint8Array | IdxTensor,
  labels: Uint8Array | IdxTensor,
  numClasses = MNIST_CLASSES.length,
  /** Where the decoded arrays live (e.g. a SharedArrayBuffer that worker threads read in place). */
  allocate: (bytes: number) => ArrayBufferLike = (bytes) => new ArrayBuffer(bytes),
): MnistArrays {
  const img = images instanceof Uint8Array ? parseIdx(images, 'MNIST images') : images;
  const lab = labels instanceof Uint8Array ? parseIdx(labels, 'MNIST labels') : labels;
  if (img.type !== 'uint8' || img.dims.length !== 3)
    throw new Error(`MNIST images: expected uint8 dims [n, rows, cols], got ${img.type} [${img.dims}]`);
  if (lab.type !== 'uint8' || lab.dims.length !== 1)
    throw new Error(`MNIST labels: expected uint8 dims [n], got ${lab.type} [${lab.dims}]`);
  const [n, rows, cols] = img.dims;
  if (lab.dims[0] !== n)
    throw new Error(`MNIST: the image file holds ${n} images but the label file ${lab.dims[0]} labels`);

  // A 256-entry table turns each byte into its float with one load, and is exactly pixel / 255 in float32.
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = v / 255;
  const pixels = img.data as Uint8Array;
  const features = new Float32Array(allocate(pixels.length * 4));
  for (let i = 0; i < pixels.length; i++) features[i] = table[pixels[i]];

  const raw = lab.data as Uint8Array;
  const out = new Int32Array(allocate(n * 4));
  for (let i = 0; i < n; i++) {
    if (raw[i] >= numClasses)
      throw new Error(
        `MNIST labels: sample ${i} has label ${raw[i]}, expected a class index in [0, ${numClasses})`,
      );
    out[i] = raw[i];
  }
  return { features, labels: out, rows, cols };
}

/** Wraps decoded MNIST arrays as a dataset without copying them. */
export function mnistDataset(arrays: MnistArrays, options: MnistOptions = {}): ArrayDataset {
  const { features, labels, rows, cols } = arrays;
  return new ArrayDataset({
    features,
    labels,
    featureShape: options.flatten ? [rows * cols] : [1, rows, cols],
    labelShape: [],
    classes: options.classes ?? MNIST_CLASSES,
    normalization: { ...MNIST_NORMALIZATION },
  });
}

/** An MNIST-format dataset from the bytes of its (uncompressed) IDX image and label files. */
export function mnistFromIdx(
  images: Uint8Array | IdxTensor,
  labels: Uint8Array | IdxTensor,
  options: MnistOptions = {},
): ArrayDataset {
  const classes = options.classes ?? MNIST_CLASSES;
  return mnistDataset(decodeMnist(images, labels, classes.length), { ...options, classes });
}

/** The bytes of an MNIST-format pair of IDX files. */
export interface MnistFiles {
  /** uint8 [n, rows, cols]. */
  images: Uint8Array;
  /** uint8 [n]. */
  labels: Uint8Array;
}

/**
 * Writes samples of an MNIST-format dataset back as IDX files, the inverse of decodeMnist: each
 * feature must be exactly what decodeMnist makes of some byte (float32 of byte / 255), so that reading
 * the files back gives bit-identical features. A value that is not (a normalized or augmented image) is
 * refused rather than rounded: the written data would silently differ from the data given.
 *
 * @param indices the samples to write, in this order.
 */
export function encodeMnist(dataset: Dataset, indices: ArrayLike<number>): MnistFiles {
  const shape = dataset.featureShape;
  const image = shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
  if (image.length !== 2 || dataset.featureType !== 'float32')
    throw new Error(
      `encodeMnist: expected float32 images of shape [1, rows, cols] or [rows, cols], got ${dataset.featureType} [${shape}]`,
    );
  if (sizeOf(dataset.labelShape) !== 1 || dataset.labelType !== 'int32')
    throw new Error(
      `encodeMnist: expected one int32 class index per sample, got ${dataset.labelType} labels of shape [${dataset.labelShape}]`,
    );
  const n = indices.length;
  const [rows, cols] = image;
  const size = rows * cols;
  const features = allocateFeatures(dataset, n);
  const labels = allocateLabels(dataset, n);
  dataset.gather(indices, features, labels);
  const pixels = new Uint8Array(n * size);
  for (let i = 0; i < pixels.length; i++) {
    const v = features[i];
    // + 0 turns -0 into the +0 that byte 0 decodes to, and Object.is then tells -0 from it (and NaN from all).
    const byte = Math.round(v * 255) + 0;
    if (!(byte >= 0 && byte <= 255 && Object.is(Math.fround(byte / 255), v)))
      throw new Error(
        `encodeMnist: sample ${indices[Math.floor(i / size)]} has pixel value ${v} at ${i % size}, ` +
          'which is not a byte / 255 (only MNIST-scaled pixels can be written back exactly)',
      );
    pixels[i] = byte;
  }
  for (let i = 0; i < n; i++)
    if (!(labels[i] >= 0 && labels[i] <= 255))
      throw new Error(
        `encodeMnist: sample ${indices[i]} has label ${labels[i]}; an MNIST label file holds bytes 0..255`,
      );
  return {
    images: encodeIdx({ dims: [n, rows, cols], type: 'uint8', data: pixels }),
    labels: encodeIdx({ dims: [n], type: 'uint8', data: labels }),
  };
}
