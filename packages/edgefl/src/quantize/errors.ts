/** The one error quantization throws: it names the node, input or tensor that is wrong. */
export class QuantizationError extends Error {
  override name = 'QuantizationError';
}
