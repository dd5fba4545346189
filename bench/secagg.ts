/**
 * Secure aggregation benchmark: one whole SecAgg / SecAgg+ round in this process, for n clients,
 * vectors of 100k / 1M parameters and 0 / 10 / 30 % dropout, plus the issue's two target rows (and the
 * 100 x 1M one again with k = ceil(log2 n)). Each target row runs twice: as runSecAggInProcess (everything
 * on one thread) and "on 2 client threads" (runSecAggInWorkers' SecAggClientThreads: the clients on
 * worker threads, the server on the main thread), with the threads started once per row and reused.
 *
 *   npx tsx bench/secagg.ts           # full table (several minutes)
 *   npx tsx bench/secagg.ts --quick   # n <= 100 at 100k, plus the target rows
 *   npx tsx bench/secagg.ts --targets # only the target rows
 *
 * Dropouts happen after key sharing — the expensive case, where the server must rebuild the dropped
 * clients' mask keys and remove their pairwise masks. Neighbours k come from planNeighbourhood for the
 * row's dropout rate (abort probability <= 1e-3); the target rows fix k as stated. Times: "client" is
 * the time spent in client code divided by the clients taking part (what one device would spend),
 * "server" the time in server code, "total" the wall time of the round, "main-thread cpu" the CPU
 * time of the thread running the round (Linux: what the wall time would be with a core to itself, as
 * this machine is shared), "all-threads cpu" the process CPU time including V8's background GC and, on
 * the client-thread rows, the client threads; a second table gives those rows' per-thread CPU time. Prints a markdown table and writes JSON to
 * bench/results/secagg.json (secagg-quick.json, secagg-targets.json for the subsets).
 *
 * glibc malloc tuning: node:crypto allocates a fresh output buffer on every cipher update, and with
 * glibc's default trim threshold (128 KiB) the heap keeps handing those pages back to the kernel and
 * faulting them in again — measured here, ~480k page faults and ~1.6x the wall time of a
 * 100 x 1M round. So on Linux the benchmark re-runs itself with MALLOC_TRIM_THRESHOLD_=256 MiB (the
 * setting docs/secagg.md recommends for servers) unless that variable is already set or
 * --no-malloc-tuning is given.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, updateBenchmarksSection, helpOnRequest } from './report.js';
import cliProgress from 'cli-progress';
import {
  planNeighbourhood,
  runSecAggInProcess,
  SecAggError,
  type InProcessStage,
  type SecAggCrypto,
} from 'edgefl/internal/privacy/secagg/index';
import { nodeSecAggCrypto, SecAggClientThreads } from '@edgefl/node';
import { Rng } from 'edgefl';

helpOnRequest(import.meta.url);

interface Row {
  label: string;
  clients: number;
  params: number;
  dropout: number;
  neighbours: number;
  threshold: number;
  repeat: number;
  target?: { totalMs: number; flowerMs: number };
  /** Run the clients on this many worker threads (runSecAggInWorkers); absent: one thread. */
  clientThreads?: number;
}

interface Result extends Row {
  ok: boolean;
  error?: string;
  clientMsPerClient: number;
  serverMs: number;
  totalMs: number;
  totalMsRuns: number[];
  cpuMs: number;
  /** CPU time of the main thread alone (Linux), i.e. the round's wall time with a core to itself. */
  mainThreadCpuMs: number;
  mainThreadCpuMsRuns: number[];
  bytesUpPerClient: number;
  bytesDownPerClient: number;
  survivors: number;
  maxError: number;
  errorBound: number;
  /** Client-thread rows: starting the threads (once per row, outside the rounds' wall time). */
  threadStartMs?: number;
  /** Client-thread rows: CPU ms of each client thread in the median-wall run (Linux). */
  workerCpuMs?: number[];
  workerCpuMsRuns?: number[][];
}

const RANGE = 1;
const POOL = 4; // distinct input vectors, reused across clients: content does not affect cost

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const targetsOnly = args.includes('--targets');
// Subsets get their own file so they never overwrite the full table.
const outPath = join(
  dirname(fileURLToPath(import.meta.url)),
  'results',
  targetsOnly ? 'secagg-targets.json' : quick ? 'secagg-quick.json' : 'secagg.json',
);
const MALLOC_TRIM = 'MALLOC_TRIM_THRESHOLD_';

