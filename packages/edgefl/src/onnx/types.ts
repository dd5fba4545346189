/**
 * The vocabulary of edgefl's ONNX graphs: element types, shapes (with symbolic dimensions such as
 * the batch size), tensor data and node attributes.
 */

export type DType = 'float32' | 'float16' | 'float64' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** A dimension: a known size, or a symbol (e.g. 'batch') that is only known at run time. */
export type Dim = number | string;
export type Shape = readonly Dim[];

export type TensorArray =
  | Float32Array
  | Float64Array
  | Uint16Array // float16 bits
  | BigInt64Array
  | Int32Array
  | Int8Array
  | Uint8Array; // uint8 and bool

/** Tensor data held in the graph (initializers, constants). */
export interface TensorData {
  dtype: DType;
  dims: readonly number[];
  data: TensorArray;
}

/**
 * Attributes carry their ONNX type explicitly: ONNX distinguishes FLOAT from INT even for whole
 * numbers (Gemm's alpha = 1 must be written as a FLOAT), so a bare JS number is ambiguous.
 */
export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'tensor'; value: TensorData };

export const attr = {
  int: (value: number): Attribute => {
    if (!Number.isInteger(value)) throw new TypeError(`integer attribute expected, got ${value}`);
    return { type: 'int', value };
  },
  float: (value: number): Attribute => ({ type: 'float', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
  ints: (value: readonly number[]): Attribute => {
    for (const v of value)
      if (!Number.isInteger(v)) throw new TypeError(`integer list attribute expected, got [${value}]`);
    return { type: 'ints', value: [...value] };
  },
  floats: (value: readonly number[]): Attribute => ({ type: 'floats', value: [...value] }),
  tensor: (value: TensorData): Attribute => ({ type: 'tensor', value }),
};

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
      return 2;
    case 'int8':
    case 'uint8':
    case 'bool':
      return 1;
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'float64';
}

/** Number of elements of a fully known shape. */
export function numElements(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function shapeToString(shape: Shape | undefined): string {
  return shape === undefined ? '[?]' : `[${shape.join(', ')}]`;
}

export function isStatic(shape: Shape | undefined): shape is readonly number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}
