/**
 * Hospitals that train a diagnostic model together without sharing a patient record.
 *
 * The Breast Cancer Wisconsin (Diagnostic) data — 569 cases, 30 measurements of cell nuclei from a
 * fine-needle aspirate, benign or malignant — are divided among four hospitals with different case
 * mixes: a screening clinic that sees mostly small, benign masses, two general hospitals, and a
 * cancer centre that sees the large, malignant ones. Each hospital alone has a skewed view; trained
 * federated under secure aggregation (no hospital's update is ever seen), the model learns from all
 * of them. The data ship inside Debian's python3-sklearn package, which edgefl fetches with
 * `apt-get download` and unpacks with `dpkg-deb` (no Python runs).
 *
 *   npx edgefl example hospitals          # 5 random divisions, about a minute on 2 cores
 *   npx edgefl example hospitals --full   # 20 divisions
 *
 * The report: each hospital's ROC-AUC and accuracy on its own held-out patients for the model it
 * trains alone, the federated model and the pooled one (the centralized upper bound), averaged over
 * the divisions; ROC curves; the case mixes; the model.
 */
import {
  Rng,
  SubsetDataset,
  ArrayDataset,
  adam,
  binaryCurve,
  confusionAt,
  dense,
  exportInferenceModel,
  relu,
  rocAuc,
  sequential,
  standardize,
  type ModelSpec,
  type ParameterSet,
  type Platform,
} from 'edgefl';
import { nodePlatform } from '@edgefl/node';
import {
  BREAST_CANCER_CLASSES,
  BREAST_CANCER_FEATURES,
  barChart,
  lineChart,
  loadBreastCancer,
  markdownTable,
  type BreastCancerData,
  type LinePoint,
} from '@edgefl/cli';
import {
  concatenate,
  labelsOf,
  positiveScores,
  sharedScaling,
  trainAlone,
  trainFederated,
  trainPooled,
  type CrossSiloRecipe,
  type Silo,
} from './shared/silos.js';
import { isMain, runExample, type ExampleRun } from './shared/run-example.js';

/** Where each hospital sits in the ranking of tumour size, and so its case mix. */
export const HOSPITALS = [
  { name: 'Screening clinic', share: 0.3 },
  { name: 'General hospital A', share: 0.25 },
  { name: 'General hospital B', share: 0.25 },
  { name: 'Cancer centre', share: 0.2 },
] as const;

export const WAYS = ['alone', 'federated', 'pooled'] as const;
export type Way = (typeof WAYS)[number];

export interface HospitalOptions {
  /** Random divisions of the cases among the hospitals (and of each hospital's train/test split). */
  repetitions: number;
  /** How loosely tumour size decides the hospital: noise added to the standardized log area. */
  mixNoise: number;
  epochs: number;
  rounds: number;
  localEpochs: number;
  seed: number;
}

export const QUICK: Omit<HospitalOptions, 'seed'> = {
  repetitions: 5,
  mixNoise: 0.8,
  epochs: 60,
  rounds: 30,
  localEpochs: 2,
};
export const FULL: Omit<HospitalOptions, 'seed'> = {
  repetitions: 20,
  mixNoise: 0.8,
  epochs: 60,
  rounds: 30,
  localEpochs: 2,
};

export interface HospitalFigures {
  hospital: string;
  way: Way;
  /** Means over the repetitions, on the hospital's own held-out patients. */
  rocAuc: number;
  accuracy: number;
  /** Standard deviations over the repetitions. */
  rocAucSd: number;
  accuracySd: number;
  /**
   * The same model on every hospital's held-out patients together (mean over repetitions): what a
   * hospital's own model is worth for patients unlike its usual ones. The same for every hospital
   * when the way is federated or pooled (one model for all).
   */
  everyoneRocAuc: number;
}

export interface CaseMix {
  hospital: string;
  cases: number;
  malignant: number;
  /** Median of 'area (mean)', square pixels of the digitized image. */
  medianArea: number;
}

