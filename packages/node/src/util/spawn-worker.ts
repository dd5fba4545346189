/**
 * Starts a worker thread on a module next to the caller, whether the caller runs from TypeScript
 * source under tsx (tests, benchmarks, development) or from the compiled JavaScript of the package.
 */
import { Worker } from 'node:worker_threads';

/** `callerUrl` is the caller's `import.meta.url`; `name` the module's file name without extension. */
export function spawnModuleWorker(callerUrl: string, name: string): Worker {
  if (callerUrl.endsWith('.ts')) {
    // From source: register tsx inside the worker before it loads the TypeScript module.
    const url = new URL(`./${name}.ts`, callerUrl).href;
    return new Worker(
      `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url)}); })`,
      {
        eval: true,
      },
    );
  }
  return new Worker(new URL(`./${name}.js`, callerUrl));
}
