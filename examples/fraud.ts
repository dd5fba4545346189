/**
 * Banks that detect fraud together without showing each other a single transaction.
 *
 * Four banks of different sizes each see under 1% fraud, and each sees only some of the ways fraud
 * is done (card testing, account takeover, cards skimmed and used abroad, money mules). Alone, a
 * bank's model knows its own fraud; trained federated — FedAvg or FedProx under secure aggregation, so the
 * server sees only the sum of the banks' updates — it also knows the fraud its customers have not
 * met yet. No real fraud data may be published, so the transactions come from edgefl's documented,
 * seeded generator (`syntheticTransactions`).
 *
 *   npx edgefl example fraud            # a few minutes on 2 cores
 *   npx edgefl example fraud --full     # 4× the customers, 90 days, 80 rounds
 *
 * The report: average precision (the area under the precision-recall curve: what counts when fraud
 * is rare) and F1 at the threshold each bank sets to catch 80% of its fraud, for each bank alone,
 * federated and pooled; recall on the fraud patterns a bank has never seen; PR curves; the model.
 */
import {
  FRAUD_PATTERNS,
  SubsetDataset,
  TRANSACTION_FEATURES,
  adam,
  atRecall,
  averagePrecision,
  binaryCurve,
  confusionAt,
  dense,
  exportInferenceModel,
  relu,
  sequential,
  standardize,
  syntheticTransactions,
  type BankSpec,
  type BankTransactions,
  type Dataset,
  type ModelSpec,
  type ParameterSet,
  type Platform,
  type RoundRecord,
} from 'edgefl';
import { nodePlatform } from '@edgefl/node';
import { barChart, lineChart, markdownTable, type Bar, type LinePoint } from '@edgefl/cli';
import {
  labelsOf,
  sharedScaling,
  positiveScores,
  trainAlone,
  trainFederated,
  trainPooled,
  type CrossSiloRecipe,
  type FederatedTraining,
  type Silo,
} from './shared/silos.js';
import { isMain, runExample, type ExampleRun } from './shared/run-example.js';

/** Who suffers what: every pattern occurs at two banks, so each bank has two it has never seen. */
const BANKS: readonly (Omit<BankSpec, 'customers'> & { share: number })[] = [
  { name: 'Northbank', share: 1, patterns: ['card testing', 'account takeover'] },
  { name: 'Southbank', share: 1, patterns: ['skimmed card abroad', 'money mule'] },
  { name: 'Eastbank', share: 0.5, patterns: ['card testing', 'skimmed card abroad'] },
  { name: 'Westbank', share: 0.25, patterns: ['account takeover', 'money mule'] },
];

export interface FraudOptions {
  /** Customers of the largest bank (the others have a share of it). */
  customers: number;
  days: number;
  /** Epochs when a bank trains alone or the data are pooled. */
  epochs: number;
  rounds: number;
  /** Each bank's local steps per federated round (batches of 64). */
  localSteps: number;
  /** Secure aggregation's range: each value of a bank's weighted update is cut to [−range, range]. */
  secureAggregationRange?: number;
  /** FedProx's μ: the proximal term that keeps a bank's local training near the global model. */
  proximalMu: number;
  seed: number;
  /** The recall each bank's operating threshold is set for, on its validation data. */
  targetRecall: number;
}

export const QUICK: Omit<FraudOptions, 'seed'> = {
  customers: 2000,
  days: 60,
  epochs: 10,
  rounds: 40,
  localSteps: 100,
  proximalMu: 0.1,
  targetRecall: 0.8,
};
export const FULL: Omit<FraudOptions, 'seed'> = {
  customers: 8000,
  days: 90,
  epochs: 10,
  rounds: 80,
  localSteps: 200,
  proximalMu: 0.1,
  targetRecall: 0.8,
};

export const WAYS = ['alone', 'FedAvg', 'FedProx', 'pooled'] as const;
export type Way = (typeof WAYS)[number];

