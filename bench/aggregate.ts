/**
 * Aggregation benchmark: one server round of FedAvg (the streaming, O(model) aggregator used by every
 * 'sum' strategy) at 100 clients × 1M parameters and 1,000 clients × 100k, against the obvious
 * JavaScript loop in the same run; the memory a round holds and how it grows with the clients; and
 * the order-statistics strategies (which hold every update) at 100 clients × 100k.
 *
 *   npx tsx bench/aggregate.ts [--reps 7] [--no-record]
 *
 * What is timed: `add` for every client and `finish` — the server's work. Each client's delta is
 * generated into one reused buffer outside the timer (copied from a pool of random values at a
 * different offset per client), so the process holds the aggregator plus one delta. Wall time
 * (median and mean) and process CPU time (median) are both reported: on a shared machine wall time
 * includes waiting for a core. Memory comes from one more, untimed round, with the heap collected
 * and settled before each reading (the script re-runs itself with --expose-gc): the off-heap memory
 * (ArrayBuffers, WebAssembly memory) held after the first update, and its growth up to the last.
 *
 * Baselines: "plain loop" is what one would write first — a Float32Array running sum, `acc[i] +=
 * n·delta[i]` per client, then global + acc/Σn — with no NaN/Inf check. "edgefl, no SIMD" is the
 * same FedAvg with the WebAssembly kernels off (what runtimes without WebAssembly get). "Kahan
 * float32" is the other way to make a sum accurate with 8 bytes a parameter, for the choice of a
 * float64 sum.
 *
 * Writes bench/results/aggregate.json and the "Aggregation" section of BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { FedAvg, strategyByName, type RoundAggregator, type RoundContext, type Strategy, Rng } from 'edgefl';
import { simdAvailable } from 'edgefl/internal/tensor/wasm/simd-kernels';
import { plainSumBackend } from 'edgefl/internal/tensor/weighted-sum';
import { parallelSumBackend } from '@edgefl/node';
import {
  machineLine,
  mean,
  median,
  updateBenchmarksSection,
  writeResultJson,
  helpOnRequest,
} from './report.js';

helpOnRequest(import.meta.url);

// Memory figures need a clean heap at the start of each round: re-run with --expose-gc if needed.
if (!(globalThis as { gc?: unknown }).gc && !process.env.EDGEFL_BENCH_CHILD) {
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, EDGEFL_BENCH_CHILD: '1' },
  });
  process.exit(child.status ?? 1);
}

const { values: args } = parseArgs({
  options: {
    reps: { type: 'string', default: '7' },
    'no-record': { type: 'boolean', default: false },
  },
});
const REPS = Math.max(1, Number(args.reps));
const log = (s: string): void => void process.stderr.write(s + '\n');
const MB = 2 ** 20;

/** A pool of random values; client c's delta is a window of it starting at a client-dependent offset. */
const POOL_EXTRA = 4096;
function makePool(params: number): Float32Array {
  const rng = new Rng(1);
  const pool = new Float32Array(params + POOL_EXTRA);
  for (let i = 0; i < pool.length; i++) pool[i] = 0.01 * rng.normal();
  return pool;
}
function generateDelta(pool: Float32Array, out: Float32Array, client: number): void {
  const offset = (client * 97) % POOL_EXTRA;
  out.set(pool.subarray(offset, offset + out.length));
}

interface RoundRunner {
  begin(global: Float32Array): RoundAggregator;
}

/** The obvious loop: a float32 running sum, no validation. */
class PlainLoop implements RoundRunner {
  begin(global: Float32Array): RoundAggregator {
    const acc = new Float32Array(global.length);
    let total = 0;
    let count = 0;
    return {
      get count() {
        return count;
      },
      add(u) {
        const d = u.delta;
        const n = u.numExamples;
        for (let i = 0; i < d.length; i++) acc[i] += n * d[i];
        total += n;
        count++;
      },
      finish() {
        const out = new Float32Array(global.length);
        for (let i = 0; i < out.length; i++) out[i] = global[i] + acc[i] / total;
        return { global: out, statistics: {} };
      },
    };
  }
}

