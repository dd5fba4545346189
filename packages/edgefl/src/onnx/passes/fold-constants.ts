/**
 * Constant folding: nodes whose inputs are all constants are computed once, at rewrite time, and
 * replaced by initializers holding their results.
 *
 * Constant nodes become initializers directly (their attribute is the value). Everything else is
 * computed by a ConstantEvaluator, which edgefl provides on ONNX Runtime (ortConstantEvaluator):
 * folding then uses the very kernels the model will run on, for every standard operator, instead
 * of a second implementation of ONNX's semantics in TypeScript that would have to agree with them
 * to the last bit (broadcasting, Cast rounding, negative axes, Reshape's 0 and -1...). The runtime
 * is injected, as everywhere in the core, so this stays browser-safe (onnxruntime-web folds too).
 * An evaluator gets the whole constant subgraph at once: one session, not one per node.
 */
import type { NodeProto, TensorProto } from '../schema.js';
import type { TensorData } from '../types.js';
import { describeNode } from '../edit/errors.js';
import type { OnnxModel } from '../edit/model.js';
import type { OnnxNode } from '../edit/node.js';
import { initializerMessage, type InitializerData } from '../edit/tensors.js';
import type { OnnxPass, PassContext, PassOutcome } from './pass.js';
import { ortConstantEvaluator } from './ort-evaluator.js';

export interface ConstantEvaluation {
  /** Standard-domain nodes, in topological order, reading only `constants` and each other. */
  readonly nodes: readonly NodeProto[];
  readonly constants: readonly TensorProto[];
  /** The values wanted. */
  readonly outputs: readonly string[];
  /** The standard opset version the nodes are written for. */
  readonly opset: number;
  readonly irVersion: number;
}

export interface ConstantEvaluator {
  readonly name: string;
  /** The wanted values it could compute (one it cannot represent, it leaves out). */
  evaluate(request: ConstantEvaluation): Promise<ReadonlyMap<string, TensorData>>;
}

export interface FoldOptions {
  /** Default: ortConstantEvaluator on the context's runtime. */
  evaluator?: ConstantEvaluator;
  /** More op types never to fold (the defaults are in NEVER_FOLDED). */
  exclude?: readonly string[];
  /**
   * Results with more elements than this stay computed: folding Expand, Tile or ConstantOfShape
   * can turn a few numbers into megabytes of initializer. Default: no limit.
   */
  maxElements?: number;
}

/**
 * Ops that are not folded: random ones (folding would freeze one draw), DequantizeLinear (folding
 * it turns a quantized weight back into floats, undoing quantization), Dropout (random in training
 * mode; inference clean-up removes it), and ops on sequences and optionals (not tensors).
 */
export const NEVER_FOLDED: readonly string[] = [
  'RandomNormal',
  'RandomUniform',
  'RandomNormalLike',
  'RandomUniformLike',
  'Multinomial',
  'Bernoulli',
  'DequantizeLinear',
  'Dropout',
];
const NOT_TENSORS = /^(Sequence|Optional|SplitToSequence|ConcatFromSequence)/;

const isDefaultDomain = (d: string) => d === '' || d === 'ai.onnx';

/** A Constant node's value, or why it has none edgefl can store as an initializer. */
function constantValue(n: OnnxNode): InitializerData | string {
  const [name] = n.attributeNames();
  const a = name === undefined ? undefined : n.attribute(name);
  if (!a) return 'it has no value attribute';
  if (name === 'value') {
    if (a.type === 'tensor') return a.value;
    if (a.type === 'proto' && a.value.t) return a.value.t; // a data type edgefl does not decode: as is
  }
  if (name === 'value_float' && a.type === 'float') return scalar('float32', [a.value], []);
  if (name === 'value_floats' && a.type === 'floats') return scalar('float32', a.value, [a.value.length]);
  if (name === 'value_int' && a.type === 'int') return scalar('int64', [a.value], []);
  if (name === 'value_ints' && a.type === 'ints') return scalar('int64', a.value, [a.value.length]);
  return `its '${name}' attribute is not a tensor edgefl stores`;
}

