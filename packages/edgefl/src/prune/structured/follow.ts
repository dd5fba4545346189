/**
 * Where a layer's output units go: from a Gemm, MatMul or Conv with a constant weight, through the
 * ops that act on each unit alone and keep a zero unit at zero (Relu, max and average pooling,
 * Dropout, a scaling by a constant...), to the layers that read them (Gemm, MatMul, Conv — directly,
 * or, for convolution channels, through a Flatten into a Gemm or MatMul). Removing a unit then means
 * dropping its slice of the layer's weight and bias, of every per-unit constant on the way, and its
 * columns (input channels, blocks of flattened features) in every reader — and the model computes
 * exactly what it computed with that unit's weights and bias set to zero.
 *
 * What cannot be followed is refused with the reason, naming the node: a unit that reaches a graph
 * output, an op that mixes units (Reshape, Softmax, Add of two branches...), an op that maps zero to
 * something else (Sigmoid: a removed unit would no longer add the next layer's weight times 0.5),
 * grouped convolutions, and weights or constants that other nodes share.
 */
import { describeNode } from '../../onnx/edit/errors.js';
import type { OnnxModel } from '../../onnx/edit/model.js';
import type { OnnxNode } from '../../onnx/edit/node.js';

/** A constant tensor to cut along one axis: a layer's weight or bias, a per-unit scale. */
export interface UnitSlice {
  readonly initializer: string;
  readonly axis: number;
  /** Consecutive indices per unit (a flattened channel's height × width), 1 otherwise. */
  readonly block: number;
}

export interface UnitPlan {
  readonly layer: OnnxNode;
  readonly units: number;
  /** The layer's weight, along its output-unit axis: what the units are ranked by. */
  readonly weight: UnitSlice;
  /** The layer's bias and the per-unit constants between it and its readers. */
  readonly constants: readonly UnitSlice[];
  /** The readers' weights, along their input axis. */
  readonly readers: readonly { readonly node: OnnxNode; readonly weight: UnitSlice }[];
  /** The values whose size changes (their recorded shapes are dropped). */
  readonly values: readonly string[];
}

export const PRUNABLE_LAYERS: readonly string[] = ['Gemm', 'MatMul', 'Conv'];

/** Ops that act on each unit alone and keep zero at zero. */
const UNIT_WISE = new Set([
  'Relu',
  'LeakyRelu',
  'Tanh',
  'Elu',
  'Selu',
  'Celu',
  'Softsign',
  'HardSwish',
  'Erf',
  'Neg',
  'Abs',
  'Identity',
  'Dropout',
]);
/** Per-channel spatial ops: for convolution channels only. */
const CHANNEL_WISE = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool']);
const ZERO_TO_NONZERO: Record<string, string> = {
  Sigmoid: 'sigmoid(0) = 0.5',
  HardSigmoid: 'hardsigmoid(0) = beta',
  Softplus: 'softplus(0) = ln 2',
  Exp: 'exp(0) = 1',
  Cos: 'cos(0) = 1',
  BatchNormalization: 'it adds its shift to a zero channel (fold it into the convolution first)',
  InstanceNormalization: 'it normalizes over a channel, which zeros do not survive',
};

const isDefault = (d: string) => d === '' || d === 'ai.onnx';

class Refusal extends Error {}
const refuse = (why: string): never => {
  throw new Refusal(why);
};

/** The plan for removing units of `layer`, or the reason it cannot be followed. */
export function followUnits(model: OnnxModel, layer: OnnxNode): UnitPlan | string {
  try {
    return plan(model, layer);
  } catch (e) {
    if (e instanceof Refusal) return e.message;
    throw e;
  }
}

/** A float32 constant read by `node` alone (cutting it must not change another node). */
function ownConstant(model: OnnxModel, name: string, node: OnnxNode, what: string): number[] {
  if (!name || !model.isConstant(name)) refuse(`its ${what} '${name}' is not a constant initializer`);
  const t = model.initializerProto(name)!;
  if (t.dataType !== 1) refuse(`its ${what} '${name}' is not float32`);
  if (model.consumers(name).some((c) => c !== node))
    refuse(`its ${what} '${name}' is shared with other nodes`);
  return t.dims.map(Number);
}

