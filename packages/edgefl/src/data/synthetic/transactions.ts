/**
 * Card transactions of several banks, with fraud, made up from a seed. No real fraud data may be
 * shipped, so this generator stands in for it — documented, so that what a model learns from it is
 * known. Each bank has its own customers: where they live, how much and where they usually spend,
 * at which hours. Legitimate transactions follow a customer's habits. Fraud (well under 1%) comes in
 * four patterns, and each bank sees only some of them — the reason banks gain by learning
 * together: a pattern a bank has never seen can be caught with what another bank's data taught.
 *
 *  - card testing: bursts of small online payments at merchants the customer never uses;
 *  - account takeover: large payments at night, far from home, in a category new to the customer;
 *  - skimmed card abroad: card-present payments in another country, in electronics and jewellery;
 *  - money mule: transfers to money-transfer services in quick succession, at the customer's usual hours.
 *
 * Legitimate customers do each of these things too, now and then — a big purchase, a run of small
 * app-store payments, regular transfers, a trip abroad, a life at night — so no single feature gives
 * fraud away.
 *
 * Features (float32, one row a transaction) are what a bank computes from its own records:
 * log amount, the amount against the customer's usual spend, hour of day (sine and cosine), whether
 * online, whether abroad, log distance from home, log hours since the customer's previous
 * transaction, transactions in the hour before, and the merchant category (one-hot).
 */
import { Rng } from '../../util/rng.js';
import { ArrayDataset } from '../dataset.js';

export const MERCHANT_CATEGORIES = [
  'groceries',
  'restaurants',
  'fuel',
  'transport',
  'clothing',
  'electronics',
  'jewellery',
  'travel',
  'entertainment',
  'health',
  'online services',
  'money transfer',
] as const;

export const FRAUD_PATTERNS = [
  'card testing',
  'account takeover',
  'skimmed card abroad',
  'money mule',
] as const;
export type FraudPattern = (typeof FRAUD_PATTERNS)[number];

export const TRANSACTION_FEATURES: readonly string[] = [
  'log amount',
  'log amount / usual',
  'hour (sin)',
  'hour (cos)',
  'online',
  'abroad',
  'log km from home',
  'log hours since previous',
  'transactions in the hour before',
  ...MERCHANT_CATEGORIES.map((c) => `category: ${c}`),
];

export interface BankSpec {
  name: string;
  customers: number;
  /** The fraud patterns this bank's customers suffer (the others never occur at this bank). */
  patterns: readonly FraudPattern[];
  /** Share of transactions that are fraud (default 0.005). */
  fraudRate?: number;
}

export interface TransactionOptions {
  banks: readonly BankSpec[];
  /** Days of activity (default 60). */
  days?: number;
  seed: number;
}

export interface BankTransactions {
  name: string;
  /** Features [TRANSACTION_FEATURES.length] float32; labels int32: 1 fraud, 0 legitimate. */
  dataset: ArrayDataset;
  /** Each transaction's fraud pattern (an index into FRAUD_PATTERNS), or -1 when legitimate. */
  pattern: Int8Array;
  patterns: readonly FraudPattern[];
}

interface Customer {
  /** Median payment (lognormal). */
  usual: number;
  /** Preferred categories: cumulative weights over MERCHANT_CATEGORIES. */
  categories: Float64Array;
  /** Payments a day. */
  rate: number;
  /** Hour around which the customer is active. */
  peakHour: number;
  onlineShare: number;
  /** Days (start, length) the customer travels abroad: legitimate payments far away. */
  trip?: { start: number; days: number };
  /** Sends money regularly (rent, family abroad): legitimate transfers. */
  sendsMoney: boolean;
}

interface Row {
  /** Hours since the start. */
  t: number;
  amount: number;
  category: number;
  online: boolean;
  abroad: boolean;
  km: number;
  pattern: number;
}

const FEATURES = TRANSACTION_FEATURES.length;
const MONEY_TRANSFER = MERCHANT_CATEGORIES.indexOf('money transfer');
const ONLINE_SERVICES = MERCHANT_CATEGORIES.indexOf('online services');
const ELECTRONICS = MERCHANT_CATEGORIES.indexOf('electronics');
const JEWELLERY = MERCHANT_CATEGORIES.indexOf('jewellery');
const HOUR = 1;
const DAY = 24;