function scalar(dtype: 'float32' | 'int64', values: readonly number[], dims: number[]): TensorData {
  return dtype === 'float32'
    ? { dtype, dims, data: Float32Array.from(values) }
    : { dtype, dims, data: BigInt64Array.from(values.map(BigInt)) };
}

function materializeConstantNodes(model: OnnxModel, changes: string[], notes: string[]): void {
  for (const n of model.nodes('Constant', '')) {
    const out = n.outputs[0];
    if (n.inputs.length || !out) continue;
    if (model.isGraphOutput(out)) {
      notes.push(`kept ${describeNode(n)}: its output is a graph output`);
      continue;
    }
    const value = constantValue(n);
    if (typeof value === 'string') {
      notes.push(`kept ${describeNode(n)}: ${value}`);
      continue;
    }
    model.replaceWithConstants(n, { [out]: value });
    changes.push(`${describeNode(n)} became initializer '${out}'`);
  }
}

/** The nodes computable from constants alone, in order: each reads constants or earlier ones. */
function foldableNodes(model: OnnxModel, exclude: ReadonlySet<string>): OnnxNode[] {
  const folded = new Set<string>();
  const constant = (v: string) =>
    v === '' || folded.has(v) || (model.isConstant(v) && model.initializerProto(v)!.dataLocation !== 1);
  const found: OnnxNode[] = [];
  for (const n of model.nodes()) {
    const foldable =
      isDefaultDomain(n.domain) &&
      !exclude.has(n.opType) &&
      !NOT_TENSORS.test(n.opType) &&
      n.subgraphs().length === 0 &&
      n.inputs.every(constant) &&
      // Graph outputs stay computed by a node: the interface of the model is not a place for tricks.
      n.outputs.every((o) => !o || !model.isGraphOutput(o));
    if (!foldable) continue;
    found.push(n);
    for (const o of n.outputs) if (o) folded.add(o);
  }
  return found;
}

/** What an evaluator needs to compute `outputs` of `nodes`: their protos and the constants they read. */
function request(
  model: OnnxModel,
  nodes: readonly OnnxNode[],
  outputs: readonly string[],
  computed: ReadonlyMap<string, TensorData>,
): ConstantEvaluation {
  const constants = new Map<string, TensorProto>();
  const inside = new Set(nodes.flatMap((n) => n.outputs));
  for (const n of nodes)
    for (const v of n.inputs)
      if (v && !inside.has(v) && !constants.has(v)) {
        constants.set(v, model.initializerProto(v) ?? initializerMessage(v, computed.get(v)!));
      }
  return {
    nodes: nodes.map((n) => n.toProto()),
    constants: [...constants.values()],
    outputs,
    opset: model.opset('') ?? 1,
    irVersion: model.irVersion,
  };
}

export function foldConstants(options: FoldOptions = {}): OnnxPass {
  const exclude = new Set([...NEVER_FOLDED, ...(options.exclude ?? [])]);
  return {
    name: 'fold-constants',
    async run(model: OnnxModel, context: PassContext): Promise<PassOutcome> {
      const changes: string[] = [];
      const notes: string[] = [];
      materializeConstantNodes(model, changes, notes);
      model.sort();
      const foldable = foldableNodes(model, exclude);
      if (foldable.length === 0) return { changes, notes };
      const evaluator =
        options.evaluator ?? (context.runtime ? ortConstantEvaluator(context.runtime) : undefined);
      if (!evaluator) {
        notes.push(
          `${foldable.length} nodes could be folded, but there is no evaluator: give the context a runtime, or foldConstants({ evaluator })`,
        );
        return { changes, notes };
      }
      const all = new Set(foldable);
      const wanted = foldable.flatMap((n) => n.outputs.filter((o) => o && readOutside(model, o, all)));
      const { values, failed } = await evaluateConstants(model, evaluator, foldable, wanted, notes);
      const folding = keepWhatCannotFold(model, foldable, values, {
        maxElements: options.maxElements ?? Infinity,
        failed: (n, v) =>
          failed.has(n)
            ? undefined // already noted
            : wanted.includes(v)
              ? `${evaluator.name} did not compute '${v}'`
              : `'${v}' is read by a node that stays`,
        notes,
      });
      changes.push(...replaceByInitializers(model, folding, values));
      return { changes, notes };
    },
  };
}

