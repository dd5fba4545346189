import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendOf, describeRuntime, nativeRuntimeAvailable, nodeBackend, nodeRuntime } from './node.js';

/** Runs `f` with EDGEFL_ORT set to `value` (or unset), restoring it after. */
function withEnv<T>(value: string | undefined, f: () => T): T {
  const before = process.env.EDGEFL_ORT;
  if (value === undefined) delete process.env.EDGEFL_ORT;
  else process.env.EDGEFL_ORT = value;
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.EDGEFL_ORT;
    else process.env.EDGEFL_ORT = before;
  }
}

test('nodeRuntime chooses native onnxruntime-node when it is installed (as in this repository), else WebAssembly; EDGEFL_ORT or backend forces one', () => {
  assert.equal(nativeRuntimeAvailable(), true, 'this repository installs onnxruntime-node');
  withEnv(undefined, () => {
    assert.equal(nodeBackend(), 'native');
    assert.equal(nodeRuntime().name, 'onnxruntime-node');
    assert.equal(nodeRuntime({ backend: 'wasm' }).name, 'onnxruntime-web');
  });
  withEnv('wasm', () => {
    const rt = nodeRuntime();
    assert.equal(rt.name, 'onnxruntime-web');
    assert.equal(backendOf(rt), 'wasm');
    assert.equal(rt.supportsPreallocatedOutputs, false);
    assert.equal(describeRuntime(rt), 'onnxruntime-web (WebAssembly, as asked)');
    // An explicit backend wins over the environment.
    assert.equal(nodeRuntime({ backend: 'native' }).name, 'onnxruntime-node');
  });
  withEnv('native', () => assert.equal(describeRuntime(nodeRuntime()), 'onnxruntime-node (native)'));
  withEnv('gpu', () =>
    assert.throws(() => nodeRuntime(), /^Error: EDGEFL_ORT must be native, wasm or auto, got 'gpu'$/),
  );
});