export function syntheticTransactions(o: TransactionOptions): BankTransactions[] {
  if (o.banks.length === 0) throw new RangeError('syntheticTransactions: give at least one bank');
  const days = o.days ?? 60;
  if (!(Number.isInteger(days) && days >= 1))
    throw new RangeError(`days must be a positive integer, got ${days}`);
  return o.banks.map((bank, b) => {
    if (!(Number.isInteger(bank.customers) && bank.customers >= 1))
      throw new RangeError(
        `bank '${bank.name}': customers must be a positive integer, got ${bank.customers}`,
      );
    const fraudRate = bank.fraudRate ?? 0.005;
    if (!(fraudRate >= 0 && fraudRate < 0.1))
      throw new RangeError(`bank '${bank.name}': fraudRate must be in [0, 0.1), got ${fraudRate}`);
    for (const p of bank.patterns)
      if (!FRAUD_PATTERNS.includes(p))
        throw new RangeError(
          `bank '${bank.name}': unknown fraud pattern '${p}' (known: ${FRAUD_PATTERNS.join(', ')})`,
        );
    const rng = new Rng(o.seed * 7919 + b * 104729 + 1);
    return generateBank(bank, days, fraudRate, rng);
  });
}

function customerOf(rng: Rng): Customer {
  const weights = Float64Array.from(
    MERCHANT_CATEGORIES,
    (_, i) =>
      // Everyday categories are common, the rest rarer; each customer has their own mix.
      (i < 4 ? 3 : i === MONEY_TRANSFER ? 0.15 : 1) * -Math.log(1 - rng.uniform()),
  );
  let sum = 0;
  for (let i = 0; i < weights.length; i++) weights[i] = sum += weights[i];
  for (let i = 0; i < weights.length; i++) weights[i] /= sum;
  return {
    usual: Math.exp(3 + 0.6 * rng.normal()),
    categories: weights,
    rate: 0.5 + 2.5 * rng.uniform(),
    // Some customers live at night.
    peakHour: rng.uniform() < 0.1 ? 23 + 4 * rng.uniform() : 9 + 10 * rng.uniform(),
    onlineShare: 0.05 + 0.4 * rng.uniform(),
    ...(rng.uniform() < 0.15 ? { trip: { start: rng.uniform(), days: 3 + rng.int(10) } } : {}),
    sendsMoney: rng.uniform() < 0.1,
  };
}

function pick(cumulative: Float64Array, u: number): number {
  let i = 0;
  while (i < cumulative.length - 1 && u > cumulative[i]) i++;
  return i;
}

function generateBank(bank: BankSpec, days: number, fraudRate: number, rng: Rng): BankTransactions {
  const customers = Array.from({ length: bank.customers }, () => customerOf(rng));
  // Each customer's own stream: legitimate payments, then frauds inserted into it.
  const rows: { c: number; r: Row }[] = [];
  customers.forEach((cust, c) => {
    const tripStart = cust.trip ? Math.floor(cust.trip.start * days) * DAY : Infinity;
    const tripEnd = cust.trip ? tripStart + cust.trip.days * DAY : -Infinity;
    let t = rng.uniform() * DAY;
    while (t < days * DAY) {
      t += -Math.log(1 - rng.uniform()) * (DAY / cust.rate);
      const hour = (((cust.peakHour + 3 * rng.normal()) % DAY) + DAY) % DAY;
      const at = Math.floor(t / DAY) * DAY + hour;
      const online = rng.uniform() < cust.onlineShare;
      const travelling = at >= tripStart && at < tripEnd;
      const u = rng.uniform();
      // Legitimate look-alikes of each fraud pattern, so that no single feature gives fraud away:
      // a big purchase now and then, runs of small app-store payments, transfers, a trip abroad.
      const big = u < 0.01;
      const smallOnline = !big && u < 0.03;
      const transfer = !big && !smallOnline && cust.sendsMoney && u < 0.08;
      const category = transfer
        ? MONEY_TRANSFER
        : smallOnline
          ? ONLINE_SERVICES
          : big
            ? [ELECTRONICS, JEWELLERY, MERCHANT_CATEGORIES.indexOf('travel')][rng.int(3)]
            : pick(cust.categories, rng.uniform());
      const amount = smallOnline
        ? 0.5 + 5 * rng.uniform()
        : cust.usual * Math.exp(0.5 * rng.normal()) * (big ? 5 + 10 * rng.uniform() : transfer ? 3 : 1);
      const burst = smallOnline && rng.uniform() < 0.5 ? 1 + rng.int(3) : 0;
      for (let k = 0; k <= burst; k++) {
        const isOnline = online || smallOnline || transfer;
        rows.push({
          c,
          r: {
            t: at + k * (0.02 + 0.2 * rng.uniform()),
            amount: k === 0 ? amount : 0.5 + 5 * rng.uniform(),
            category,
            online: isOnline,
            abroad: travelling || rng.uniform() < 0.005,
            km: isOnline ? 0 : travelling ? 500 + 4000 * rng.uniform() : Math.abs(2 + 3 * rng.normal()),
            pattern: -1,
          },
        });
      }
    }
  });
  const legitimate = rows.length;
  const frauds = bank.patterns.length ? Math.round((legitimate * fraudRate) / (1 - fraudRate)) : 0;
  for (let f = 0; f < frauds;) {
    const c = rng.int(customers.length);
    const cust = customers[c];
    const p = FRAUD_PATTERNS.indexOf(bank.patterns[rng.int(bank.patterns.length)]);
    const start = rng.uniform() * days * DAY;
    const events = fraudEvents(p, cust, start, rng);
    for (const r of events.slice(0, frauds - f)) rows.push({ c, r });
    f += events.length;
  }
  // In time order per customer, as a bank's records are; the history features need it.
  rows.sort((a, b) => a.c - b.c || a.r.t - b.r.t);
  const n = rows.length;
  const features = new Float32Array(n * FEATURES);
  const labels = new Int32Array(n);
  const pattern = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const { c, r } = rows[i];
    const cust = customers[c];
    let previous = Infinity;
    let lastHour = 0;
    for (let j = i - 1; j >= 0 && rows[j].c === c; j--) {
      const gap = r.t - rows[j].r.t;
      if (previous === Infinity) previous = gap;
      if (gap <= HOUR) lastHour++;
      else break;
    }
    const f = features.subarray(i * FEATURES, (i + 1) * FEATURES);
    const angle = (2 * Math.PI * (((r.t % DAY) + DAY) % DAY)) / DAY;
    f[0] = Math.log1p(r.amount);
    f[1] = Math.log(r.amount / cust.usual);
    f[2] = Math.sin(angle);
    f[3] = Math.cos(angle);
    f[4] = r.online ? 1 : 0;
    f[5] = r.abroad ? 1 : 0;
    f[6] = Math.log1p(r.km);
    f[7] = Math.log1p(Math.min(previous, 30 * DAY));
    f[8] = lastHour;
    f[9 + r.category] = 1;
    labels[i] = r.pattern >= 0 ? 1 : 0;
    pattern[i] = r.pattern;
  }
  return {
    name: bank.name,
    dataset: new ArrayDataset({
      features,
      labels,
      featureShape: [FEATURES],
      labelShape: [],
      classes: ['legitimate', 'fraud'],
    }),
    pattern,
    patterns: bank.patterns,
  };
}