function plan(model: OnnxModel, layer: OnnxNode): UnitPlan {
  if (!isDefault(layer.domain) || !PRUNABLE_LAYERS.includes(layer.opType))
    refuse(`it is not a Gemm, MatMul or Conv`);
  const [input, weightName, biasName] = layer.inputs;
  if (model.isConstant(input)) refuse('its input is a constant');
  const w = ownConstant(model, weightName, layer, 'weight');
  let weightAxis: number;
  /** Axes after the unit axis in the layer's output: 0 for units on the last axis. */
  let trailing: number;
  /** Whether the unit axis is axis 1 (a Flatten(axis = 1) then keeps units as blocks). */
  let unitAxisIsOne: boolean;
  if (layer.opType === 'Conv') {
    if (w.length < 3) refuse(`its weight has ${w.length} dimensions`);
    if (layer.int('group', 1) !== 1) refuse('it is a grouped convolution');
    weightAxis = 0;
    trailing = w.length - 2;
    unitAxisIsOne = true;
  } else if (layer.opType === 'Gemm') {
    weightAxis = layer.int('transB', 0) ? 0 : 1;
    trailing = 0;
    unitAxisIsOne = true;
  } else {
    if (w.length !== 2) refuse(`its weight is not 2-D`);
    weightAxis = 1;
    trailing = 0;
    unitAxisIsOne = false;
  }
  const units = w[weightAxis];
  if (units < 2) refuse('it has a single unit');
  const constants: UnitSlice[] = [];
  if (biasName) {
    const b = ownConstant(model, biasName, layer, 'bias');
    if (
      layer.opType === 'Conv'
        ? b.length !== 1 || b[0] !== units
        : b[b.length - 1] !== units || b.slice(0, -1).some((d) => d !== 1)
    )
      refuse(`its bias '${biasName}' [${b}] is not one value per unit`);
    constants.push({ initializer: biasName, axis: b.length - 1, block: 1 });
  }

  const readers: { node: OnnxNode; weight: UnitSlice }[] = [];
  const values: string[] = [];
  const via = (n: OnnxNode) => `${describeNode(n)} (after ${describeNode(layer)})`;

  /** A constant operand cut per unit, or left whole when it broadcasts over the units. */
  const perUnit = (node: OnnxNode, name: string, flattened: boolean): void => {
    const dims = ownConstantOrShared(model, name, node);
    const axis = dims.length - 1 - trailing;
    const size = axis >= 0 ? dims[axis] : 1;
    if (size === 1) return;
    if (flattened || size !== units)
      refuse(`${via(node)} scales by '${name}' [${dims}], which is not one value per unit`);
    if (model.consumers(name).some((c) => c !== node))
      refuse(`${via(node)}: its constant '${name}' is shared with other nodes`);
    constants.push({ initializer: name, axis, block: 1 });
  };

  const visit = (value: string, flattened: boolean, first: boolean): void => {
    if (model.isGraphOutput(value)) refuse(`its units reach the graph output '${value}'`);
    values.push(value);
    for (const c of model.consumers(value)) {
      if (!isDefault(c.domain)) refuse(`${via(c)} is not a standard ONNX op`);
      if (c.inputs.filter((x) => x === value).length !== 1 || c.implicitInputs.has(value))
        refuse(`${via(c)} reads its units more than once`);
      const at = c.inputs.indexOf(value);
      const op = c.opType;
      if (PRUNABLE_LAYERS.includes(op)) {
        readers.push({ node: c, weight: readerWeight(model, c, at, units, flattened, via) });
        continue;
      }
      const extraOutputs = c.outputs
        .slice(1)
        .filter((o) => o && (model.consumers(o).length || model.isGraphOutput(o)));
      if (extraOutputs.length) refuse(`${via(c)}: its output '${extraOutputs[0]}' is read`);
      if (UNIT_WISE.has(op) || (CHANNEL_WISE.has(op) && unitAxisIsOne && trailing > 0 && !flattened)) {
        if (at !== 0) refuse(`${via(c)} reads the units as input #${at}`);
        if (op === 'Dropout' && c.inputs.length > 1) refuse(`${via(c)} has a ratio or training-mode input`);
        visit(c.outputs[0], flattened, false);
      } else if ((op === 'Mul' || op === 'Div') && (op === 'Mul' || at === 0)) {
        perUnit(c, c.inputs[1 - at], flattened);
        visit(c.outputs[0], flattened, false);
      } else if (op === 'Add' && first && layer.opType !== 'Gemm') {
        // A MatMul's or Conv's bias, written as an Add of a constant right after it.
        const bias = c.inputs[1 - at];
        const dims = ownConstant(model, bias, c, 'bias');
        const axis = dims.length - 1 - trailing;
        if (axis < 0 || dims[axis] !== units || dims.some((d, k) => k !== axis && d !== 1))
          refuse(`${via(c)} adds '${bias}' [${dims}], which is not one bias per unit`);
        constants.push({ initializer: bias, axis, block: 1 });
        visit(c.outputs[0], flattened, false);
      } else if (op === 'Clip') {
        if (at !== 0) refuse(`${via(c)} reads the units as a bound`);
        const bound = (i: number, fallback: number) => {
          const name = c.inputs[i];
          if (!name) return fallback;
          const t = model.isConstant(name) ? model.initializer(name) : undefined;
          if (!t || t.data.length !== 1) refuse(`${via(c)}: its bound '${name}' is not a constant scalar`);
          return Number(t!.data[0]);
        };
        if (!(bound(1, -Infinity) <= 0 && bound(2, Infinity) >= 0))
          refuse(`${via(c)} clips zero to another value`);
        visit(c.outputs[0], flattened, false);
      } else if (op === 'Flatten' && unitAxisIsOne && !flattened) {
        if (c.int('axis', 1) !== 1) refuse(`${via(c)} flattens from axis ${c.int('axis', 1)}, not 1`);
        visit(c.outputs[0], true, false);
      } else if (ZERO_TO_NONZERO[op])
        refuse(`${via(c)} maps a removed unit's zero to a nonzero value (${ZERO_TO_NONZERO[op]})`);
      else refuse(`${via(c)} is not an op that acts on each unit alone`);
    }
  };
  visit(layer.outputs[0], false, true);
  if (readers.length === 0) refuse('its units reach no Gemm, MatMul or Conv that reads them');
  return {
    layer,
    units,
    weight: { initializer: weightName, axis: weightAxis, block: 1 },
    constants,
    readers,
    values,
  };
}