export interface BankFigures {
  bank: string;
  way: Way;
  /**
   * On the bank's next month, when every fraud pattern reaches it (the ones it knows and the ones
   * seen elsewhere): average precision, and the counts at the threshold it set on validation.
   */
  averagePrecision: number;
  f1: number;
  precision: number;
  recall: number;
  /** Recall on the next month's fraud of the patterns the bank has never seen, at the same threshold. */
  unseenRecall: number;
  /** Average precision on held-out transactions of the training period (only the bank's own patterns). */
  ownAveragePrecision: number;
  /** The next month's precision-recall curve, one point per fraud caught. */
  curve: { recall: number; precision: number }[];
}

export interface FraudResult {
  options: FraudOptions;
  banks: { name: string; patterns: readonly string[]; transactions: number; frauds: number }[];
  figures: BankFigures[];
  history: RoundRecord[];
  /** The federated (FedProx) model: its definition and parameters, and as the .onnx a bank deploys. */
  federated: { spec: ModelSpec; parameters: ParameterSet };
  federatedModel: Uint8Array;
  seconds: Record<Way, number>;
}

/**
 * A bank's transactions split by customer (the generator lists them customer by customer): the
 * first 60% of the rows train, the next 20% validate, the last 20% test — no customer's habits leak
 * from training into the test.
 */
function splitBank(t: BankTransactions): Silo {
  const n = t.dataset.length;
  const range = (from: number, to: number) => Uint32Array.from({ length: to - from }, (_, i) => from + i);
  const a = Math.floor(0.6 * n);
  const b = Math.floor(0.8 * n);
  return {
    name: t.name,
    train: new SubsetDataset(t.dataset, range(0, a)),
    validation: new SubsetDataset(t.dataset, range(a, b)),
    test: new SubsetDataset(t.dataset, range(b, n)),
  };
}

/** The legitimate transactions and the frauds of the patterns `keep` accepts (indices into FRAUD_PATTERNS). */
function restrictTo(t: BankTransactions, keep: (pattern: number) => boolean): Dataset {
  const rows: number[] = [];
  for (let i = 0; i < t.pattern.length; i++) if (t.pattern[i] < 0 || keep(t.pattern[i])) rows.push(i);
  return new SubsetDataset(t.dataset, Uint32Array.from(rows));
}