export interface HospitalResult {
  options: HospitalOptions;
  source: string;
  /** The first division's case mixes. */
  mixes: CaseMix[];
  figures: HospitalFigures[];
  /** Over all hospitals' held-out patients together, mean over repetitions. */
  overall: Record<Way, { rocAuc: number; accuracy: number }>;
  /** ROC curves of the first division, per hospital and way. */
  curves: LinePoint[];
  federated: { spec: ModelSpec; parameters: ParameterSet };
  federatedModel: Uint8Array;
}

const AREA = BREAST_CANCER_FEATURES.indexOf('area (mean)');
const FEATURES = BREAST_CANCER_FEATURES.length;

/**
 * One division of the cases: ranked by log tumour area plus noise, cut into the hospitals' shares
 * (so the screening clinic sees small masses, mostly benign, and the cancer centre large ones); each
 * hospital's cases split 70% train / 30% test within each diagnosis.
 */
export function divide(data: BreastCancerData, mixNoise: number, seed: number): Silo[] {
  const rng = new Rng(seed);
  const logArea = Array.from({ length: data.cases }, (_, i) => Math.log(data.features[i * FEATURES + AREA]));
  const mean = logArea.reduce((a, b) => a + b, 0) / data.cases;
  const sd = Math.sqrt(logArea.reduce((a, b) => a + (b - mean) ** 2, 0) / data.cases);
  const order = logArea
    .map((v, i) => ({ i, key: (v - mean) / sd + mixNoise * rng.normal() }))
    .sort((a, b) => a.key - b.key)
    .map((r) => r.i);
  const all = new ArrayDataset({
    features: data.features,
    labels: data.labels,
    featureShape: [FEATURES],
    classes: BREAST_CANCER_CLASSES,
  });
  const silos: Silo[] = [];
  let from = 0;
  for (const [h, hospital] of HOSPITALS.entries()) {
    const to = h === HOSPITALS.length - 1 ? data.cases : from + Math.round(hospital.share * data.cases);
    const cases = order.slice(from, to);
    from = to;
    const train: number[] = [];
    const test: number[] = [];
    for (const label of [0, 1]) {
      const of = cases.filter((i) => data.labels[i] === label);
      rng.shuffle(of);
      const cut = Math.round(0.7 * of.length);
      train.push(...of.slice(0, cut));
      test.push(...of.slice(cut));
    }
    const testSet = new SubsetDataset(all, Uint32Array.from(test));
    silos.push({
      name: hospital.name,
      train: new SubsetDataset(all, Uint32Array.from(train)),
      validation: testSet,
      test: testSet,
    });
  }
  return silos;
}

function caseMix(silo: Silo): CaseMix {
  const cases = concatenate([silo.train, silo.test]);
  const labels = Array.from(cases.labels);
  const features = cases.features;
  const areas = Array.from({ length: labels.length }, (_, i) => features[i * FEATURES + AREA]).sort(
    (a, b) => a - b,
  );
  return {
    hospital: silo.name,
    cases: labels.length,
    malignant: labels.filter((l) => l === 1).length,
    medianArea: areas[Math.floor(areas.length / 2)],
  };
}

const meanOf = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sdOf = (v: readonly number[]) => Math.sqrt(meanOf(v.map((x) => (x - meanOf(v)) ** 2)));