function ownConstantOrShared(model: OnnxModel, name: string, node: OnnxNode): number[] {
  if (!model.isConstant(name)) refuse(`${describeNode(node)}: its operand '${name}' is not a constant`);
  const t = model.initializerProto(name)!;
  if (t.dataType !== 1) refuse(`${describeNode(node)}: its operand '${name}' is not float32`);
  return t.dims.map(Number);
}

/** The reader's weight and the axis its input units run along, or a refusal. */
function readerWeight(
  model: OnnxModel,
  reader: OnnxNode,
  at: number,
  units: number,
  flattened: boolean,
  via: (n: OnnxNode) => string,
): UnitSlice {
  if (at !== 0) refuse(`${via(reader)} reads the units as its input #${at}, not as its data`);
  const name = reader.inputs[1];
  if (!name || !model.isConstant(name)) refuse(`${via(reader)}: its weight is not a constant initializer`);
  const t = model.initializerProto(name)!;
  if (t.dataType !== 1) refuse(`${via(reader)}: its weight '${name}' is not float32`);
  if (model.consumers(name).some((c) => c !== reader))
    refuse(`${via(reader)}: its weight '${name}' is shared`);
  const dims = t.dims.map(Number);
  let axis: number;
  if (reader.opType === 'Conv') {
    if (flattened) refuse(`${via(reader)} reads flattened units`);
    if (reader.int('group', 1) !== 1) refuse(`${via(reader)} is a grouped convolution`);
    axis = 1;
  } else if (reader.opType === 'Gemm') {
    if (reader.int('transA', 0)) refuse(`${via(reader)} transposes its input (transA)`);
    axis = reader.int('transB', 0) ? 1 : 0;
  } else {
    if (dims.length !== 2) refuse(`${via(reader)}: its weight '${name}' is not 2-D`);
    axis = 0;
  }
  const inputs = dims[axis];
  const block = inputs / units;
  if (!Number.isInteger(block) || (!flattened && block !== 1))
    refuse(`${via(reader)} reads ${inputs} input features where the layer has ${units} units`);
  return { initializer: name, axis, block };
}