function respawnWithMallocTuning(): boolean {
  if (
    process.platform !== 'linux' ||
    process.env[MALLOC_TRIM] !== undefined ||
    args.includes('--no-malloc-tuning')
  ) {
    return false;
  }
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [MALLOC_TRIM]: String(256 * 1024 * 1024) },
  });
  process.exitCode = child.status ?? 1;
  return true;
}

function plannedRow(clients: number, params: number, dropout: number): Row {
  const plan = planNeighbourhood(clients, { dropoutRate: dropout, failureProbability: 1e-3 });
  return {
    label: 'grid',
    clients,
    params,
    dropout,
    neighbours: plan.neighbours,
    threshold: plan.threshold,
    repeat: 1,
  };
}

function rows(): Row[] {
  const out: Row[] = [
    // The issue's targets, against Flower's SecAgg+ measured on this kind of machine.
    {
      label: 'SecAgg+, k = 11 as Flower',
      clients: 100,
      params: 1e6,
      dropout: 0,
      neighbours: 11,
      threshold: 7,
      repeat: 3,
      target: { totalMs: 3000, flowerMs: 14700 },
    },
    {
      label: 'target: SecAgg+, k = ceil(log2 n) ~ log n',
      clients: 100,
      params: 1e6,
      dropout: 0,
      neighbours: 7,
      threshold: 5,
      repeat: 3,
      target: { totalMs: 3000, flowerMs: 14700 },
    },
    {
      label: 'target: classic SecAgg, k = n - 1',
      clients: 50,
      params: 1e5,
      dropout: 0,
      neighbours: 49,
      threshold: 26,
      repeat: 3,
      target: { totalMs: 2000, flowerMs: 28000 },
    },
  ];
  // The same target rows with the clients on two worker threads, each next to its one-thread row.
  for (let i = out.length - 1; i >= 0; i--)
    out.splice(i + 1, 0, { ...out[i], label: `${out[i].label}, on 2 client threads`, clientThreads: 2 });
  if (targetsOnly) return out;
  const sizes = quick ? [10, 50, 100] : [10, 50, 100, 500];
  const lengths = quick ? [1e5] : [1e5, 1e6];
  for (const params of lengths) {
    for (const clients of sizes)
      for (const dropout of [0, 0.1, 0.3]) out.push(plannedRow(clients, params, dropout));
  }
  return out;
}

function makePool(length: number): Float32Array[] {
  const rng = new Rng(2024);
  return Array.from({ length: POOL }, () => {
    const v = new Float32Array(length);
    for (let i = 0; i < length; i++) v[i] = (rng.uniform() * 2 - 1) * 0.9 * RANGE;
    return v;
  });
}