/** Whether a node outside `nodes` reads `v` (its value must then be kept, computed or stored). */
function readOutside(model: OnnxModel, v: string, nodes: ReadonlySet<OnnxNode>): boolean {
  return model.consumers(v).some((c) => !nodes.has(c));
}

/**
 * The foldable nodes that can go. A value that was not computed, or is too large, keeps its node,
 * and so the nodes that node reads from: until every value read from outside is at hand.
 */
function keepWhatCannotFold(
  model: OnnxModel,
  foldable: readonly OnnxNode[],
  values: ReadonlyMap<string, TensorData>,
  o: {
    maxElements: number;
    failed: (node: OnnxNode, value: string) => string | undefined;
    notes: string[];
  },
): OnnxNode[] {
  const removable = new Set(foldable);
  for (let changed = true; changed;) {
    changed = false;
    for (const n of removable) {
      const missing = n.outputs.find((v) => {
        if (!v || !readOutside(model, v, removable)) return false;
        const t = values.get(v);
        return !t || t.data.length > o.maxElements;
      });
      if (missing === undefined) continue;
      removable.delete(n);
      changed = true;
      const t = values.get(missing);
      const why = t
        ? `'${missing}' would hold ${t.data.length} values (maxElements is ${o.maxElements})`
        : o.failed(n, missing);
      if (why) o.notes.push(`kept ${describeNode(n)}: ${why}`);
    }
  }
  return foldable.filter((n) => removable.has(n));
}

/**
 * Removes the folding nodes, storing the values read beyond them as initializers, then the
 * initializers only they read. Returns the changes, in node order.
 */
function replaceByInitializers(
  model: OnnxModel,
  folding: readonly OnnxNode[],
  values: ReadonlyMap<string, TensorData>,
): string[] {
  const going = new Set(folding);
  const stored = new Map(folding.map((n) => [n, n.outputs.filter((v) => v && readOutside(model, v, going))]));
  const inputs = new Set(folding.flatMap((n) => n.inputs.filter((v) => model.isInitializer(v))));
  const changes: string[] = [];
  // Last first: a node's readers among the folded are gone before it goes.
  for (const n of [...folding].reverse()) {
    const kept = stored.get(n)!;
    model.replaceWithConstants(n, Object.fromEntries(kept.map((v) => [v, values.get(v)!])));
    const made = kept.map((v) => {
      const t = values.get(v)!;
      return `'${v}' (${t.dtype} [${t.dims.join(', ')}])`;
    });
    changes.unshift(`folded ${describeNode(n)}${made.length ? ` into initializer ${made.join(', ')}` : ''}`);
  }
  for (const v of inputs)
    if (model.consumers(v).length === 0 && !model.isGraphInput(v) && !model.isGraphOutput(v)) {
      model.removeInitializer(v);
      changes.push(`removed initializer '${v}': only folded nodes read it`);
    }
  return changes;
}

/**
 * All wanted values in one evaluation; if the evaluator refuses the batch (an op it lacks, say),
 * node by node, so that one node it cannot compute costs only the nodes that depend on it.
 */
async function evaluateConstants(
  model: OnnxModel,
  evaluator: ConstantEvaluator,
  nodes: readonly OnnxNode[],
  wanted: readonly string[],
  notes: string[],
): Promise<{ values: ReadonlyMap<string, TensorData>; failed: ReadonlySet<OnnxNode> }> {
  const failed = new Set<OnnxNode>();
  try {
    return { values: await evaluator.evaluate(request(model, nodes, wanted, new Map())), failed };
  } catch (batchError) {
    notes.push(
      `${evaluator.name} could not evaluate the constant nodes together (${(batchError as Error).message}); evaluating them one by one`,
    );
  }
  const values = new Map<string, TensorData>();
  for (const n of nodes) {
    if (!n.inputs.every((v) => !v || model.isInitializer(v) || values.has(v))) continue;
    try {
      const got = await evaluator.evaluate(request(model, [n], n.outputs.filter(Boolean), values));
      for (const [k, v] of got) values.set(k, v);
    } catch (e) {
      failed.add(n);
      notes.push(
        `kept ${describeNode(n)}: ${evaluator.name} could not evaluate it (${(e as Error).message})`,
      );
    }
  }
  return { values, failed };
}
