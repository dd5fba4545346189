/**
 * Structured pruning of any ONNX model: removes the output units (neurons, convolution channels)
 * of smallest L2 weight norm from every layer whose units can be followed to the layers that read
 * them (follow.ts), so the weights really shrink and the runtime does less work — unlike zeroed
 * weights, which dense CPU kernels multiply all the same.
 *
 * Layers are taken in graph order, each ranked by its weight as it stands (a layer's own input
 * columns may already have been cut by the layer before). A layer's units are ranked by the norm
 * of their weight slice alone (a Gemm's row, a convolution's filter), bias excluded: the bias is
 * one value, the norm says how much the unit responds to its input. At least one unit always stays.
 * Layers that cannot be followed are left whole and reported with the reason.
 *
 * The model is edited in place. An edgefl export keeps its model definition in step (its dense
 * units and convolution filters), so the result can still be fine-tuned and federated.
 */
import { describeNode } from '../../onnx/edit/errors.js';
import type { OnnxModel } from '../../onnx/edit/model.js';
import { PruningError } from '../magnitude.js';
import { refreshEdgeflSpec } from '../../model/edgefl-onnx.js';
import { followUnits, PRUNABLE_LAYERS, type UnitPlan, type UnitSlice } from './follow.js';
import { keepAlong, smallestUnits, unitNorms } from './tensor-slice.js';

export interface RemoveUnitsOptions {
  /** The fraction of each layer's units to remove, in [0, 1). */
  fraction: number;
  /** Only these layers (node names); default: every Gemm, MatMul and Conv that can be followed. */
  layers?: readonly string[];
}

export interface RemovedUnits {
  /** The layer: its node name (or description, for an unnamed node). */
  layer: string;
  opType: string;
  /** The weight initializer (an edgefl export names it after the parameter: 'dense_1.weight'). */
  weight: string;
  units: number;
  /** The unit indices removed, ascending. */
  removed: number[];
  /** The layers whose inputs were cut to match. */
  readers: string[];
}

export interface StructuredPruningReport {
  layers: RemovedUnits[];
  /** Layers left whole, each with the reason. */
  skipped: { layer: string; reason: string }[];
}

export function removeUnits(model: OnnxModel, o: RemoveUnitsOptions): StructuredPruningReport {
  if (!(typeof o.fraction === 'number' && o.fraction >= 0 && o.fraction < 1))
    throw new PruningError(`the fraction of units to remove must be in [0, 1), got ${String(o.fraction)}`);
  const candidates = model.filter(
    (n) => PRUNABLE_LAYERS.includes(n.opType) && (n.domain === '' || n.domain === 'ai.onnx'),
  );
  const nameOf = (n: (typeof candidates)[number]) => n.name || describeNode(n);
  if (o.layers) {
    const known = new Set(candidates.map(nameOf));
    const unknown = o.layers.filter((l) => !known.has(l));
    if (unknown.length)
      throw new PruningError(
        `${model.source} has no Gemm, MatMul or Conv named ${unknown.map((l) => `'${l}'`).join(', ')} (it has ${[...known].map((l) => `'${l}'`).join(', ')})`,
      );
  }
  const report: StructuredPruningReport = { layers: [], skipped: [] };
  for (const node of candidates) {
    if (o.layers && !o.layers.includes(nameOf(node))) continue;
    const plan = followUnits(model, node);
    if (typeof plan === 'string') {
      report.skipped.push({ layer: nameOf(node), reason: plan });
      continue;
    }
    const count = Math.min(plan.units - 1, Math.round(o.fraction * plan.units));
    if (count === 0) continue;
    const norms = unitNorms(model.initializer(plan.weight.initializer)!, plan.weight.axis);
    const { removed, kept } = smallestUnits(norms, count);
    cut(model, plan, kept);
    report.layers.push({
      layer: nameOf(node),
      opType: node.opType,
      weight: plan.weight.initializer,
      units: plan.units,
      removed,
      readers: plan.readers.map((r) => nameOf(r.node)),
    });
  }
  refreshEdgeflSpec(model);
  return report;
}

function cut(model: OnnxModel, plan: UnitPlan, kept: readonly number[]): void {
  const slices: UnitSlice[] = [plan.weight, ...plan.constants, ...plan.readers.map((r) => r.weight)];
  for (const s of slices)
    model.setInitializer(s.initializer, keepAlong(model.initializer(s.initializer)!, s.axis, kept, s.block));
  // The values between the layer and its readers changed size: their recorded shapes are stale.
  for (const v of plan.values) model.removeValueInfo(v);
}
