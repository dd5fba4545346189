/** Shape arithmetic shared by the typed ops and the gradient rules. */
import { type Dim, type Shape, shapeToString } from './types.js';
import { GraphError } from './graph.js';

/** Numpy-style broadcasting of two shapes; symbolic dims broadcast with 1 and with themselves. */
export function broadcastShapes(
  a: Shape | undefined,
  b: Shape | undefined,
  where: string,
): Dim[] | undefined {
  if (a === undefined || b === undefined) return undefined;
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db) out.push(da);
    else if (da === 1) out.push(db);
    else if (db === 1) out.push(da);
    else if (typeof da === 'string' || typeof db === 'string') out.push(typeof da === 'number' ? da : db);
    else
      throw new GraphError(`${where}: shapes ${shapeToString(a)} and ${shapeToString(b)} do not broadcast`);
  }
  return out;
}

/**
 * The axes of `out` that were broadcast from `input` (which must then be summed over to bring a
 * gradient of `out` back to `input`'s shape), or undefined when it can't be told statically.
 */
export function broadcastReductionAxes(
  input: Shape | undefined,
  out: Shape | undefined,
): number[] | undefined {
  if (input === undefined || out === undefined) return undefined;
  const lead = out.length - input.length;
  if (lead < 0) return undefined;
  const axes: number[] = [];
  for (let i = 0; i < out.length; i++) {
    if (i < lead) axes.push(i);
    else {
      const di = input[i - lead];
      const dout = out[i];
      if (di === dout) continue;
      if (di === 1) axes.push(i);
      else return undefined; // unknown relation between symbolic dims
    }
  }
  return axes;
}

export function normalizeAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new GraphError(`${where}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Output size of a convolution or pooling window along one axis. */
export function convOutputSize(
  size: Dim,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceilMode = false,
): Dim {
  if (typeof size === 'string') return `${size}_conv`;
  const span = size + padBegin + padEnd - dilation * (kernel - 1) - 1;
  const n = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  return n;
}

/**
 * Product of dims. Symbolic factors are kept as a symbolic term 'sym*k' (e.g. 'batch*6'), so that a
 * reshape from [batch, 6, 16] to [-1, 16] and back to [-1, 6, 16] recovers 'batch'.
 */
export function product(shape: readonly Dim[]): Dim {
  let n = 1;
  const symbols: string[] = [];
  for (const d of shape) {
    if (typeof d === 'number') n *= d;
    else {
      const t = parseSymbolic(d);
      n *= t.factor;
      symbols.push(t.symbol);
    }
  }
  if (symbols.length === 0) return n;
  const sym = symbols.join('*');
  return n === 1 ? sym : `${sym}*${n}`;
}

/** Splits 'batch*6' into { symbol: 'batch', factor: 6 } ('batch' has factor 1). */
export function parseSymbolic(d: string): { symbol: string; factor: number } {
  const m = /^(.*)\*(\d+)$/.exec(d);
  return m ? { symbol: m[1], factor: Number(m[2]) } : { symbol: d, factor: 1 };
}

/** A symbolic total divided by a static part, when the division is exact. */
export function divideSymbolic(total: string, part: number): Dim | undefined {
  const t = parseSymbolic(total);
  if (t.factor % part !== 0) return undefined;
  const k = t.factor / part;
  return k === 1 ? t.symbol : `${t.symbol}*${k}`;
}
