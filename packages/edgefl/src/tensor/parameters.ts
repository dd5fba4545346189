/**
 * A model's parameters as one contiguous Float32Array plus a name/shape table: the form in which
 * they train, travel, aggregate, clip, mask and checkpoint. Per-tensor access is by subarray view,
 * never by copy.
 */
export interface ParameterEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

export class ParameterSet {
  readonly entries: readonly ParameterEntry[];
  readonly values: Float32Array;
  private readonly byName: Map<string, ParameterEntry>;

  constructor(entries: readonly ParameterEntry[], values?: Float32Array) {
    let total = 0;
    for (const e of entries) {
      if (e.offset !== total)
        throw new Error(
          `parameter '${e.name}' starts at ${e.offset}, expected ${total} (entries must be contiguous and in order)`,
        );
      if (e.size !== e.shape.reduce((a, b) => a * b, 1))
        throw new Error(`parameter '${e.name}': size ${e.size} does not match shape [${e.shape}]`);
      total += e.size;
    }
    if (values && values.length !== total)
      throw new Error(`ParameterSet: ${values.length} values for ${total} parameters`);
    this.entries = entries;
    this.values = values ?? new Float32Array(total);
    this.byName = new Map(entries.map((e) => [e.name, e]));
  }

  /** Builds the table for a list of named shapes, laid out in order. */
  static layout(specs: readonly { name: string; shape: readonly number[] }[]): ParameterEntry[] {
    let offset = 0;
    return specs.map((s) => {
      const size = s.shape.reduce((a, b) => a * b, 1);
      const e = { name: s.name, shape: [...s.shape], offset, size };
      offset += size;
      return e;
    });
  }

  get size(): number {
    return this.values.length;
  }

  entry(name: string): ParameterEntry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`no parameter named '${name}' (have: ${[...this.byName.keys()].join(', ')})`);
    return e;
  }

  /** A view (not a copy) of one parameter tensor. */
  view(name: string): Float32Array {
    const e = this.entry(name);
    return this.values.subarray(e.offset, e.offset + e.size);
  }

  /** Same table, new values (copied from `values` when given, else zeros). */
  withValues(values?: Float32Array): ParameterSet {
    return new ParameterSet(this.entries, values ? Float32Array.from(values) : undefined);
  }

  clone(): ParameterSet {
    return new ParameterSet(this.entries, Float32Array.from(this.values));
  }

  /** Whether `other` has the same names and shapes in the same order. */
  sameLayout(other: { entries: readonly ParameterEntry[] }): boolean {
    return (
      other.entries.length === this.entries.length &&
      other.entries.every(
        (e, i) =>
          e.name === this.entries[i].name &&
          e.shape.length === this.entries[i].shape.length &&
          e.shape.every((d, k) => d === this.entries[i].shape[k]),
      )
    );
  }

  /** Throws an error naming the first value that is NaN or infinite, by parameter and index. */
  assertFinite(what = 'parameters'): void {
    const v = this.values;
    for (let i = 0; i < v.length; i++)
      if (!Number.isFinite(v[i])) {
        const e = this.entries.find((p) => i < p.offset + p.size)!;
        throw new Error(
          `${what}: parameter '${e.name}'[${i - e.offset}] is ${v[i]} (value ${i} of ${v.length})`,
        );
      }
  }

  /** Throws an error naming the first parameter that differs in layout. */
  assertSameLayout(
    other: { entries: readonly ParameterEntry[]; values?: Float32Array },
    what = 'parameters',
  ): void {
    if (other.values && other.values.length !== this.size)
      throw new Error(`${what}: ${other.values.length} values, the model has ${this.size}`);
    const n = Math.max(other.entries.length, this.entries.length);
    for (let i = 0; i < n; i++) {
      const a = this.entries[i];
      const b = other.entries[i];
      if (!a || !b || a.name !== b.name || a.shape.join() !== b.shape.join())
        throw new Error(
          `${what}: entry ${i} is ${b ? `'${b.name}' [${b.shape}]` : 'missing'}, the model expects ${a ? `'${a.name}' [${a.shape}]` : 'nothing'}`,
        );
    }
  }
}