/** One fraud episode of pattern `p` against a customer, starting at hour `start`. */
function fraudEvents(p: number, cust: Customer, start: number, rng: Rng): Row[] {
  // The category the customer uses least (money transfers aside: they are the mule pattern's).
  const unusual = () => {
    let best = 0;
    let bestShare = Infinity;
    for (let i = 0; i < MERCHANT_CATEGORIES.length; i++) {
      const share = cust.categories[i] - (i > 0 ? cust.categories[i - 1] : 0);
      if (i !== MONEY_TRANSFER && share < bestShare) [best, bestShare] = [i, share];
    }
    return best;
  };
  switch (FRAUD_PATTERNS[p]) {
    case 'card testing': {
      const k = 3 + rng.int(4);
      return Array.from({ length: k }, (_, i) => ({
        t: start + i * (0.02 + 0.1 * rng.uniform()),
        amount: 0.5 + 4 * rng.uniform(),
        category: rng.uniform() < 0.6 ? ONLINE_SERVICES : unusual(),
        online: true,
        abroad: rng.uniform() < 0.3,
        km: 0,
        pattern: p,
      }));
    }
    case 'account takeover': {
      const night = Math.floor(start / DAY) * DAY + 1 + 4 * rng.uniform();
      return [
        {
          t: night,
          amount: cust.usual * (8 + 20 * rng.uniform()),
          category: unusual(),
          online: rng.uniform() < 0.5,
          abroad: rng.uniform() < 0.2,
          km: 200 + 2000 * rng.uniform(),
          pattern: p,
        },
      ];
    }
    case 'skimmed card abroad': {
      const k = 1 + rng.int(3);
      return Array.from({ length: k }, (_, i) => ({
        t: start + i * (1 + 3 * rng.uniform()),
        amount: cust.usual * (3 + 8 * rng.uniform()),
        category: rng.uniform() < 0.6 ? ELECTRONICS : JEWELLERY,
        online: false,
        abroad: true,
        km: 800 + 5000 * rng.uniform(),
        pattern: p,
      }));
    }
    default: {
      // money mule: at the customer's usual hours, so time of day does not give it away
      const hour = Math.floor(start / DAY) * DAY + cust.peakHour;
      const k = 2 + rng.int(3);
      return Array.from({ length: k }, (_, i) => ({
        t: hour + i * (0.1 + 0.3 * rng.uniform()),
        amount: cust.usual * (2 + 4 * rng.uniform()),
        category: MONEY_TRANSFER,
        online: true,
        abroad: false,
        km: 0,
        pattern: p,
      }));
    }
  }
}
