/**
 * The deployable artifact: the inference graph alone, parameters baked in as initializers, with
 * named inputs/outputs and metadata (class labels, input normalization, the model definition) so a
 * device can use it without anything else from edgefl. Any ONNX Runtime or Netron opens it.
 */
import * as op from '../onnx/ops.js';
import { encodeModel } from '../onnx/proto.js';
import type { Normalization } from '../data/dataset.js';
import type { ParameterSet } from '../tensor/parameters.js';
import { buildModel } from './build.js';
import type { ModelSpec } from './layers.js';

export interface ExportOptions {
  labels?: readonly string[];
  normalization?: Normalization;
  /** Also output softmax probabilities (default: true for classifiers). */
  probabilities?: boolean;
  metadata?: Record<string, string>;
  docString?: string;
}

export const EXPORT_INPUT = 'input';
export const EXPORT_LOGITS = 'logits';
export const EXPORT_PROBABILITIES = 'probabilities';

export function exportInferenceModel(
  spec: ModelSpec,
  params: ParameterSet,
  o: ExportOptions = {},
): Uint8Array {
  // A diverged model would deploy as one that answers NaN to everything: never write it.
  params.assertFinite('export: refusing to write a model that cannot be right');
  const built = buildModel(spec, { mode: 'infer', bake: params, inputName: EXPORT_INPUT });
  const expected = built.layout;
  params.assertSameLayout({ entries: expected }, 'export parameters');
  const g = built.graph;
  g.output(built.output, EXPORT_LOGITS);
  if (o.probabilities ?? true) g.output(op.softmax(built.output, -1), EXPORT_PROBABILITIES);
  const metadata: Record<string, string> = {
    'edgefl.model': JSON.stringify(spec),
    'edgefl.input_shape': JSON.stringify(spec.inputShape),
    ...(o.labels ? { 'edgefl.labels': JSON.stringify(o.labels) } : {}),
    ...(o.normalization ? { 'edgefl.normalization': JSON.stringify(o.normalization) } : {}),
    ...o.metadata,
  };
  return encodeModel(g, {
    metadata,
    docString:
      o.docString ??
      `edgefl model '${spec.name ?? 'model'}'. Input '${EXPORT_INPUT}': [batch, ${spec.inputShape.join(', ')}]` +
        (o.normalization
          ? `, features = (raw * ${o.normalization.scale} - ${o.normalization.mean}) / ${o.normalization.std}`
          : '') +
        `. Outputs: '${EXPORT_LOGITS}'${(o.probabilities ?? true) ? ` and '${EXPORT_PROBABILITIES}'` : ''}.`,
  });
}
