/**
 * A leaner path into onnxruntime-node for the training loop. The public InferenceSession.run
 * validates its arguments on every call and defers the (synchronous) native run to a later turn of
 * the event loop with setImmediate; at small batch sizes a training step is a few hundred
 * microseconds, and that per-call overhead becomes a visible share of it. onnxruntime-node's
 * native binding is itself a synchronous session wrap, so the trainer calls it directly.
 *
 * This leans on the package's internal (but stable across 1.x) binding module; `directSessionFactory`
 * returns undefined when that module does not look as expected, and the caller then uses the public
 * API. Inputs are validated by the Trainer, which builds every feed itself.
 */
import { createRequire } from 'node:module';
import type { InferenceSession, Tensor } from 'onnxruntime-common';

interface NativeSession {
  loadModel(
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    options: InferenceSession.SessionOptions,
  ): void;
  run(
    feeds: Record<string, Tensor>,
    fetches: Record<string, Tensor | null>,
    options: object,
  ): Record<string, Tensor>;
  readonly outputMetadata: { name: string }[];
  dispose(): void;
}

interface BindingModule {
  binding: { InferenceSession: new () => NativeSession };
  initOrt: () => void;
}

type SessionFactory = (
  model: Uint8Array,
  options: InferenceSession.SessionOptions,
) => Promise<InferenceSession>;

export function directSessionFactory(TensorClass: typeof Tensor): SessionFactory | undefined {
  let mod: BindingModule;
  try {
    mod = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js') as BindingModule;
  } catch {
    return undefined;
  }
  if (typeof mod?.binding?.InferenceSession !== 'function' || typeof mod.initOrt !== 'function')
    return undefined;
  return async (model, options) => {
    mod.initOrt();
    const native = new mod.binding.InferenceSession();
    native.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, options);
    const outputNames = native.outputMetadata.map((m) => m.name);
    const noOptions = {};
    const session = {
      inputNames: [] as string[],
      outputNames,
      async run(feeds: Record<string, Tensor>, fetches?: Record<string, Tensor> | readonly string[]) {
        let request: Record<string, Tensor | null>;
        if (fetches === undefined) request = Object.fromEntries(outputNames.map((n) => [n, null]));
        else if (Array.isArray(fetches)) request = Object.fromEntries(fetches.map((n: string) => [n, null]));
        else request = fetches as Record<string, Tensor>;
        const raw = native.run(feeds, request, noOptions);
        const out: Record<string, Tensor> = {};
        for (const k in raw) {
          const r = raw[k] as Tensor | { type: Tensor.Type; data: Tensor.DataType; dims: readonly number[] };
          out[k] =
            r instanceof TensorClass
              ? r
              : new TensorClass(r.type as 'float32', r.data as Float32Array, r.dims);
        }
        return out;
      },
      async release() {
        native.dispose();
      },
    };
    return session as unknown as InferenceSession;
  };
}
