/** What quantization did, node by node: for people deciding whether to ship the quantized model. */

export interface QuantizedNodeReport {
  /** The float node's name. */
  readonly node: string;
  readonly opType: string;
  /** Static and dynamic int8 quantize activations too; weight-only keeps them float. */
  readonly kind: 'static' | 'dynamic' | 'weight-only';
  /** Weight scales per output channel, or one for the tensor. */
  readonly perChannel: boolean;
  readonly weight: string;
  readonly activation: string;
  /** Static: the calibrated range quantized (after widening to include 0) and its uint8 parameters. */
  readonly activationRange?: { readonly low: number; readonly high: number };
  readonly activationScale?: number;
  readonly activationZeroPoint?: number;
  /** How the bias is stored: int32 in the accumulator's units, float (weight-only), or absent. */
  readonly bias: 'int32' | 'float' | 'none';
  /** Weight-only: the weights sharing one scale along K. */
  readonly blockSize?: number;
  /** Whether the node's output is quantized (QuantizeLinear right after it). */
  readonly outputQuantized: boolean;
  /**
   * The tensor the fused integer op computes, once the runtime has fused the group: the output of
   * the QuantizeLinear after the node, or the float result. The fusion check looks up its producer.
   */
  readonly result: string;
  /** Filled by a fusion check: the op type the runtime computes `result` with. */
  readonly computedBy?: string;
  readonly fused?: boolean;
}

export interface QuantizationReport {
  readonly format: 'static-int8-qdq' | 'dynamic-int8' | 'weight-only-int4';
  readonly nodes: readonly QuantizedNodeReport[];
  /** Candidates left float, with why. */
  readonly skipped: readonly string[];
  /** Other decisions worth knowing (Relus dropped, ...). */
  readonly notes: readonly string[];
}

export interface QuantizedModel<M> {
  readonly model: M;
  readonly report: QuantizationReport;
}
