/**
 * An executor started on first use: a run's executor may be expensive to start (worker threads,
 * sessions, connections), and should not start at all when the run is refused first — a resume
 * with other settings, a corrupt checkpoint.
 */
import type { FitExecutor } from '../executor.js';

export function lazyExecutor<E extends FitExecutor>(
  start: () => E,
  options: { evaluates: boolean },
): FitExecutor & { readonly started: E | undefined; close(): Promise<void> } {
  let started: E | undefined;
  const get = () => (started ??= start());
  return {
    get started() {
      return started;
    },
    run: (...args) => get().run(...args),
    evaluate: options.evaluates
      ? (...args) => {
          const e = get();
          if (!e.evaluate) throw new Error('this executor cannot evaluate on the clients');
          return e.evaluate(...args);
        }
      : undefined,
    exchange: (...args) => {
      const e = get();
      if (!e.exchange) throw new Error('this executor cannot carry multi-stage rounds');
      return e.exchange(...args);
    },
    close: async () => {
      await started?.close?.();
    },
  };
}
