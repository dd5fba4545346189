/**
 * The error an edit of an ONNX model raises when it would leave the model wrong, and how errors
 * name a node: ONNX node names are optional, so a node is also known by what it produces.
 */

export class OnnxRewriteError extends Error {
  override name = 'OnnxRewriteError';
}

/** "Relu node 'relu_3'", or "unnamed Relu node producing 'y'" when the node has no name. */
export function describeNode(node: {
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly outputs: readonly string[];
}): string {
  const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}::${node.opType}` : node.opType;
  if (node.name) return `${op} node '${node.name}'`;
  const produced = node.outputs.filter((o) => o !== '');
  return produced.length
    ? `unnamed ${op} node producing ${produced.map((o) => `'${o}'`).join(', ')}`
    : `unnamed ${op} node`;
}