export async function hospitalStudy(
  o: HospitalOptions,
  platform: Platform,
  log: (line: string) => void = () => {},
  data?: BreastCancerData,
): Promise<HospitalResult> {
  const cancer = data ?? (await loadBreastCancer());
  log(
    `${cancer.cases} cases (${cancer.labels.reduce((a, b) => a + b, 0)} malignant), ${FEATURES} measurements each`,
  );
  const scores = new Map<string, { auc: number[]; accuracy: number[]; everyone: number[] }>();
  const overall = new Map<Way, { auc: number[]; accuracy: number[] }>(
    WAYS.map((w) => [w, { auc: [], accuracy: [] }]),
  );
  const record = (key: string) =>
    scores.get(key) ?? scores.set(key, { auc: [], accuracy: [], everyone: [] }).get(key)!;
  let mixes: CaseMix[] = [];
  const curves: LinePoint[] = [];
  let federatedModel: { spec: ModelSpec; parameters: ParameterSet } | undefined;

  for (let rep = 0; rep < o.repetitions; rep++) {
    const seed = o.seed * 1000 + rep;
    const silos = divide(cancer, o.mixNoise, seed);
    if (rep === 0) mixes = silos.map(caseMix);
    const { mean, std } = sharedScaling(silos);
    const recipe: CrossSiloRecipe = {
      spec: sequential([standardize(mean, std), dense(16), relu(), dense(2)], {
        inputShape: [FEATURES],
        seed,
        name: 'diagnosis-mlp',
      }),
      loss: 'softmaxCrossEntropy',
      optimizer: adam({ lr: 0.003 }),
      lr: 0.003,
      batchSize: 16,
      epochs: o.epochs,
      rounds: o.rounds,
      local: { epochs: o.localEpochs },
      seed,
      secureAggregationRange: 1,
    };
    const models = new Map<string, ParameterSet>();
    for (const silo of silos) models.set(silo.name, await trainAlone(recipe, silo, platform));
    const federated = await trainFederated(recipe, silos, platform);
    const pooled = await trainPooled(recipe, silos, platform);
    if (rep === 0) federatedModel = { spec: recipe.spec, parameters: federated.parameters };

    const everyone = concatenate(silos.map((h) => h.test));
    const everyoneLabels = labelsOf(everyone);
    const together = new Map<Way, { scores: number[]; labels: number[] }>(
      WAYS.map((w) => [w, { scores: [], labels: [] }]),
    );
    for (const silo of silos) {
      const labels = labelsOf(silo.test);
      for (const way of WAYS) {
        const params =
          way === 'alone' ? models.get(silo.name)! : way === 'federated' ? federated.parameters : pooled;
        const [s, onEveryone] = await positiveScores(recipe.spec, params, [silo.test, everyone], platform);
        const r = record(`${silo.name}|${way}`);
        r.auc.push(rocAuc(s, labels));
        const c = confusionAt(s, labels, 0.5);
        r.accuracy.push((c.tp + c.tn) / labels.length);
        r.everyone.push(rocAuc(onEveryone, everyoneLabels));
        // Each hospital's patients scored by the model it would use: alone, its own.
        together.get(way)!.scores.push(...s);
        together.get(way)!.labels.push(...labels);
        if (rep === 0)
          for (const p of binaryCurve(s, labels))
            curves.push({ x: p.fpr, y: p.recall, series: way, panel: silo.name });
      }
    }
    for (const way of WAYS) {
      const t = together.get(way)!;
      overall.get(way)!.auc.push(rocAuc(t.scores, t.labels));
      const c = confusionAt(t.scores, t.labels, 0.5);
      overall.get(way)!.accuracy.push((c.tp + c.tn) / t.labels.length);
    }
    const last = (way: Way) => overall.get(way)!.auc.at(-1)!.toFixed(3);
    log(
      `division ${rep + 1}/${o.repetitions}: ROC-AUC over all held-out patients — alone ${last('alone')}, ` +
        `federated ${last('federated')} (${federated.history.length} rounds under secure aggregation), pooled ${last('pooled')}`,
    );
  }

  const figures: HospitalFigures[] = HOSPITALS.flatMap((h) =>
    WAYS.map((way) => {
      const r = scores.get(`${h.name}|${way}`)!;
      return {
        hospital: h.name,
        way,
        rocAuc: meanOf(r.auc),
        accuracy: meanOf(r.accuracy),
        rocAucSd: sdOf(r.auc),
        accuracySd: sdOf(r.accuracy),
        everyoneRocAuc: meanOf(r.everyone),
      };
    }),
  );
  return {
    options: o,
    source: cancer.source,
    mixes,
    figures,
    overall: Object.fromEntries(
      WAYS.map((w) => [
        w,
        { rocAuc: meanOf(overall.get(w)!.auc), accuracy: meanOf(overall.get(w)!.accuracy) },
      ]),
    ) as HospitalResult['overall'],
    curves,
    federated: federatedModel!,
    federatedModel: exportInferenceModel(federatedModel!.spec, federatedModel!.parameters, {
      labels: BREAST_CANCER_CLASSES,
      metadata: { 'edgefl.features': JSON.stringify(BREAST_CANCER_FEATURES) },
    }),
  };
}

