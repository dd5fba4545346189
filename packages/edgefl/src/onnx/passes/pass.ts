/**
 * Passes: named rewrites of an editable model, run in order. Each says what it changed; runPasses
 * adds the before/after counts, puts the nodes back in topological order (a pass may insert where
 * convenient) and checks the model after every pass, so a broken rewrite is reported with the name
 * of the pass that made it rather than when the model is written or run.
 */
import type { OrtRuntime } from '../../runtime/ort.js';
import { OnnxRewriteError } from '../edit/errors.js';
import type { OnnxModel } from '../edit/model.js';

export interface PassContext {
  /** ONNX Runtime, for passes that compute (constant folding); the core never loads one itself. */
  readonly runtime?: OrtRuntime;
  /** Progress lines, if the caller wants them. */
  readonly log?: (line: string) => void;
}

export interface PassOutcome {
  /** One line per change ("folded Mul 'scale' into initializer 'w_scaled'"). */
  readonly changes: readonly string[];
  /** What the pass chose not to do, and why ("kept Identity 'out': its input is a graph input"). */
  readonly notes?: readonly string[];
}

export interface OnnxPass {
  readonly name: string;
  run(model: OnnxModel, context: PassContext): PassOutcome | Promise<PassOutcome>;
}

export interface PassReport extends PassOutcome {
  readonly pass: string;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  readonly initializersBefore: number;
  readonly initializersAfter: number;
  readonly notes: readonly string[];
  readonly milliseconds: number;
}

export async function runPasses(
  model: OnnxModel,
  passes: readonly OnnxPass[],
  context: PassContext = {},
): Promise<PassReport[]> {
  const reports: PassReport[] = [];
  for (const pass of passes) {
    const nodesBefore = model.nodeCount;
    const initializersBefore = model.initializerNames().length;
    const started = performance.now();
    let outcome: PassOutcome;
    try {
      outcome = await pass.run(model, context);
    } catch (e) {
      throw new OnnxRewriteError(`pass '${pass.name}' failed: ${(e as Error).message}`, { cause: e });
    }
    const notes = [...(outcome.notes ?? [])];
    // A pass may insert nodes where convenient; the order is restored here, not by every pass.
    let moved = false;
    try {
      moved = model.sort();
    } catch {
      // A cycle: problems() names it.
    }
    if (moved) notes.push('nodes re-sorted into topological order');
    const problems = model.problems();
    if (problems.length)
      throw new OnnxRewriteError(`pass '${pass.name}' left the model invalid: ${problems.join('; ')}`);
    const report: PassReport = {
      pass: pass.name,
      nodesBefore,
      nodesAfter: model.nodeCount,
      initializersBefore,
      initializersAfter: model.initializerNames().length,
      changes: outcome.changes,
      notes,
      milliseconds: performance.now() - started,
    };
    context.log?.(
      `${pass.name}: ${report.changes.length} changes, nodes ${nodesBefore} -> ${report.nodesAfter}`,
    );
    reports.push(report);
  }
  return reports;
}
