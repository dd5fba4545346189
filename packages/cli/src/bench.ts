/**
 * `edgefl bench a.onnx b.onnx …`: one table of what each model costs on this machine and what it
 * still gets right — file size, parameters, latency p50/p95 at batch 1 on one thread and at batch
 * 32 on two threads, accuracy on a dataset's test split — each as a ratio to the first model (the
 * float original). Printed, and written as Markdown and as a chart (SVG and PNG).
 */
import type { Command } from 'commander';
import { basename, join } from 'node:path';
import { BENCH_SETTINGS, benchModel, type ModelBenchRow } from 'edgefl';
import { readInputFile, writeFileAtomic } from '@edgefl/node';
import { loadNamedDataset } from './datasets.js';
import { checkOutputFolder } from './output-paths.js';
import { runtimeNamed } from './model-inputs.js';
import { renderChart } from './report/curves.js';

interface BenchFlags {
  dataset?: string;
  examples: string;
  runs: string;
  out: string;
  runtime: string;
}

export function registerBenchCommand(
  program: Command,
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  program
    .command('bench')
    .description('compare models on this machine: size, latency (p50/p95), accuracy, as ratios to the first')
    .argument('<models...>', '.onnx files; the first is the reference (the float original)')
    .option('--dataset <name>', 'measure accuracy on this dataset’s test split (mnist)')
    .option('--examples <n>', 'test examples for accuracy', '10000')
    .option('--runs <n>', 'timed calls per setting (after 20 warm-up calls)', '200')
    .option('--out <dir>', 'where to write bench.md, bench.svg and bench.png', 'bench-report')
    .option(
      '--runtime <name>',
      "native (onnxruntime-node) or wasm (onnxruntime-web's WebAssembly build, what a browser runs)",
      'native',
    )
    .action(async (files: string[], flags: BenchFlags) => {
      checkOutputFolder(flags.out);
      const runs = positiveInt(flags.runs, '--runs');
      const examples = positiveInt(flags.examples, '--examples');
      // Every file is read and checked before any is timed: a typo fails at once, not at the end.
      const models = await Promise.all(
        files.map(async (f) => ({ name: basename(f), bytes: await readInputFile(f) })),
      );
      const data = flags.dataset ? (await loadNamedDataset(flags.dataset)).test : undefined;
      const runtime = runtimeNamed(flags.runtime);
      const rows: ModelBenchRow[] = [];
      for (const [k, m] of models.entries()) {
        out(
          `[${k + 1}/${models.length}] (${runtime.name}) ${m.name}: timing ${BENCH_SETTINGS.length} settings × ${runs} calls${data ? `, accuracy on ${Math.min(examples, data.length)} examples` : ''}`,
        );
        rows.push(await benchModel(m.name, m.bytes, { runtime, data, examples, runs }));
      }
      const table = benchTable(rows);
      out('');
      out(table);
      await writeFileAtomic(join(flags.out, 'bench.md'), `# edgefl bench\n\n${table}\n`);
      const chart = await renderChart(benchChartSpec(rows));
      await writeFileAtomic(join(flags.out, 'bench.svg'), chart.svg);
      await writeFileAtomic(join(flags.out, 'bench.png'), chart.png);
      out(`\nwrote ${join(flags.out, 'bench.md')}, bench.svg and bench.png`);
    });
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got '${value}'`);
  return n;
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const ms = (x: number) => (x < 1 ? x.toFixed(3) : x.toFixed(2));
const size = (bytes: number) => (bytes >= 2 ** 20 ? `${f1(bytes / 2 ** 20)} MiB` : `${f1(bytes / 1024)} KiB`);

/** The comparison as a Markdown table; ratios are against the first row. */
export function benchTable(rows: readonly ModelBenchRow[]): string {
  const [ref] = rows;
  const settings = ref.latency.map(
    (l) => `batch ${l.batch}, ${l.threads ?? '?'} thread${l.threads === 1 ? '' : 's'}`,
  );
  const head = [
    'model',
    'size',
    'parameters',
    ...settings.flatMap((s) => [`p50 (${s})`, `p95 (${s})`]),
    ...(ref.accuracy !== undefined ? ['accuracy'] : []),
    'size ÷ first',
    ...settings.map((s) => `p50 ÷ first (${s})`),
    ...(ref.accuracy !== undefined ? ['accuracy − first'] : []),
  ];
  const lines = rows.map((r) => [
    r.name,
    size(r.bytes),
    r.parameters.toLocaleString('en'),
    ...r.latency.flatMap((l) => [`${ms(l.p50Ms)} ms`, `${ms(l.p95Ms)} ms`]),
    ...(ref.accuracy !== undefined
      ? [r.accuracy === undefined ? '—' : `${(100 * r.accuracy).toFixed(2)}%`]
      : []),
    `${f2(r.bytes / ref.bytes)}×`,
    ...r.latency.map((l, k) => `${f2(l.p50Ms / ref.latency[k].p50Ms)}×`),
    ...(ref.accuracy !== undefined && r.accuracy !== undefined
      ? [`${(100 * (r.accuracy - ref.accuracy)).toFixed(2)} points`]
      : ref.accuracy !== undefined
        ? ['—']
        : []),
  ]);
  return [head, head.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Grouped bars: each model's size and median latencies divided by the first model's (1 = no change). */
export function benchChartSpec(rows: readonly ModelBenchRow[]) {
  const [ref] = rows;
  const values = rows.flatMap((r) => [
    { model: r.name, measure: 'size', ratio: r.bytes / ref.bytes },
    ...r.latency.map((l, k) => ({
      model: r.name,
      measure: `p50 latency, batch ${l.batch}, ${l.threads ?? '?'} thr.`,
      ratio: l.p50Ms / ref.latency[k].p50Ms,
    })),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Each model against ${ref.name} (lower is better)`,
    background: 'white',
    width: 560,
    height: 280,
    data: { values },
    layer: [
      {
        mark: { type: 'bar' as const },
        encoding: {
          x: {
            field: 'model',
            type: 'nominal' as const,
            title: null,
            sort: null,
            axis: { labelAngle: 0, labelLimit: 0 },
          },
          xOffset: { field: 'measure', type: 'nominal' as const },
          y: { field: 'ratio', type: 'quantitative' as const, title: '÷ the first model' },
          color: {
            field: 'measure',
            type: 'nominal' as const,
            title: null,
            legend: { orient: 'bottom' as const, labelLimit: 0 },
          },
        },
      },
      {
        data: { values: [{ one: 1 }] },
        mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'gray' },
        encoding: { y: { field: 'one', type: 'quantitative' as const } },
      },
    ],
  };
}
