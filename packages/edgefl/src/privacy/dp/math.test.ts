import { test } from 'node:test';
import assert from 'node:assert/strict';
import { erfc, logAdd, logErfc, logExpm1, logSub } from './math.js';

function assertRelClose(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(err <= rel, `${what}: got ${actual}, expected ${expected} (relative error ${err} > ${rel})`);
}

test('logAdd and logSub agree with direct arithmetic where that is safe', () => {
  for (const [x, y] of [
    [3, 5],
    [0.25, 1e-9],
    [1e3, 1e3],
  ]) {
    assertRelClose(logAdd(Math.log(x), Math.log(y)), Math.log(x + y), 1e-14, `logAdd(${x}, ${y})`);
    if (x > y) assertRelClose(logSub(Math.log(x), Math.log(y)), Math.log(x - y), 1e-13, `logSub(${x}, ${y})`);
  }
  // -Infinity is zero: adding or subtracting it changes nothing.
  assert.equal(logAdd(-Infinity, 2), 2);
  assert.equal(logAdd(2, -Infinity), 2);
  assert.equal(logSub(2, -Infinity), 2);
  assert.equal(logSub(2, 2), -Infinity);
});

test('logAdd and logSub do not overflow where exp() would', () => {
  // log(e^1000 + e^1000) = 1000 + log 2; log(e^1001 - e^1000) = 1000 + log(e - 1).
  assertRelClose(logAdd(1000, 1000), 1000 + Math.LN2, 1e-15, 'logAdd(1000, 1000)');
  assertRelClose(logSub(1001, 1000), 1000 + Math.log(Math.E - 1), 1e-15, 'logSub(1001, 1000)');
  // Nearly equal arguments: log(e^(b+h) - e^b) = b + log(expm1(h)); h is taken as the exactly
  // representable difference so the closed form is evaluated at the same point.
  const a = 5 + 1e-10;
  const h = a - 5;
  assertRelClose(logSub(a, 5), 5 + Math.log(Math.expm1(h)), 1e-14, 'logSub near-cancellation');
});

test('logSub refuses a negative difference, naming the arguments', () => {
  assert.throws(() => logSub(1, 2), /needs a >= b.*a=1, b=2/);
});

test('logExpm1 matches log(e^x - 1) near zero and for large x', () => {
  assertRelClose(logExpm1(1e-12), Math.log(1e-12), 1e-12, 'logExpm1(1e-12)'); // e^x - 1 ~ x
  assertRelClose(logExpm1(2), Math.log(Math.exp(2) - 1), 1e-15, 'logExpm1(2)');
  assert.equal(logExpm1(800), 800); // e^800 overflows a double; log(e^800 - 1) = 800 to double precision
  assert.throws(() => logExpm1(0), /x > 0/);
});

// Reference values: mpmath.erfc at 40 significant digits (an independent arbitrary-precision
// library), rounded to the nearest double.
const ERFC_REFERENCE: [number, number][] = [
  [0.5, 0.4795001221869535],
  [1, 0.15729920705028513],
  [2, 0.004677734981047266],
  [3, 0.00002209049699858544],
  [5, 1.537459794428035e-12],
  [10, 2.088487583762545e-45],
  [-1.5, 1.9661051464753108],
];

test('erfc matches arbitrary-precision reference values to ~1e-14', () => {
  assert.equal(erfc(0), 1);
  for (const [x, expected] of ERFC_REFERENCE) {
    assertRelClose(erfc(x), expected, 2e-14, `erfc(${x})`);
    assertRelClose(Math.exp(logErfc(x)), expected, 2e-14, `exp(logErfc(${x}))`);
  }
});

test('erfc(-x) = 2 - erfc(x)', () => {
  for (const x of [0.1, 0.7, 1.9, 2.1, 4]) {
    assertRelClose(erfc(-x), 2 - erfc(x), 1e-15, `erfc(-${x})`);
  }
});

test('logErfc stays finite and exact far in the tail, where erfc underflows', () => {
  // mpmath reference (40 digits, rounded to double): log(erfc(26)), log(erfc(30)), log(erfc(100)).
  assertRelClose(logErfc(26), -679.8311997631943, 1e-15, 'logErfc(26)');
  assertRelClose(logErfc(30), -903.9741171106439, 1e-15, 'logErfc(30)');
  assertRelClose(logErfc(100), -10005.177585122665, 1e-15, 'logErfc(100)');
  assert.equal(erfc(30), 0); // the direct value underflows: that is why logErfc exists
  // Closed-form check, independent of any table: the asymptotic expansion (Abramowitz & Stegun
  // 7.1.23) log erfc(x) = -x^2 - log(x sqrt(pi)) + log(1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6) + ...).
  for (const x of [40, 1e3, 1e6]) {
    const x2 = x * x;
    const series = 1 - 1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2);
    const expected = -x2 - Math.log(x * Math.sqrt(Math.PI)) + Math.log(series);
    assertRelClose(logErfc(x), expected, 1e-15, `logErfc(${x})`);
  }
  assert.equal(logErfc(Infinity), -Infinity);
});

test('logErfc keeps relative precision near zero, where erfc(x) ~ 1 - 2x/sqrt(pi)', () => {
  const x = 1e-9;
  assertRelClose(logErfc(x), (-2 * x) / Math.sqrt(Math.PI), 1e-8, 'logErfc(1e-9)');
  assertRelClose(logErfc(-x), (2 * x) / Math.sqrt(Math.PI), 1e-8, 'logErfc(-1e-9)');
});
