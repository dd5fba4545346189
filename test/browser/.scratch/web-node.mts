import * as ort from 'onnxruntime-web';
import { runScenario } from '../page/scenario.js';
import { webRuntime } from '../../../src/runtime/web.js';
const rt = webRuntime(ort);
console.log(ort.env.wasm.numThreads);
const r = await runScenario(rt);
console.log(r.lossHistory, r.accuracy, r.steps, r.seconds);
const c = await runScenario({ ...rt, supportsPreallocatedOutputs: true });
console.log(c.lossHistory);