export async function fraudStudy(
  o: FraudOptions,
  platform: Platform,
  log: (line: string) => void = () => {},
): Promise<FraudResult> {
  const specs = BANKS.map((b) => ({
    name: b.name,
    patterns: b.patterns,
    customers: Math.round(o.customers * b.share),
  }));
  const data = syntheticTransactions({ banks: specs, days: o.days, seed: o.seed });
  // Each bank's next month, with new customers, when the fraud patterns seen elsewhere reach it too:
  // fraudsters move on to the banks that cannot recognise them.
  const nextMonth = syntheticTransactions({
    banks: specs.map((b) => ({ ...b, customers: Math.round(b.customers / 2), patterns: FRAUD_PATTERNS })),
    days: 30,
    seed: o.seed + 1000,
  });
  const silos = data.map(splitBank);
  for (const t of data) {
    const frauds = labelsOf(t.dataset).reduce((a, b) => a + b, 0);
    log(
      `${t.name}: ${t.dataset.length.toLocaleString('en')} transactions, ${frauds} fraud (${t.patterns.join(', ')})`,
    );
  }

  const { mean, std } = sharedScaling(silos);
  const recipe: CrossSiloRecipe = {
    spec: sequential([standardize(mean, std), dense(32), relu(), dense(32), relu(), dense(2)], {
      inputShape: [TRANSACTION_FEATURES.length],
      seed: o.seed,
      name: 'fraud-mlp',
    }),
    loss: 'softmaxCrossEntropy',
    // Fraud is ~0.5% of the rows: weighting it 20× keeps the gradient from ignoring it.
    classWeights: [1, 20],
    optimizer: adam({ lr: 0.002 }),
    lr: 0.002,
    batchSize: 64,
    epochs: o.epochs,
    rounds: o.rounds,
    local: { steps: o.localSteps },
    seed: o.seed,
    secureAggregationRange: o.secureAggregationRange ?? 4,
  };

  const seconds = { alone: 0, FedAvg: 0, FedProx: 0, pooled: 0 } as Record<Way, number>;
  const models = new Map<string, ParameterSet>();
  let started = performance.now();
  for (const silo of silos) {
    models.set(`alone ${silo.name}`, await trainAlone(recipe, silo, platform));
    log(
      `${silo.name} alone: trained ${recipe.epochs} epochs on its own ${silo.train.length.toLocaleString('en')} transactions`,
    );
  }
  seconds.alone = (performance.now() - started) / 1000;

  // Two federated runs: FedAvg, and FedProx, whose proximal term holds each bank's local training
  // near the global model — the banks' fraud differs, and plain local training drifts apart.
  const runs = {} as Record<'FedAvg' | 'FedProx', FederatedTraining>;
  for (const way of ['FedAvg', 'FedProx'] as const) {
    started = performance.now();
    const r = way === 'FedProx' ? { ...recipe, proximalMu: o.proximalMu } : recipe;
    runs[way] = await trainFederated(r, silos, platform, (record) =>
      log(
        `${way} round ${record.round}/${recipe.rounds}: ${record.aggregated} banks in the secure sum, ` +
          `training loss ${record.trainLoss?.toFixed(4) ?? '—'}, ${record.seconds.toFixed(1)} s`,
      ),
    );
    models.set(way, runs[way].parameters);
    seconds[way] = (performance.now() - started) / 1000;
  }
  const federated = runs.FedProx;

  started = performance.now();
  models.set('pooled', await trainPooled(recipe, silos, platform));
  seconds.pooled = (performance.now() - started) / 1000;
  log(
    `pooled: trained on all ${silos.reduce((n, s) => n + s.train.length, 0).toLocaleString('en')} training transactions (the upper bound)`,
  );

  const figures: BankFigures[] = [];
  for (const [b, silo] of silos.entries()) {
    const seen = data[b].patterns.map((p) => FRAUD_PATTERNS.indexOf(p));
    const next = nextMonth[b].dataset;
    const unseen = restrictTo(nextMonth[b], (p) => !seen.includes(p));
    const labels = {
      validation: labelsOf(silo.validation),
      test: labelsOf(silo.test),
      next: labelsOf(next),
      unseen: labelsOf(unseen),
    };
    for (const way of WAYS) {
      const params = models.get(way === 'alone' ? `alone ${silo.name}` : way)!;
      const [validation, test, nextMonth, unseenScores] = await positiveScores(
        recipe.spec,
        params,
        [silo.validation, silo.test, next, unseen],
        platform,
      );
      const scores = { validation, test, next: nextMonth, unseen: unseenScores };
      // Each bank sets its own operating point on its validation data: the threshold that catches
      // the target share of the fraud there.
      const threshold = atRecall(scores.validation, labels.validation, o.targetRecall).threshold;
      const atNext = confusionAt(scores.next, labels.next, threshold);
      const curve = binaryCurve(scores.next, labels.next);
      figures.push({
        bank: silo.name,
        way,
        averagePrecision: averagePrecision(scores.next, labels.next),
        f1: atNext.f1,
        precision: atNext.precision,
        recall: atNext.recall,
        unseenRecall: confusionAt(scores.unseen, labels.unseen, threshold).recall,
        ownAveragePrecision: averagePrecision(scores.test, labels.test),
        curve: curve.filter((p, i) => i === 0 || p.recall !== curve[i - 1].recall),
      });
    }
  }
  return {
    options: o,
    banks: data.map((t) => ({
      name: t.name,
      patterns: t.patterns,
      transactions: t.dataset.length,
      frauds: labelsOf(t.dataset).reduce((a, b) => a + b, 0),
    })),
    figures,
    history: federated.history,
    federated: { spec: recipe.spec, parameters: federated.parameters },
    federatedModel: exportInferenceModel(recipe.spec, federated.parameters, {
      labels: ['legitimate', 'fraud'],
      metadata: { 'edgefl.features': JSON.stringify(TRANSACTION_FEATURES) },
    }),
    seconds,
  };
}

type Figure = 'averagePrecision' | 'f1' | 'unseenRecall' | 'ownAveragePrecision';

/** The mean of a figure over the banks, for one way of training. */
export function meanOver(result: FraudResult, way: Way, figure: Figure): number {
  const rows = result.figures.filter((f) => f.way === way);
  return rows.reduce((a, f) => a + f[figure], 0) / rows.length;
}

