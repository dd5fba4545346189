/**
 * The model's own fields — IR version, producer, doc strings, opset imports, metadata — for
 * OnnxModel, which extends this. A field is written back as read unless it was set to something
 * else: proto2 writes a field that is present even at its default value, so "unchanged" must mean
 * "not set", not "equal to the default", for a model to round-trip to the same bytes.
 */
import type { GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto } from '../schema.js';
import { OperatorSetIdProtoSchema, StringStringEntryProtoSchema } from '../schema.js';
import { newMessage, withFields } from './messages.js';

/** '' and 'ai.onnx' both name standard ONNX. */
export const isDefaultDomain = (d: string) => d === '' || d === 'ai.onnx';

export abstract class ModelFields {
  /** The model as read. Never changed: edits are made on copies of its messages. */
  protected readonly read: ModelProto;
  readonly #changedFields: Partial<ModelProto> = {};
  readonly #changedGraphFields: Partial<GraphProto> = {};
  #opsets: OperatorSetIdProto[];
  #metadata: StringStringEntryProto[];

  protected constructor(read: ModelProto) {
    this.read = read;
    this.#opsets = [...read.opsetImport];
    this.#metadata = [...read.metadataProps];
  }

  #field<K extends keyof ModelProto>(k: K): ModelProto[K] {
    return k in this.#changedFields ? (this.#changedFields[k] as ModelProto[K]) : this.read[k];
  }
  #setField<K extends keyof ModelProto>(k: K, v: ModelProto[K]): void {
    // Setting a field back to what was read keeps it as read (present or absent).
    if (v === this.read[k]) delete this.#changedFields[k];
    else this.#changedFields[k] = v;
  }
  #graphField<K extends 'name' | 'docString'>(k: K): GraphProto[K] {
    return k in this.#changedGraphFields ? this.#changedGraphFields[k]! : this.read.graph![k];
  }
  #setGraphField<K extends 'name' | 'docString'>(k: K, v: GraphProto[K]): void {
    if (v === this.read.graph![k]) delete this.#changedGraphFields[k];
    else this.#changedGraphFields[k] = v;
  }

  get irVersion(): number {
    return Number(this.#field('irVersion'));
  }
  set irVersion(v: number) {
    this.#setField('irVersion', BigInt(v));
  }
  get producerName(): string {
    return this.#field('producerName');
  }
  set producerName(v: string) {
    this.#setField('producerName', v);
  }
  get producerVersion(): string {
    return this.#field('producerVersion');
  }
  set producerVersion(v: string) {
    this.#setField('producerVersion', v);
  }
  get domain(): string {
    return this.#field('domain');
  }
  set domain(v: string) {
    this.#setField('domain', v);
  }
  get modelVersion(): number {
    return Number(this.#field('modelVersion'));
  }
  set modelVersion(v: number) {
    this.#setField('modelVersion', BigInt(v));
  }
  get docString(): string {
    return this.#field('docString');
  }
  set docString(v: string) {
    this.#setField('docString', v);
  }
  get graphName(): string {
    return this.#graphField('name');
  }
  set graphName(v: string) {
    this.#setGraphField('name', v);
  }
  get graphDocString(): string {
    return this.#graphField('docString');
  }
  set graphDocString(v: string) {
    this.#setGraphField('docString', v);
  }

  /** The opset version imported for a domain ('' and 'ai.onnx' are standard ONNX). */
  opset(domain = ''): number | undefined {
    const o = this.#opsets.find(
      (x) => x.domain === domain || (isDefaultDomain(domain) && isDefaultDomain(x.domain)),
    );
    return o && Number(o.version);
  }

  opsets(): { domain: string; version: number }[] {
    return this.#opsets.map((o) => ({ domain: o.domain, version: Number(o.version) }));
  }

  /** Imports a domain's opset, or changes the version imported (the ops must suit it: not checked). */
  setOpset(domain: string, version: number): void {
    const i = this.#opsets.findIndex((x) => x.domain === domain);
    if (i >= 0) {
      if (Number(this.#opsets[i].version) !== version)
        this.#opsets[i] = withFields(this.#opsets[i], { version: BigInt(version) });
    } else
      this.#opsets.push(
        newMessage<OperatorSetIdProto>(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }),
      );
  }

  metadata(key: string): string | undefined {
    return this.#metadata.find((e) => e.key === key)?.value;
  }

  metadataEntries(): [string, string][] {
    return this.#metadata.map((e) => [e.key, e.value]);
  }

  setMetadata(key: string, value: string): void {
    const i = this.#metadata.findIndex((e) => e.key === key);
    if (i < 0)
      this.#metadata.push(newMessage<StringStringEntryProto>(StringStringEntryProtoSchema, { key, value }));
    else if (this.#metadata[i].value !== value) this.#metadata[i] = withFields(this.#metadata[i], { value });
  }

  deleteMetadata(key: string): boolean {
    const before = this.#metadata.length;
    this.#metadata = this.#metadata.filter((e) => e.key !== key);
    return this.#metadata.length !== before;
  }

  /** The model as read, with these fields as they stand and `graph`'s fields replaced. */
  protected withGraph(graph: Partial<GraphProto>): ModelProto {
    return withFields(this.read, {
      ...this.#changedFields,
      opsetImport: [...this.#opsets],
      metadataProps: [...this.#metadata],
      graph: withFields(this.read.graph!, { ...this.#changedGraphFields, ...graph }),
    });
  }
}
