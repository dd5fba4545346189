/** A copy of `values` in a SharedArrayBuffer, where worker threads hold the global model and datasets. */
export function inSharedMemory<A extends Float32Array | Int32Array>(values: A): A {
  const copy = new (values.constructor as new (buffer: SharedArrayBuffer) => A)(
    new SharedArrayBuffer(values.byteLength),
  );
  copy.set(values);
  return copy;
}