/** FLARE's fraud study: F1 local 0.64, FedAvg 0.90, centralized 0.93 — what our shape is beside it. */
function shapeAgainstFlare(alone: number, federated: number, pooled: number): string {
  const closedGap = (federated - alone) / (pooled - alone);
  if (federated > alone && Number.isFinite(closedGap) && closedGap >= 0.5)
    return `the same shape: federated above a bank alone and ${Math.round(closedGap * 100)}% of the way to pooled (FLARE: 90%)`;
  if (federated > alone)
    return `federated above a bank alone but only ${Math.round(closedGap * 100)}% of the way to pooled (FLARE: 90%)`;
  return 'not the same shape: federated is not above a bank alone';
}

export async function writeReport(
  result: FraudResult,
  run: Pick<ExampleRun, 'report' | 'command'>,
): Promise<void> {
  const { report } = run;
  const f = result.figures;
  const o = result.options;
  const recall = `${Math.round(o.targetRecall * 100)}%`;
  const bars = (figure: Figure): Bar[] => f.map((x) => ({ group: x.bank, series: x.way, value: x[figure] }));
  const ap = await report.chart(
    'average-precision',
    barChart(bars('averagePrecision'), {
      title: 'Fraud detection in each bank’s next month, when every fraud pattern reaches it',
      yTitle: 'average precision (area under the PR curve)',
      yDomain: [0, 1],
      seriesOrder: WAYS,
    }),
    'average precision per bank in its next month: alone, federated, pooled',
  );
  const unseen = await report.chart(
    'unseen-patterns',
    barChart(bars('unseenRecall'), {
      title: 'Fraud of the kinds a bank has never seen itself: the share caught',
      yTitle: `recall at the bank’s threshold (set for ${recall} on validation)`,
      yDomain: [0, 1],
      seriesOrder: WAYS,
    }),
    'recall on the fraud patterns a bank has never seen, per bank',
  );
  const own = await report.chart(
    'own-patterns',
    barChart(bars('ownAveragePrecision'), {
      title: 'The fraud a bank already knows: held-out transactions of the training period',
      yTitle: 'average precision (area under the PR curve)',
      yDomain: [0, 1],
      seriesOrder: WAYS,
    }),
    'average precision per bank on its own fraud patterns',
  );
  const points: LinePoint[] = f.flatMap((x) =>
    x.curve.map((p) => ({ x: p.recall, y: p.precision, series: x.way, panel: x.bank })),
  );
  const pr = await report.chart(
    'precision-recall',
    lineChart(points, {
      title: 'Precision-recall curves in each bank’s next month',
      xTitle: 'recall (share of fraud caught)',
      yTitle: 'precision (share of alerts that are fraud)',
      xDomain: [0, 1],
      yDomain: [0, 1],
      step: true,
      panels: { columns: 2 },
      seriesOrder: WAYS,
    }),
    'precision-recall curves per bank',
  );
  await report.write('fraud-model.onnx', result.federatedModel);
  const mean = (way: Way, figure: Figure) => meanOver(result, way, figure).toFixed(3);
  const means = (figure: Figure) => WAYS.map((w) => `${w} ${mean(w, figure)}`).join(', ');
  const f1 = (way: Way) => meanOver(result, way, 'f1');
  const md = [
    '# Banks detecting fraud together',
    '',
    `Four banks train one fraud detector without sharing a transaction: ${o.rounds} rounds of ` +
      `${o.localSteps} local steps (batches of 64), every update masked by secure aggregation so the server ` +
      'learns only their sum — with FedAvg, and with FedProx (μ = ' +
      `${o.proximalMu}), whose proximal term keeps each bank’s local training near the global model: the banks’ ` +
      'fraud differs, and plain local training drifts apart. Compared with each bank training alone, and with one ' +
      'model on all the banks’ data pooled (which no bank could build: the upper bound), both trained ' +
      `${o.epochs} epochs.`,
    '',
    `Reproduce: \`${run.command}\``,
    '',
    '## The banks',
    '',
    'Synthetic transactions from edgefl’s seeded generator (`syntheticTransactions`): per-bank customer populations ' +
      'with their own spending, hours, trips abroad and transfers; fraud under 1%, and legitimate look-alikes of ' +
      'every fraud pattern so that no single feature gives it away. In the training period each bank suffers two ' +
      'of the four patterns.',
    '',
    markdownTable(
      ['bank', 'transactions', 'fraud', 'fraud patterns it has seen'],
      result.banks.map((b) => [
        b.name,
        b.transactions.toLocaleString('en'),
        String(b.frauds),
        b.patterns.join(', '),
      ]),
    ),
    '',
    'Each bank’s rows are split by customer: 60% train, 20% validation (where the bank sets its alert threshold to ' +
      `catch ${recall} of the fraud), 20% test. Then comes each bank’s next month (new customers, 30 days) in ` +
      'which all four patterns occur: fraudsters move on to the banks that cannot recognise them. ' +
      'The model: the shared input scaling (the banks pool per-feature means and variances, no transaction), then ' +
      'a 32-32 MLP, fraud weighted 20× in the loss.',
    '',
    '## The next month',
    '',
    ap,
    '',
    markdownTable(
      ['bank', 'way', 'average precision', 'F1', 'precision', 'recall', 'recall on unseen patterns'],
      f.map((x) => [x.bank, x.way, x.averagePrecision, x.f1, x.precision, x.recall, x.unseenRecall]),
    ),
    '',
    `Mean over the banks — average precision: ${means('averagePrecision')}; F1 at the bank’s threshold: ` +
      `${means('f1')}. NVIDIA FLARE’s credit-card fraud study reports F1 0.64 local, 0.90 FedAvg, 0.93 centralized; ` +
      `here, with FedAvg: ${shapeAgainstFlare(f1('alone'), f1('FedAvg'), f1('pooled'))}; with FedProx: ` +
      `${shapeAgainstFlare(f1('alone'), f1('FedProx'), f1('pooled'))}.`,
    '',
    pr,
    '',
    '### The fraud a bank has never seen',
    '',
    unseen,
    '',
    `The share of the next month’s fraud of the two patterns a bank had not met, caught at the threshold it already ` +
      `uses (mean: ${means('unseenRecall')}). Federated, the other banks’ experience is in the model — without ` +
      'their transactions.',
    '',
    '### The fraud a bank already knows',
    '',
    own,
    '',
    `On held-out transactions of the training period, where only a bank’s own patterns occur (mean average ` +
      `precision: ${means('ownAveragePrecision')}). A model of its own fraud alone is the specialist here; a shared ` +
      'model spreads its capacity over every pattern. The price of collaboration is this gap, its gain the next month.',
    '',
    '## The federated run (FedProx)',
    '',
    markdownTable(
      ['round', 'banks in the secure sum', 'training loss', 'seconds'],
      result.history.map((r) => [String(r.round), String(r.aggregated), r.trainLoss ?? NaN, r.seconds]),
      3,
    ),
    '',
    `Training time on this machine: alone (four banks) ${result.seconds.alone.toFixed(0)} s, FedAvg ` +
      `${result.seconds.FedAvg.toFixed(0)} s, FedProx ${result.seconds.FedProx.toFixed(0)} s, pooled ` +
      `${result.seconds.pooled.toFixed(0)} s.`,
    '',
    '## The model',
    '',
    '`fraud-model.onnx`: the federated model (FedProx). It takes the raw transaction features (their names are in its ' +
      'metadata, `edgefl.features`; the scaling is inside the model) and returns the probabilities of legitimate ' +
      'and fraud. It runs wherever ONNX Runtime runs; `npx edgefl optimize --int8` makes it smaller.',
  ].join('\n');
  await report.finish(md);
}

export async function main(run: ExampleRun): Promise<void> {
  const result = await fraudStudy({ ...(run.full ? FULL : QUICK), seed: run.seed }, nodePlatform(), run.log);
  await writeReport(result, run);
}

if (isMain(import.meta.url))
  await runExample({
    name: 'fraud',
    summary: 'banks with different fraud patterns train one detector under secure aggregation',
    run: main,
  });