export async function writeReport(
  result: HospitalResult,
  run: Pick<ExampleRun, 'report' | 'command'>,
): Promise<void> {
  const { report } = run;
  const o = result.options;
  const f = result.figures;
  const auc = await report.chart(
    'roc-auc',
    barChart(
      f.map((x) => ({ group: x.hospital, series: x.way, value: x.rocAuc })),
      {
        title: `Diagnosis at each hospital: ROC-AUC on its own held-out patients (mean of ${o.repetitions} divisions)`,
        yTitle: 'ROC-AUC',
        yDomain: [0.5, 1],
        seriesOrder: WAYS,
        format: '.3f',
      },
    ),
    'ROC-AUC per hospital: alone, federated, pooled',
  );
  const accuracy = await report.chart(
    'accuracy',
    barChart(
      f.map((x) => ({ group: x.hospital, series: x.way, value: x.accuracy })),
      {
        title: 'Accuracy at each hospital at the 0.5 threshold (held-out patients)',
        yTitle: 'accuracy',
        yDomain: [0.5, 1],
        seriesOrder: WAYS,
        format: '.3f',
      },
    ),
    'accuracy per hospital: alone, federated, pooled',
  );
  const roc = await report.chart(
    'roc-curves',
    lineChart(result.curves, {
      // Every model is good on these data: the corner where they differ, not the whole square.
      title: 'ROC curves on each hospital’s held-out patients (first division; the top-left corner)',
      xTitle: 'false-positive rate (benign cases flagged)',
      yTitle: 'sensitivity (malignant cases found)',
      xDomain: [0, 0.25],
      yDomain: [0.75, 1],
      step: true,
      panels: { columns: 2 },
      seriesOrder: WAYS,
    }),
    'ROC curves per hospital',
  );
  const alone = f.filter((x) => x.way === 'alone');
  const shared = (way: Way) => f.find((x) => x.way === way)!.everyoneRocAuc;
  const everyone = await report.chart(
    'every-hospitals-patients',
    barChart(
      [
        ...alone.map((x) => ({
          group: x.hospital,
          series: 'a hospital’s own model',
          value: x.everyoneRocAuc,
        })),
        { group: 'federated', series: 'one model for all', value: shared('federated') },
        { group: 'pooled', series: 'one model for all', value: shared('pooled') },
      ],
      {
        title: 'Each model on every hospital’s held-out patients together',
        yTitle: 'ROC-AUC',
        xTitle: 'the model (trained alone at a hospital, federated, pooled)',
        yDomain: [0.5, 1],
        format: '.3f',
      },
    ),
    'ROC-AUC of each model on all hospitals’ patients',
  );
  await report.write('diagnosis-model.onnx', result.federatedModel);
  const g = (way: Way) => result.overall[way];
  const weakest = [...alone].sort((a, b) => a.rocAuc - b.rocAuc)[0];
  const narrowest = [...alone].sort((a, b) => a.everyoneRocAuc - b.everyoneRocAuc)[0];
  const fedAtWeakest = f.find((x) => x.way === 'federated' && x.hospital === weakest.hospital)!;
  const md = [
    '# Hospitals diagnosing together',
    '',
    `Four hospitals train one model that tells malignant from benign breast masses, without sharing a record: ` +
      `FedAvg for ${o.rounds} rounds of ${o.localEpochs} local epochs, every update masked by secure aggregation ` +
      '(the server learns only the sum of the four). Compared with each hospital training alone and with one model ' +
      `on all the cases pooled (the centralized upper bound, which the hospitals could not legally build). Alone and ` +
      `pooled train ${o.epochs} epochs. Every figure is the mean over ${o.repetitions} random divisions of the cases ` +
      '(± the standard deviation), because a hospital’s held-out set is small.',
    '',
    `Reproduce: \`${run.command}\``,
    '',
    '## The hospitals',
    '',
    'Cases are ranked by the log of the tumour’s mean area plus noise and cut into the hospitals’ shares: the ' +
      'screening clinic sees small masses, mostly benign; the cancer centre large ones, mostly malignant (label ' +
      'skew and feature skew together, as between real referral levels). Each hospital keeps 30% of its cases of ' +
      'each diagnosis as its held-out test set. The first division:',
    '',
    markdownTable(
      ['hospital', 'cases', 'malignant', 'share malignant', 'median tumour area'],
      result.mixes.map((m) => [
        m.hospital,
        String(m.cases),
        String(m.malignant),
        m.malignant / m.cases,
        m.medianArea,
      ]),
      2,
    ),
    '',
    'The model: the shared input scaling (the hospitals pool per-measurement means and variances, no record), ' +
      'then a 16-unit hidden layer. It takes the 30 raw measurements.',
    '',
    '## Results',
    '',
    auc,
    '',
    markdownTable(
      ['hospital', 'way', 'ROC-AUC', '± sd', 'accuracy', '± sd'],
      f.map((x) => [x.hospital, x.way, x.rocAuc, x.rocAucSd, x.accuracy, x.accuracySd]),
    ),
    '',
    `Over all hospitals’ held-out patients together — ROC-AUC: alone (each hospital’s model on its own patients) ` +
      `${g('alone').rocAuc.toFixed(3)}, federated ${g('federated').rocAuc.toFixed(3)}, pooled ${g('pooled').rocAuc.toFixed(3)}; ` +
      `accuracy: ${g('alone').accuracy.toFixed(3)}, ${g('federated').accuracy.toFixed(3)}, ${g('pooled').accuracy.toFixed(3)}. ` +
      `The weakest model alone is the ${weakest.hospital}’s (ROC-AUC ${weakest.rocAuc.toFixed(3)} on its own ` +
      `patients; ${fedAtWeakest.rocAuc.toFixed(3)} federated).`,
    '',
    '### A hospital’s model for patients unlike its own',
    '',
    everyone,
    '',
    `A model trained at one hospital knows its case mix. Scored on every hospital’s held-out patients together, ` +
      `the ${narrowest.hospital}’s own model reaches ROC-AUC ${narrowest.everyoneRocAuc.toFixed(3)}; the ` +
      `federated model ${shared('federated').toFixed(3)}, the pooled one ${shared('pooled').toFixed(3)}. ` +
      'A patient referred from the screening clinic to the cancer centre meets the same model in both.',
    '',
    'This is the comparison FLamby’s cross-silo medical benchmarks (du Terrail et al., 2022; Fed-Heart-Disease: ' +
      'four hospitals, 740 patients, 13 features) are built around: models trained at one centre against FedAvg ' +
      'across the centres and against pooled training, each scored on every centre’s own held-out patients.',
    '',
    accuracy,
    '',
    roc,
    '',
    '## The model',
    '',
    '`diagnosis-model.onnx`: the federated model of the first division. It takes the 30 raw measurements in the ' +
      'order of its `edgefl.features` metadata (the scaling is inside the model) and returns the probabilities of ' +
      'benign and malignant. A research demonstration, not a medical device.',
    '',
    '## The data',
    '',
    result.source,
  ].join('\n');
  await report.finish(md);
}

export async function main(run: ExampleRun): Promise<void> {
  const result = await hospitalStudy(
    { ...(run.full ? FULL : QUICK), seed: run.seed },
    nodePlatform(),
    run.log,
  );
  await writeReport(result, run);
}

if (isMain(import.meta.url))
  await runExample({
    name: 'hospitals',
    summary: 'four hospitals with different case mixes train one diagnostic model under secure aggregation',
    run: main,
  });
