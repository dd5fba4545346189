/**
 * IDX, the tensor file format MNIST is distributed in (LeCun et al., "THE MNIST DATABASE of handwritten
 * digits"): a 4-byte magic `0x00 0x00 <type code> <number of dims>`, then each dimension as a big-endian
 * uint32, then the values in row-major order, big-endian.
 *
 * This parser is isomorphic and therefore does not decompress: the files are often distributed gzipped,
 * and gzip lives in the Node adapter (`node/idx.ts`) — or, in a browser, in `DecompressionStream('gzip')`.
 */

/** The element types IDX defines, by their type code. */
export const IDX_TYPES = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
} as const;

export type IdxTypeCode = keyof typeof IDX_TYPES;
export type IdxElementType = (typeof IDX_TYPES)[IdxTypeCode];
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxTensor {
  /** Sizes of the dimensions, outermost first, e.g. [10000, 28, 28]. */
  dims: number[];
  /** The element type named by the file's type code. */
  type: IdxElementType;
  /** The values in row-major order, in the platform's native byte order. */
  data: IdxData;
}

const BYTES_PER_ELEMENT: Record<IdxElementType, number> = {
  uint8: 1,
  int8: 1,
  int16: 2,
  int32: 4,
  float32: 4,
  float64: 8,
};

/** True when the bytes start with the gzip magic number 0x1f 0x8b (RFC 1952). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses an uncompressed IDX file.
 *
 * For uint8 and int8 files the returned `data` is a view of `bytes` (no copy: MNIST's 47 MB of pixels are
 * not duplicated), so changing one changes the other. Wider types are converted from big-endian into a
 * new array.
 *
 * @param source names the file in error messages.
 */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxTensor {
  if (isGzip(bytes))
    throw new Error(
      `${source}: is gzip-compressed; decompress it first (the Node adapter's readIdxFile does, ` +
        `or use DecompressionStream('gzip') in a browser)`,
    );
  if (bytes.length < 4)
    throw new Error(`${source}: truncated: ${bytes.length} bytes is shorter than the 4-byte magic`);
  if (bytes[0] !== 0 || bytes[1] !== 0)
    throw new Error(
      `${source}: wrong magic: an IDX file starts with two zero bytes, got 0x${hex(bytes[0])} 0x${hex(bytes[1])}`,
    );
  const typeCode = bytes[2];
  const type = IDX_TYPES[typeCode as IdxTypeCode] as IdxElementType | undefined;
  if (type === undefined)
    throw new Error(
      `${source}: unknown IDX type code 0x${hex(typeCode)}; expected one of ` +
        Object.keys(IDX_TYPES)
          .map((k) => '0x' + hex(Number(k)))
          .join(', '),
    );
  const rank = bytes[3];
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize)
    throw new Error(
      `${source}: truncated: the header declares ${rank} dimensions (${headerSize} bytes), ` +
        `but the file has only ${bytes.length} bytes`,
    );

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < rank; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    dims.push(size);
    count *= size;
  }
  const elementSize = BYTES_PER_ELEMENT[type];
  const expected = count * elementSize;
  const actual = bytes.length - headerSize;
  if (actual < expected)
    throw new Error(
      `${source}: truncated: dims [${dims}] of ${type} need ${expected} bytes of data, got ${actual}`,
    );
  if (actual > expected)
    throw new Error(
      `${source}: dims [${dims}] of ${type} need ${expected} bytes of data, but ${actual - expected} bytes ` +
        `follow them; the dims do not match the file`,
    );

  return { dims, type, data: readValues(bytes, view, headerSize, count, type) };
}

function readValues(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  count: number,
  type: IdxElementType,
): IdxData {
  switch (type) {
    case 'uint8':
      return bytes.subarray(offset, offset + count);
    case 'int8':
      return new Int8Array(bytes.buffer, bytes.byteOffset + offset, count);
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Writes a tensor as an (uncompressed) IDX file; the inverse of parseIdx. */
export function encodeIdx(tensor: IdxTensor): Uint8Array {
  const { dims, type, data } = tensor;
  const typeCode = Number(Object.keys(IDX_TYPES).find((k) => IDX_TYPES[Number(k) as IdxTypeCode] === type));
  if (!Number.isInteger(typeCode)) throw new Error(`encodeIdx: unknown element type '${type}'`);
  if (dims.length > 255) throw new Error(`encodeIdx: IDX allows at most 255 dimensions, got ${dims.length}`);
  let count = 1;
  for (const [d, size] of dims.entries()) {
    if (!Number.isInteger(size) || size < 0 || size > 0xffffffff)
      throw new Error(`encodeIdx: dimension ${d} must be an integer in [0, 2^32), got ${size}`);
    count *= size;
  }
  if (data.length !== count)
    throw new Error(`encodeIdx: dims [${dims}] hold ${count} values, but data has ${data.length}`);
  const headerSize = 4 + 4 * dims.length;
  const elementSize = BYTES_PER_ELEMENT[type];
  const out = new Uint8Array(headerSize + count * elementSize);
  const view = new DataView(out.buffer);
  out[2] = typeCode;
  out[3] = dims.length;
  dims.forEach((size, d) => view.setUint32(4 + 4 * d, size, false));
  const write = {
    uint8: (i: number, v: number) => view.setUint8(headerSize + i, v),
    int8: (i: number, v: number) => view.setInt8(headerSize + i, v),
    int16: (i: number, v: number) => view.setInt16(headerSize + 2 * i, v, false),
    int32: (i: number, v: number) => view.setInt32(headerSize + 4 * i, v, false),
    float32: (i: number, v: number) => view.setFloat32(headerSize + 4 * i, v, false),
    float64: (i: number, v: number) => view.setFloat64(headerSize + 8 * i, v, false),
  }[type];
  const range = INTEGER_RANGES[type];
  for (let i = 0; i < count; i++) {
    const v = data[i];
    // DataView setters wrap out-of-range integers silently; a written file must hold what was given.
    if (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1]))
      throw new Error(
        `encodeIdx: value ${i} is ${v}, not a ${type} (an integer in [${range[0]}, ${range[1]}])`,
      );
    write(i, v);
  }
  return out;
}

const INTEGER_RANGES: Record<IdxElementType, readonly [number, number] | undefined> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  float32: undefined,
  float64: undefined,
};

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
