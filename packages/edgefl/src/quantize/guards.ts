/**
 * Guards around quantization, so that what edgefl hands a device is never worse than the float
 * model in the ways that matter:
 *
 * - accuracy: when the quantized model loses more than the bound the user gives, each node's own
 *   sensitivity is measured (only that node in int8) and the most sensitive nodes are kept float,
 *   one at a time, until the loss is within the bound;
 * - speed: each remaining int8 node is tried in float, and kept float where the model measured
 *   faster that way (an int8 kernel that loses to float on this CPU, a conversion that costs more
 *   than it saves); if the result is still slower than float, the float model is returned.
 *
 * Each node kept float is reported with the reason and the figures. The scorer and the timer are
 * the caller's (accuracy on held-out data, latency on this device through the runtime), so the
 * guards run wherever the model is measured.
 */
import { exportModel } from '../onnx/edit/io.js';
import type { OnnxModel } from '../onnx/edit/model.js';
import { QuantizationError } from './errors.js';
import type { QuantizationReport, QuantizedModel } from './report.js';

export interface GuardOptions {
  /** Scores a model, higher is better (e.g. top-1 accuracy on held-out examples). */
  score?: (model: Uint8Array) => Promise<number>;
  /** The most score the result may lose against float (accuracy 0.003 = 0.3 points). Needs `score`. */
  maxLoss?: number;
  /** Times a model (ms, lower is better); with it, the speed guard runs. */
  time?: (model: Uint8Array) => Promise<number>;
  /** A change in time below this fraction is noise, not a gain (default 0.05). */
  margin?: number;
}

export interface KeptFloat {
  node: string;
  reason: string;
}

export interface GuardedModel {
  /** The model to ship: quantized with some nodes kept float, or the float model itself. */
  bytes: Uint8Array;
  /** The quantization report of `bytes`, absent when the float model is returned. */
  report?: QuantizationReport;
  keptFloat: KeptFloat[];
  /** Float and result, as measured by the caller's scorer and timer. */
  score?: { float: number; result: number };
  time?: { float: number; result: number };
  /** Why the float model was returned, when it was. */
  returnedFloat?: string;
}

/**
 * Quantizes `float` with `quantize` (static or dynamic int8, given the nodes to keep float) under
 * the guards `o` asks for.
 */
export async function guardedQuantize(
  float: OnnxModel,
  quantize: (keepFloat: ReadonlySet<string>) => QuantizedModel<OnnxModel>,
  o: GuardOptions,
): Promise<GuardedModel> {
  if (o.maxLoss !== undefined && !o.score)
    throw new QuantizationError('an accuracy bound (maxLoss) needs a scorer to measure it');
  if (o.maxLoss !== undefined && !(o.maxLoss >= 0))
    throw new QuantizationError(`maxLoss must be >= 0, got ${o.maxLoss}`);
  const margin = o.margin ?? 0.05;
  const floatBytes = exportModel(float);
  const build = (keep: ReadonlySet<string>) => {
    const q = quantize(keep);
    return { bytes: exportModel(q.model), report: q.report };
  };
  const keep = new Set<string>();
  const keptFloat: KeptFloat[] = [];
  let current = build(keep);
  const nodes = current.report.nodes.map((n) => n.node);
  const floatBack = (reason: string, extra: Partial<GuardedModel>): GuardedModel => ({
    bytes: floatBytes,
    keptFloat: nodes.map((node) => ({ node, reason })),
    returnedFloat: reason,
    ...extra,
  });

  // ---- accuracy -------------------------------------------------------------------------------
  let score: GuardedModel['score'];
  if (o.score) {
    const floatScore = await o.score(floatBytes);
    let result = await o.score(current.bytes);
    if (o.maxLoss !== undefined && floatScore - result > o.maxLoss) {
      // Each node alone in int8: how much it costs by itself.
      const costs: { node: string; loss: number }[] = [];
      for (const node of nodes) {
        const alone = build(new Set(nodes.filter((n) => n !== node)));
        costs.push({ node, loss: floatScore - (await o.score(alone.bytes)) });
      }
      costs.sort((a, b) => b.loss - a.loss);
      for (const c of costs) {
        if (floatScore - result <= o.maxLoss) break;
        keep.add(c.node);
        keptFloat.push({
          node: c.node,
          reason: `accuracy: alone in int8 it loses ${fmt(c.loss)} (the whole model lost ${fmt(floatScore - result)}, the bound is ${fmt(o.maxLoss)})`,
        });
        if (keep.size === nodes.length)
          return floatBack(`no int8 node fits the accuracy bound of ${fmt(o.maxLoss)}`, {
            score: { float: floatScore, result: floatScore },
          });
        current = build(keep);
        result = await o.score(current.bytes);
      }
    }
    score = { float: floatScore, result };
  }

  // ---- speed ----------------------------------------------------------------------------------
  let time: GuardedModel['time'];
  if (o.time) {
    const floatTime = await o.time(floatBytes);
    let result = await o.time(current.bytes);
    for (const node of nodes) {
      if (keep.has(node)) continue;
      if (keep.size === nodes.length - 1) break; // the last int8 node is judged against float below
      const trial = new Set([...keep, node]);
      const candidate = build(trial);
      const t = await o.time(candidate.bytes);
      if (t < result * (1 - margin)) {
        keptFloat.push({
          node,
          reason: `speed: the model took ${fmt(result)} ms with it in int8, ${fmt(t)} ms with it float`,
        });
        keep.add(node);
        current = candidate;
        result = t;
      }
    }
    if (result > floatTime * (1 + margin))
      return floatBack(
        `speed: the quantized model took ${fmt(result)} ms, the float model ${fmt(floatTime)} ms`,
        {
          time: { float: floatTime, result: floatTime },
          ...(score ? { score: { ...score, result: score.float } } : {}),
        },
      );
    time = { float: floatTime, result };
  }
  return {
    bytes: current.bytes,
    report: current.report,
    keptFloat,
    ...(score ? { score } : {}),
    ...(time ? { time } : {}),
  };
}

const fmt = (x: number) =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2);