async function runRow(
  row: Row,
  crypto: SecAggCrypto,
  pool: Float32Array[],
  bar: cliProgress.SingleBar,
  rowIndex: number,
  rowCount: number,
): Promise<Result> {
  const clientIds = Array.from({ length: row.clients }, (_, i) => i);
  const rng = new Rng(row.clients * 7 + Math.round(row.dropout * 100));
  const dropped = Array.from(rng.permutation(row.clients).subarray(0, Math.round(row.dropout * row.clients)));
  const stages: InProcessStage[] = ['advertise-keys', 'share-keys', 'masked-input', 'unmasking'];
  const totals: number[] = [];
  const mainRuns: number[] = [];
  const workerRuns: number[][] = [];
  let last: Result | undefined;
  const threadStart = performance.now();
  const threads = row.clientThreads ? await SecAggClientThreads.start(row.clientThreads) : undefined;
  const threadStartMs = threads ? performance.now() - threadStart : undefined;
  try {
    for (let r = 0; r < row.repeat; r++) {
      if (!process.stderr.isTTY) {
        // cli-progress draws nothing without a terminal; leave one line per run in logs instead.
        process.stderr.write(
          `[${rowIndex + 1}/${rowCount}] n=${row.clients} ${fmtParams(row.params)} dropout ${row.dropout * 100}% k=${row.neighbours}${threadsTag(row)} run ${r + 1}/${row.repeat}\n`,
        );
      }
      bar.start(4 * row.clients, 0, {
        row: `${rowIndex + 1}/${rowCount} n=${row.clients} ${fmtParams(row.params)} drop ${row.dropout * 100}% k=${row.neighbours}${threadsTag(row)}`,
        stage: '',
      });
      const cpu0 = process.cpuUsage();
      const main0 = mainThreadCpuMs();
      try {
        const options = {
          vectors: (id: number) => pool[id % POOL],
          clientIds,
          vectorLength: row.params,
          range: RANGE,
          neighbours: row.neighbours,
          threshold: row.threshold,
          seed: 1,
          crypto,
          dropouts: { afterShareKeys: dropped },
          onProgress: (stage: InProcessStage, done: number, total: number) => {
            const s = stages.indexOf(stage);
            bar.update(s * row.clients + Math.round((done / total) * row.clients), { stage });
          },
        };
        const threaded = threads ? await threads.run(options) : undefined;
        const report = threaded ?? (await runSecAggInProcess(options));
        const cpu = process.cpuUsage(cpu0);
        if (threaded) workerRuns.push([...threaded.threads.workerCpuMs]);
        mainRuns.push(mainThreadCpuMs() - main0);
        // Check the result: the sum of each survivor's (pool) vector, within the stated bound.
        const counts = new Array<number>(POOL).fill(0);
        for (const id of report.survivors) counts[id % POOL]++;
        let maxError = 0;
        for (let i = 0; i < row.params; i++) {
          let exact = 0;
          for (let p = 0; p < POOL; p++) exact += counts[p] * pool[p][i];
          maxError = Math.max(maxError, Math.abs(report.sum[i] - exact));
        }
        totals.push(report.timing.totalMs);
        last = {
          ...row,
          ok: maxError <= report.errorBound,
          clientMsPerClient: report.timing.clientMsPerClient,
          serverMs: report.timing.serverMs,
          totalMs: report.timing.totalMs,
          totalMsRuns: totals,
          cpuMs: (cpu.user + cpu.system) / 1000,
          mainThreadCpuMs: mainRuns[mainRuns.length - 1],
          mainThreadCpuMsRuns: mainRuns,
          bytesUpPerClient: report.bytes.upPerClient,
          bytesDownPerClient: report.bytes.downPerClient,
          survivors: report.survivors.length,
          maxError,
          errorBound: report.errorBound,
          threadStartMs,
          workerCpuMs: workerRuns[workerRuns.length - 1],
          workerCpuMsRuns: workerRuns,
        };
      } catch (e) {
        if (!(e instanceof SecAggError)) throw e;
        last = {
          ...row,
          ok: false,
          error: e.message,
          clientMsPerClient: NaN,
          serverMs: NaN,
          totalMs: NaN,
          totalMsRuns: [],
          cpuMs: NaN,
          mainThreadCpuMs: NaN,
          mainThreadCpuMsRuns: [],
          bytesUpPerClient: NaN,
          bytesDownPerClient: NaN,
          survivors: 0,
          maxError: NaN,
          errorBound: NaN,
        };
        break;
      } finally {
        bar.stop();
      }
    }
  } finally {
    await threads?.close();
  }
  if (last && totals.length > 1) {
    // Report the median run (the machine is shared; one slow run should not decide a row).
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    last.totalMs = median(totals);
    last.mainThreadCpuMs = median(mainRuns);
    // The client threads' CPU of the run whose wall time is the median.
    if (workerRuns.length === totals.length) last.workerCpuMs = workerRuns[totals.indexOf(last.totalMs)];
  }
  return last!;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU time of this thread from /proc (Linux; NaN elsewhere). On a shared machine wall time depends on
 * everyone else's load, while the main thread's CPU time is what the round takes with a core to
 * itself (V8's background GC threads run on other cores).
 */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime: fields 14 and 15 of the line
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * A client-thread row's CPU split in its median-wall run. The main thread alone is no longer the
 * round's time with a core to itself: with one core per thread, the wall time is at least the busiest
 * thread's CPU time.
 */
function threadCpuLine(r: Result): string {
  const i = r.totalMsRuns.indexOf(r.totalMs);
  const main = r.mainThreadCpuMsRuns[i] ?? r.mainThreadCpuMs;
  const workers = r.workerCpuMs ?? [];
  return `CPU: main (server) thread ${fmtMs(main)} ms, client threads ${workers.map(fmtMs).join(' + ')} ms — busiest thread ${fmtMs(Math.max(main, ...workers))} ms`;
}

function threadsTag(row: Row): string {
  return row.clientThreads ? ` on ${row.clientThreads} client threads` : '';
}

/** The client-thread rows: how the work split between the server thread and the client threads. */
function threadTable(results: Result[]): string {
  const rowsWithThreads = results.filter((r) => r.clientThreads && !r.error);
  if (rowsWithThreads.length === 0) return '';
  const lines = [
    '| row | client threads | thread start ms | total ms (wall) | main-thread cpu ms | client-thread cpu ms (each) | all-threads cpu ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rowsWithThreads) {
    const runs = (r.workerCpuMsRuns ?? []).map((w) => w.map(fmtMs).join(' + ')).join(' / ');
    const main = r.mainThreadCpuMsRuns[r.totalMsRuns.indexOf(r.totalMs)] ?? r.mainThreadCpuMs;
    lines.push(
      `| ${r.label} | ${r.clientThreads} | ${fmtMs(r.threadStartMs ?? NaN)} | ${fmtMs(r.totalMs)} | ${fmtMs(main)} | ` +
        `${(r.workerCpuMs ?? []).map(fmtMs).join(' + ')}${runs ? ` (runs: ${runs})` : ''} | ${fmtMs(r.cpuMs)} |`,
    );
  }
  return lines.join('\n');
}

function fmtParams(p: number): string {
  return p >= 1e6 ? `${p / 1e6}M` : `${p / 1e3}k`;
}

function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return '—';
  return b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`;
}

function fmtMs(ms: number): string {
  return Number.isFinite(ms) ? (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)) : '—';
}

function table(results: Result[]): string {
  const lines = [
    '| row | n | params | dropout | k | t | client ms / client | server ms | total ms (wall) | main-thread cpu ms | all-threads cpu ms | up / client | down / client | sum ok |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const ok = r.error ? `aborted: ${r.error}` : r.ok ? 'yes' : `NO (error ${r.maxError} > ${r.errorBound})`;
    const mainCpu =
      r.mainThreadCpuMsRuns.length > 1
        ? `${fmtMs(r.mainThreadCpuMs)} (${r.mainThreadCpuMsRuns.map(fmtMs).join(' / ')})`
        : fmtMs(r.mainThreadCpuMs);
    const total =
      r.totalMsRuns.length > 1
        ? `${fmtMs(r.totalMs)} (${r.totalMsRuns.map(fmtMs).join(' / ')})`
        : fmtMs(r.totalMs);
    lines.push(
      `| ${r.label} | ${r.clients} | ${fmtParams(r.params)} | ${r.dropout * 100}% | ${r.neighbours} | ${r.threshold} | ` +
        `${fmtMs(r.clientMsPerClient)} | ${fmtMs(r.serverMs)} | ${total} | ${mainCpu} | ${fmtMs(r.cpuMs)} | ` +
        `${fmtBytes(r.bytesUpPerClient)} | ${fmtBytes(r.bytesDownPerClient)} | ${ok} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const crypto = nodeSecAggCrypto();
  const plan = rows();
  const bar = new cliProgress.SingleBar(
    { format: '{row} [{bar}] {percentage}% {stage}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  const loadBefore = loadavg();
  const results: Result[] = [];
  const pools = new Map<number, Float32Array[]>();
  for (let i = 0; i < plan.length; i++) {
    const row = plan[i];
    let pool = pools.get(row.params);
    if (!pool) pools.set(row.params, (pool = makePool(row.params)));
    results.push(await runRow(row, crypto, pool, bar, i, plan.length));
  }
  const machine = {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    node: process.version,
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg(),
    keyAgreement: crypto.keyAgreement.implementation,
    prg: `${crypto.maskPrg('aes-256-ctr').algorithm} via ${crypto.maskPrg('aes-256-ctr').implementation}`,
    wordKernel: crypto.kernel.name,
    mallocTrimThreshold: process.env[MALLOC_TRIM] ?? 'default',
  };
  console.log(
    `\nSecure aggregation, one round in one process (${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ` +
      `${machine.prg}, ${machine.wordKernel} kernel, ${MALLOC_TRIM}=${machine.mallocTrimThreshold})\n`,
  );
  console.log(table(results));
  const perThread = threadTable(results);
  if (perThread)
    console.log(
      `\nClient-thread rows, CPU time per thread (median-wall run; all runs after "runs:"):\n\n${perThread}`,
    );
  for (const r of results.filter((x) => x.target)) {
    const verdict = r.totalMs < r.target!.totalMs ? 'meets' : 'MISSES';
    const idle = r.mainThreadCpuMs < r.target!.totalMs ? 'meets' : 'misses';
    console.log(
      `\n${r.label} (n=${r.clients}, ${fmtParams(r.params)}, k=${r.neighbours}): median wall ${fmtMs(r.totalMs)} ms — ` +
        `${verdict} the ${r.target!.totalMs} ms target (Flower ${r.target!.flowerMs} ms); ` +
        (r.clientThreads
          ? threadCpuLine(r)
          : `main-thread CPU ${fmtMs(r.mainThreadCpuMs)} ms — ${idle} it with a core to itself`),
    );
  }
  console.log(
    `\nload average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${machine.loadavgAfter.map((x) => x.toFixed(2)).join(' ')}`,
  );
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(
    outPath,
    JSON.stringify({ date: new Date().toISOString(), quick, targetsOnly, machine, results }, null, 2) + '\n',
  );
  console.log(`wrote ${outPath.replace(process.cwd() + '/', '')}`);
  const command = `npm run bench:secagg${quick ? ' -- --quick' : targetsOnly ? ' -- --targets' : ''}`;
  const verdicts = results
    .filter((x) => x.target)
    .map(
      (r) =>
        `- ${r.label} (n = ${r.clients}, ${fmtParams(r.params)}, k = ${r.neighbours}): median wall **${fmtMs(r.totalMs)} ms** against the ${r.target!.totalMs} ms target (Flower's SecAgg+ here: ${r.target!.flowerMs} ms) — ${r.totalMs < r.target!.totalMs ? 'meets it' : 'misses it'}; ${r.clientThreads ? threadCpuLine(r) : `main-thread CPU ${fmtMs(r.mainThreadCpuMs)} ms`}.`,
    );
  // The full grid and the quick / targets-only subsets keep separate sections, so a short run never
  // replaces the full table.
  updateBenchmarksSection(
    quick ? 'secagg-quick' : targetsOnly ? 'secagg-targets' : 'secagg',
    `Secure aggregation${quick ? ', quick subset' : targetsOnly ? ', target rows' : ''} (bench:secagg)`,
    `Command: \`${command}\` — ${new Date().toISOString().slice(0, 10)}, ${machineLine()}; ${machine.prg}, ${machine.wordKernel} kernel, ${MALLOC_TRIM}=${machine.mallocTrimThreshold}; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${machine.loadavgAfter.map((x) => x.toFixed(2)).join(' ')} after.

One whole SecAgg / SecAgg+ round in one process (every client and the server), every message through the binary codec. Dropouts
happen after key sharing (the costly case: the server rebuilds the dropped clients' mask keys). "client ms / client" is what one
device would spend; "main-thread cpu" is the round's time with a core to itself (the machine is shared). Medians of the runs shown
in brackets.

${table(results)}
${
  perThread
    ? `
Rows "on 2 client threads" run the clients on worker threads (\`runSecAggInWorkers\` / \`SecAggClientThreads\`, threads started
once per row, outside the wall time) and the server on the main thread; their "main-thread cpu" is the server thread's alone.
CPU time per thread in the median-wall run (all runs after "runs:"):

${perThread}
`
    : ''
}
${verdicts.join('\n')}`,
  );
}

if (!respawnWithMallocTuning()) await main();
