/**
 * `edgefl optimize model.onnx --clean`: the inference clean-up (Identity and Dropout bypassed,
 * constants folded, GELU fused, unread values dropped), alone or before pruning and quantization.
 * The cleaned model must compute what the original did: both run on the same example inputs, and
 * a difference beyond float rounding stops the command before anything is written.
 */
import { exportModel, importModel, inferenceCleanup, randomFeeds, runPasses, type OrtRuntime } from 'edgefl';
import { writeFileAtomic } from '@edgefl/node';

/** Relative difference (to the outputs' largest magnitude) beyond which a clean-up is refused. */
const TOLERANCE = 1e-4;

export async function cleanModel(
  bytes: Uint8Array,
  file: string,
  runtime: OrtRuntime,
  out: (line: string) => void,
): Promise<Uint8Array> {
  const model = importModel(bytes, file);
  const reports = await runPasses(model, inferenceCleanup(), { runtime });
  for (const r of reports)
    out(
      `  ${r.pass}: ${r.changes.length} change${r.changes.length === 1 ? '' : 's'}, nodes ${r.nodesBefore} -> ${r.nodesAfter}`,
    );
  const cleaned = exportModel(model);
  const differs = await largestDifference(runtime, bytes, cleaned);
  if (differs > TOLERANCE)
    throw new Error(
      `the cleaned ${file} computes other outputs than the original (relative difference ${differs.toExponential(2)}): nothing written`,
    );
  const first = reports[0];
  const last = reports[reports.length - 1];
  out(
    `cleaned ${file}: ${first.nodesBefore} -> ${last.nodesAfter} nodes, ${first.initializersBefore} -> ${last.initializersAfter} initializers; same outputs on example inputs (within ${differs.toExponential(1)})`,
  );
  return cleaned;
}

/** `--clean` alone: read, clean, write. */
export async function cleanCommand(
  bytes: Uint8Array,
  file: string,
  outFile: string,
  runtime: OrtRuntime,
  out: (line: string) => void,
): Promise<void> {
  const cleaned = await cleanModel(bytes, file, runtime, out);
  await writeFileAtomic(outFile, cleaned);
  out(`wrote ${outFile}`);
}

async function largestDifference(runtime: OrtRuntime, a: Uint8Array, b: Uint8Array): Promise<number> {
  const feeds = randomFeeds(a, runtime, 2, 1);
  const outputs = async (bytes: Uint8Array) => {
    const session = await runtime.InferenceSession.create(bytes, {
      ...runtime.defaultSessionOptions,
      logSeverityLevel: 3,
    });
    try {
      const r = await session.run(feeds);
      // Numbers of any element type (an arg-max output is int64).
      return session.outputNames.map((n) => Array.from(r[n].data as ArrayLike<number | bigint>, Number));
    } finally {
      await session.release();
    }
  };
  const [x, y] = [await outputs(a), await outputs(b)];
  let scale = 0;
  let worst = 0;
  x.forEach((values, k) =>
    values.forEach((v, i) => {
      scale = Math.max(scale, Math.abs(v));
      worst = Math.max(worst, Math.abs(v - y[k][i]));
    }),
  );
  return worst / Math.max(scale, 1e-12);
}