/** The alternative to a float64 sum: a compensated (Kahan) float32 sum, same bytes per parameter. */
class KahanFloat32 implements RoundRunner {
  begin(global: Float32Array): RoundAggregator {
    const sum = new Float32Array(global.length);
    const comp = new Float32Array(global.length);
    let total = 0;
    let count = 0;
    return {
      get count() {
        return count;
      },
      add(u) {
        const d = u.delta;
        const n = u.numExamples;
        for (let i = 0; i < d.length; i++) {
          const y = n * d[i] - comp[i];
          const t = sum[i] + y;
          comp[i] = t - sum[i] - y;
          sum[i] = t;
        }
        total += n;
        count++;
      },
      finish() {
        const out = new Float32Array(global.length);
        for (let i = 0; i < out.length; i++) out[i] = global[i] + sum[i] / total;
        return { global: out, statistics: {} };
      },
    };
  }
}

/** Rounds of `strategy`; `platform` sets the round context's back-ends (default: SIMD, one thread). */
function strategyRunner(strategy: Strategy, platform: Pick<RoundContext, 'sumBackend'> = {}): RoundRunner {
  return { begin: (global) => strategy.beginRound({ round: 1, global, rng: new Rng(1), ...platform }) };
}

interface Timing {
  wallMs: number[];
  cpuMs: number[];
  /** Memory (MB) the round holds after its first update: what it allocates up front. */
  heldMb: number;
  /** Memory (MB) added from the first update to the last: does it grow with the clients? */
  growthMb: number;
  /** RSS growth over the same span (MB): noisier, freed memory gets reused. */
  rssGrowthMb: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Memory outside V8's heap (every ArrayBuffer and WebAssembly memory) once garbage is gone: the
 * backing stores of collected buffers are released by a background sweeper, so collect, give it
 * time, and collect again.
 */
async function settledExternalBytes(): Promise<number> {
  gc?.();
  await sleep(50);
  gc?.();
  await sleep(5);
  return process.memoryUsage().external;
}

/** `reps` timed rounds (add + finish only), then one untimed round that measures memory. */
async function timeRounds(
  runner: RoundRunner,
  clients: number,
  params: number,
  reps: number,
): Promise<Timing> {
  const pool = makePool(params);
  const delta = new Float32Array(params);
  const global = new Float32Array(params);
  const update = (c: number) => ({ clientId: `c${c}`, delta, numExamples: 50 + (c % 17) });
  const t: Timing = { wallMs: [], cpuMs: [], heldMb: 0, growthMb: 0, rssGrowthMb: 0 };
  for (let r = -1; r < reps; r++) {
    gc?.(); // no collection of the previous round's garbage inside the timed part
    const agg = runner.begin(global);
    let wall = 0;
    let cpu = 0;
    for (let c = 0; c <= clients; c++) {
      if (c < clients) generateDelta(pool, delta, c + r);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      if (c < clients) agg.add(update(c));
      else agg.finish();
      wall += performance.now() - t0;
      const cu = process.cpuUsage(c0);
      cpu += (cu.user + cu.system) / 1000;
    }
    if (r < 0) continue; // warm-up
    t.wallMs.push(wall);
    t.cpuMs.push(cpu);
  }

  const before = await settledExternalBytes();
  const agg = runner.begin(global);
  generateDelta(pool, delta, 0);
  agg.add(update(0));
  const afterFirst = await settledExternalBytes();
  const rssAfterFirst = process.memoryUsage.rss();
  for (let c = 1; c < clients; c++) {
    generateDelta(pool, delta, c);
    agg.add(update(c));
  }
  const beforeFinish = await settledExternalBytes();
  t.rssGrowthMb = (process.memoryUsage.rss() - rssAfterFirst) / MB;
  agg.finish();
  t.heldMb = (afterFirst - before) / MB;
  t.growthMb = (beforeFinish - afterFirst) / MB;
  return t;
}

interface Row {
  section: 'fedavg' | 'robust';
  what: string;
  clients: number;
  params: number;
  medianMs: number;
  meanMs: number;
  cpuMedianMs: number;
  heldMb: number;
  growthMb: number;
  rssGrowthMb: number;
  reps: number;
}

const rows: Row[] = [];
function record(section: Row['section'], what: string, clients: number, params: number, t: Timing): void {
  const row: Row = {
    section,
    what,
    clients,
    params,
    medianMs: median(t.wallMs),
    meanMs: mean(t.wallMs),
    cpuMedianMs: median(t.cpuMs),
    heldMb: t.heldMb,
    growthMb: t.growthMb,
    rssGrowthMb: t.rssGrowthMb,
    reps: t.wallMs.length,
  };
  rows.push(row);
  log(
    `${what.padEnd(32)} ${clients} × ${params}: median ${row.medianMs.toFixed(1)} ms, mean ${row.meanMs.toFixed(1)} ms, ` +
      `cpu ${row.cpuMedianMs.toFixed(1)} ms, held ${row.heldMb.toFixed(1)} MB, growth ${row.growthMb.toFixed(1)} MB (RSS ${row.rssGrowthMb.toFixed(1)} MB)`,
  );
}

const loadBefore = loadavg()[0];
log(`bench:aggregate on ${machineLine()}; load average ${loadBefore.toFixed(2)}; SIMD ${simdAvailable()}`);

const FEDAVG_CONFIGS = [
  { clients: 100, params: 1_000_000 },
  { clients: 1000, params: 100_000 },
  { clients: 100, params: 100_000 },
];
for (const { clients, params } of FEDAVG_CONFIGS) {
  record(
    'fedavg',
    'edgefl FedAvg (SIMD)',
    clients,
    params,
    await timeRounds(strategyRunner(new FedAvg()), clients, params, REPS),
  );
  // The same on two threads (@edgefl/node's opt-in), for every size here, to show where it pays.
  const parallel = await parallelSumBackend({ minLength: 1 });
  if (parallel) {
    record(
      'fedavg',
      'edgefl FedAvg (SIMD, 2 threads)',
      clients,
      params,
      await timeRounds(strategyRunner(new FedAvg(), { sumBackend: parallel.backend }), clients, params, REPS),
    );
    await parallel.close();
  }
  const noSimd = await timeRounds(
    strategyRunner(new FedAvg(), { sumBackend: plainSumBackend }),
    clients,
    params,
    Math.min(REPS, 5),
  );
  record('fedavg', 'edgefl FedAvg, no SIMD', clients, params, noSimd);
  record(
    'fedavg',
    'plain loop (float32, unchecked)',
    clients,
    params,
    await timeRounds(new PlainLoop(), clients, params, REPS),
  );
  if (clients === 100 && params === 1_000_000) {
    const kahan = await timeRounds(new KahanFloat32(), clients, params, Math.min(REPS, 5));
    record('fedavg', 'Kahan float32 loop (unchecked)', clients, params, kahan);
  }
}

const ROBUST: [string, Record<string, unknown>][] = [
  ['fedmedian', {}],
  ['fedtrimmedavg', { beta: 0.2 }],
  ['krum', { f: 10 }],
  ['multikrum', { f: 10 }],
  ['bulyan', { f: 10 }],
  ['centeredclipping', { tau: 1, iterations: 1 }],
];
for (const [name, options] of ROBUST) {
  const label = `${name} ${Object.entries(options)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`.trim();
  record(
    'robust',
    label,
    100,
    100_000,
    await timeRounds(strategyRunner(strategyByName(name, options)), 100, 100_000, Math.min(REPS, 3)),
  );
}
const loadAfter = loadavg()[0];

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const tableOf = (section: Row['section']): string =>
  [
    '| aggregator | clients × params | median ms | mean ms | CPU ms (median) | held after the 1st update | growth up to the last | reps |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows
      .filter((r) => r.section === section)
      .map(
        (r) =>
          `| ${r.what} | ${r.clients} × ${r.params >= 1e6 ? `${r.params / 1e6}M` : `${r.params / 1e3}k`} | ${fmt(r.medianMs)} | ${fmt(r.meanMs)} | ${fmt(r.cpuMedianMs)} | ${r.heldMb.toFixed(1)} MB | ${r.growthMb.toFixed(1)} MB | ${r.reps} |`,
      ),
  ].join('\n');

const fedavgTable = tableOf('fedavg');
const robustTable = tableOf('robust');
console.log(
  `\n### FedAvg (streaming, O(model))\n\n${fedavgTable}\n\n### Order statistics (hold every update)\n\n${robustTable}\n`,
);

writeResultJson('aggregate', {
  machine: machineLine(),
  date: new Date().toISOString(),
  simd: simdAvailable(),
  loadAverage: { before: loadBefore, after: loadAfter },
  rows,
});

if (!args['no-record']) {
  const body = `Command: \`npx tsx bench/aggregate.ts\` — ${new Date().toISOString().slice(0, 10)}, ${machineLine()}; 1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (a shared machine: CPU time is less affected by other processes than wall time).

One server round: \`add\` for every client plus \`finish\`. Each client's delta is generated into one reused buffer outside the timer. The memory columns come from one more, untimed round, with the heap collected and settled before each reading, so they are the aggregator's own: "held after the 1st update" is the memory the round holds once it has started (off-heap: ArrayBuffers and WebAssembly memory, after a full collection; FedAvg: its float64 running sum, 8 bytes a parameter, plus a float32 staging copy of the update being added — whole up to 2^17 parameters, a 16 KB block above), and "growth up to the last" is what it adds as the other clients arrive — ~0 for FedAvg whatever the number of clients, (clients − 1) × params × 4 bytes for the strategies that must hold every update (bench/results/aggregate.json also has the RSS growth, which stays ~0 even then because freed memory from the previous round is reused). "plain loop" is the first thing one would write (a float32 running sum, no NaN/Inf check); "no SIMD" is edgefl's path on runtimes without WebAssembly; "Kahan float32" is the alternative to a float64 sum at the same 8 bytes a parameter. For reference, Flower's FedAvg on this kind of machine: ~90 ms for 100 × 1M; NumPy alone ~50–65 ms.

FedAvg's SIMD path checks each delta for NaN/Inf before adding anything (so that a refused update leaves the sum untouched), on a copy in the WebAssembly memory: up to 2^17 parameters the whole delta is copied once and checked and added from the copy, which stays in L2; above, it is copied block by block twice, for the check and for the multiply-add. 1000 × 100k does the same 100M multiply-adds as 100 × 1M with an 800 KB sum that stays in L2; 100 × 1M's 8 MB sum lives in the L3 that the other processes of a shared machine also use, so that row is bound by memory bandwidth and varies with what else runs (~95 to ~210 ms across runs during development, at load averages 0.8 to 6): per client the delta is read twice (8 bytes a parameter) and the sum read and written (16). The 60 ms target is out of reach on one thread with these guarantees: holding 8 handed-over updates and folding them into the sum in one pass (sum traffic ÷ 8) gained 10–20% in a same-run A/B, because the kernels' own work (copy 0.13, check 0.1, promote-multiply-add 0.32 ns a parameter, measured in cache) is already ~0.55 ns a parameter, 55 ms a round, before any memory traffic. The "2 threads" rows are @edgefl/node's opt-in \`parallelSumBackend()\` (its \`backend\` given to the round as \`sumBackend\`): each vector is split between the main thread and a helper thread over a shared WebAssembly memory (the update is copied whole into it, the helper's half first; both halves are checked before either is added, and the sums are bit-identical to one thread's). The helper polls for the next command for 2 ms and then sleeps, so its CPU time counts in the CPU column. It pays from about 2^18 parameters (its default threshold): at 100k the one-thread path already works in L2 and the hand-overs cost what the second core saves. Its memory is a shared WebAssembly memory of 12 bytes a parameter (the float64 sum and a whole float32 stage), which Node's external-memory counter does not include, hence the 0.0 MB in the memory columns. Flower's and NumPy's figures come from a float32 sum with no validation pass.

### FedAvg (streaming, O(model))

${fedavgTable}

### Order statistics at 100 × 100k (hold every update: O(clients × model))

${robustTable}`;
  updateBenchmarksSection('aggregate', 'Aggregation (bench/aggregate.ts)', body);
  log('recorded in BENCHMARKS.md and bench/results/aggregate.json');
}
