/**
 * `edgefl dp`: the differential-privacy accountant from the command line.
 *
 *   edgefl dp epsilon --sampling-rate 0.01 --noise-multiplier 1.1 --steps 6000 --delta 1e-5
 *   edgefl dp noise   --sampling-rate 0.01 --steps 6000 --delta 1e-5 --epsilon 3
 *
 * Both answer for the sampled Gaussian mechanism (DP-SGD, DP-FedAvg with Poisson client sampling)
 * with the RDP accountant in src/privacy/dp; `--json` prints one machine-readable object.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { epsilon, noiseMultiplierFor, type Conversion } from 'edgefl';

type Writer = (line: string) => void;

// A plain decimal or scientific literal; Number() alone would also accept '', '0x1f' and ' 1 '.
const NUMBER_LITERAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseNumber(value: string, expected: string, ok: (x: number) => boolean): number {
  const x = NUMBER_LITERAL.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(x) || !ok(x)) throw new InvalidArgumentError(`Expected ${expected}.`);
  return x;
}

const probability = (v: string): number => parseNumber(v, 'a probability in [0, 1]', (x) => x >= 0 && x <= 1);
const nonNegative = (v: string): number => parseNumber(v, 'a number >= 0', (x) => x >= 0);
const positive = (v: string): number => parseNumber(v, 'a number > 0', (x) => x > 0);
const openUnit = (v: string): number =>
  parseNumber(v, 'a number in (0, 1), e.g. 1e-5', (x) => x > 0 && x < 1);
const stepCount = (v: string): number =>
  parseNumber(v, 'a whole number of steps >= 0', (x) => Number.isSafeInteger(x) && x >= 0);

/**
 * Six significant digits, exponent notation only for very small or large magnitudes (1e-5, not
 * 0.00001). `round` picks the direction: a printed noise multiplier must be rounded up and a
 * printed epsilon that meets a budget down, or the printed pair could contradict the claim.
 */
function fmt(x: number, round: 'nearest' | 'up' | 'down' = 'nearest'): string {
  if (!Number.isFinite(x) || x === 0) return String(x);
  let y = x;
  if (round !== 'nearest') {
    const unit = 10 ** (Math.floor(Math.log10(Math.abs(x))) - 5);
    y = (round === 'up' ? Math.ceil(x / unit) : Math.floor(x / unit)) * unit;
  }
  const six = Number(y.toPrecision(6));
  const abs = Math.abs(six);
  return abs < 1e-3 || abs >= 1e7 ? six.toExponential() : six.toString();
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

function conversionOption(): Option {
  return new Option(
    '--conversion <kind>',
    'RDP -> (epsilon, delta) conversion: improved (Balle et al. 2020) or classic (Mironov 2017)',
  )
    .choices(['improved', 'classic'])
    .default('improved');
}

/**
 * Adds `dp epsilon` and `dp noise` to `program`. Output lines go to `out` (stdout by default).
 *
 * Commander copies settings such as exitOverride() and configureOutput() to a subcommand only when
 * the subcommand is created; so that callers may configure `program` before or after registering,
 * the settings are copied again when a `dp` command is dispatched.
 */
export function registerDpCommand(
  program: Command,
  out: Writer = (line) => process.stdout.write(`${line}\n`),
): void {
  const dp = program
    .command('dp')
    .description('differential privacy: epsilon spent by DP training, or the noise a budget needs');
  program.hook('preSubcommand', (parent, sub) => {
    if (sub === dp) dp.copyInheritedSettings(parent);
  });
  dp.hook('preSubcommand', (parent, sub) => {
    sub.copyInheritedSettings(parent);
  });

  dp.command('epsilon')
    .description('epsilon after T steps of the sampled Gaussian mechanism (RDP accountant)')
    .requiredOption('--sampling-rate <q>', 'probability that a record (or client) joins a step', probability)
    .requiredOption('--noise-multiplier <z>', 'noise standard deviation / clipping norm', nonNegative)
    .requiredOption('--steps <T>', 'number of steps (or rounds)', stepCount)
    .requiredOption('--delta <d>', 'target delta, e.g. 1e-5 (below 1 / number of records)', openUnit)
    .addOption(conversionOption())
    .option('--json', 'print one JSON object')
    .action(function (this: Command) {
      const o = this.opts<{
        samplingRate: number;
        noiseMultiplier: number;
        steps: number;
        delta: number;
        conversion: Conversion;
        json?: boolean;
      }>();
      const spent = epsilon({
        samplingRate: o.samplingRate,
        noiseMultiplier: o.noiseMultiplier,
        steps: o.steps,
        delta: o.delta,
        conversion: o.conversion,
      });
      if (o.json) {
        out(
          JSON.stringify({
            epsilon: finiteOrNull(spent.epsilon),
            bestOrder: spent.bestOrder,
            delta: o.delta,
            samplingRate: o.samplingRate,
            noiseMultiplier: o.noiseMultiplier,
            steps: o.steps,
            conversion: o.conversion,
          }),
        );
      } else if (Number.isFinite(spent.epsilon)) {
        out(`epsilon = ${fmt(spent.epsilon)} (delta = ${fmt(o.delta)}, best RDP order ${spent.bestOrder})`);
      } else {
        const why =
          o.noiseMultiplier === 0
            ? 'no privacy guarantee without noise'
            : 'no RDP order gives a finite bound';
        out(`epsilon = Infinity (delta = ${fmt(o.delta)}): ${why}`);
      }
    });

  dp.command('noise')
    .description('smallest noise multiplier keeping epsilon within a budget after T steps')
    .requiredOption('--sampling-rate <q>', 'probability that a record (or client) joins a step', probability)
    .requiredOption('--steps <T>', 'number of steps (or rounds)', stepCount)
    .requiredOption('--delta <d>', 'target delta, e.g. 1e-5 (below 1 / number of records)', openUnit)
    .requiredOption('--epsilon <e>', 'the epsilon budget', positive)
    .addOption(conversionOption())
    .option('--json', 'print one JSON object')
    .action(function (this: Command) {
      const o = this.opts<{
        samplingRate: number;
        steps: number;
        delta: number;
        epsilon: number;
        conversion: Conversion;
        json?: boolean;
      }>();
      const query = {
        samplingRate: o.samplingRate,
        steps: o.steps,
        delta: o.delta,
        conversion: o.conversion,
      };
      let z: number;
      try {
        z = noiseMultiplierFor({ ...query, targetEpsilon: o.epsilon });
      } catch (err) {
        // The one failure left after flag validation: a budget no noise level can meet.
        this.error(`error: --epsilon ${o.epsilon}: ${(err as Error).message}`, {
          code: 'edgefl.dp.unreachable',
        });
      }
      const achieved = epsilon({ ...query, noiseMultiplier: z });
      if (o.json) {
        out(
          JSON.stringify({
            noiseMultiplier: z,
            epsilon: achieved.epsilon,
            bestOrder: achieved.bestOrder,
            targetEpsilon: o.epsilon,
            delta: o.delta,
            samplingRate: o.samplingRate,
            steps: o.steps,
            conversion: o.conversion,
          }),
        );
      } else {
        const budget = `epsilon <= ${fmt(o.epsilon)} at delta = ${fmt(o.delta)}`;
        const there = `epsilon there ${fmt(achieved.epsilon, 'down')}, best RDP order ${achieved.bestOrder}`;
        out(`noise multiplier = ${fmt(z, 'up')} (smallest with ${budget}; ${there})`);
      }
    });
}
