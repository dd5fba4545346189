/**
 * MNIST (LeCun, Bottou, Bengio & Haffner 1998) from its IDX files: 28x28 grey-level images of handwritten
 * digits, 60,000 for training and 10,000 for testing. The same layout serves every dataset distributed
 * the MNIST way (Fashion-MNIST, KMNIST, EMNIST), so the class names are an option.
 */
import { ArrayDataset, type Normalization } from './dataset.js';
import { parseIdx, type IdxTensor } from './idx.js';

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
