/**
 * Copy-on-write for decoded protobuf messages. The editable model never changes a message it read:
 * an edit makes a shallow copy with some fields replaced. Untouched messages are then written back
 * as the very objects that were read, and a copy keeps what the edit did not name — which optional
 * fields were present (proto2 writes a field set to its default value, and a round trip must too)
 * and the fields edgefl's schema does not describe (kept by @bufbuild as `$unknown`).
 */
import { create, type DescMessage } from '@bufbuild/protobuf';
import type { Init } from '../schema.js';

/** A copy of `message` with `fields` replaced; everything else, unknown fields included, kept. */
export function withFields<T extends object>(message: T, fields: Partial<T>): T {
  return Object.assign(Object.create(Object.getPrototypeOf(message) as object) as T, message, fields);
}

/** A new message of `schema` from plain fields (absent fields are not written). */
export function newMessage<T>(schema: DescMessage, init: Init<T>): T {
  return create(schema, init as never) as unknown as T;
}
