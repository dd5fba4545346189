/**
 * What makes an example file a program: its options (--full, --out, --seed, --help), its report
 * folder (never half-written: see ReportFolder), one line per step as it works, and a clear message
 * instead of a stack trace when something is wrong (a missing data package, a bad option).
 */
import { parseArgs } from 'node:util';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ReportFolder } from '@edgefl/cli';

export interface ExampleRun {
  /** The long version (more data, more rounds) instead of the few-minute default. */
  full: boolean;
  seed: number;
  report: ReportFolder;
  /** The command that reproduces this run, for the report. */
  command: string;
  log: (line: string) => void;
}

export interface ExampleProgram {
  name: string;
  /** One line: what the example shows. */
  summary: string;
  run: (r: ExampleRun) => Promise<void>;
}

/** True when `moduleUrl` is the program being run (not imported by a test or another module). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === moduleUrl;
}

export async function runExample(program: ExampleProgram, argv = process.argv.slice(2)): Promise<void> {
  const fail = (message: string): never => {
    process.stderr.write(`example ${program.name}: ${message}\n`);
    process.exit(1);
  };
  let values: { full?: boolean; out?: string; seed?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        full: { type: 'boolean' },
        out: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    return fail(`${(e as Error).message} (options: --full, --out DIR, --seed N, --help)`);
  }
  if (values.help) {
    process.stdout.write(
      `edgefl example ${program.name}: ${program.summary}\n\n` +
        'Options:\n' +
        '  --full       the long version (more data, more rounds)\n' +
        `  --out DIR    the report folder (default runs/<time>-${program.name})\n` +
        '  --seed N     the seed of the data and the training (default 1)\n',
    );
    return;
  }
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0)
    return fail(`--seed must be a non-negative integer, got '${values.seed}'`);
  const out =
    values.out ??
    join('runs', `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}-${program.name}`);
  const command = [
    `npx edgefl example ${program.name}`,
    ...(values.full ? ['--full'] : []),
    ...(values.seed !== undefined ? [`--seed ${seed}`] : []),
  ].join(' ');
  let report: ReportFolder;
  try {
    report = await ReportFolder.create(out);
  } catch (e) {
    return fail((e as Error).message);
  }
  const started = performance.now();
  const log = (line: string) =>
    process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
  const stop = () => {
    void report.abandon().finally(() => fail('interrupted: no report was written'));
  };
  process.once('SIGINT', stop);
  try {
    log(`${program.name}: ${program.summary}${values.full ? ' (full version)' : ''}`);
    await program.run({ full: values.full ?? false, seed, report, command, log });
    log(`report: ${relative(process.cwd(), join(report.dir, 'report.md')) || join(report.dir, 'report.md')}`);
  } catch (e) {
    await report.abandon();
    if (process.env.EDGEFL_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    fail(`${(e as Error).message}\n(nothing was written)`);
  } finally {
    process.off('SIGINT', stop);
  }
}
