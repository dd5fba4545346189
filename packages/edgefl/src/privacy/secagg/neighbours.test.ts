import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binomialBelow, majorityThreshold, NeighbourGraph, planNeighbourhood } from './neighbours.js';

const roundA = new Uint8Array(32).fill(1);
const roundB = new Uint8Array(32).fill(2);

function edges(g: NeighbourGraph): string {
  const out: string[] = [];
  for (let i = 0; i < g.size; i++) out.push(g.neighboursOf(i).join(','));
  return out.join(';');
}

test('the graph is k-regular and symmetric, for even and odd k', () => {
  for (const [n, k] of [
    [10, 4],
    [10, 3],
    [11, 4],
    [50, 7],
    [100, 11],
  ]) {
    const g = new NeighbourGraph(n, k, roundA);
    for (let i = 0; i < n; i++) {
      const around = g.neighboursOf(i);
      assert.equal(around.length, k, `n=${n} k=${k}: client ${i} has ${around.length} neighbours`);
      assert.ok(!around.includes(i));
      for (const j of around) {
        assert.ok(g.areNeighbours(i, j) && g.areNeighbours(j, i));
        assert.ok(g.neighboursOf(j).includes(i), 'symmetric');
      }
      let count = 0;
      for (let j = 0; j < n; j++) if (g.areNeighbours(i, j)) count++;
      assert.equal(count, k, 'areNeighbours agrees with neighboursOf');
    }
  }
});

test('k = n - 1 is the complete graph (classic SecAgg)', () => {
  for (const n of [7, 8]) {
    const g = new NeighbourGraph(n, n - 1, roundA);
    for (let i = 0; i < n; i++) assert.equal(g.neighboursOf(i).length, n - 1);
  }
});

test('every party derives the same graph from the round id; another round id gives another graph', () => {
  assert.equal(edges(new NeighbourGraph(40, 6, roundA)), edges(new NeighbourGraph(40, 6, roundA)));
  assert.notEqual(edges(new NeighbourGraph(40, 6, roundA)), edges(new NeighbourGraph(40, 6, roundB)));
});

test('impossible graphs are refused with the fix in the message', () => {
  assert.throws(() => new NeighbourGraph(11, 3, roundA), /n \* k must be even.*use 4 or 2/);
  assert.throws(() => new NeighbourGraph(5, 5, roundA), /neighbours must be an integer in \[1, 4\]/);
});

test('binomial tail matches brute force', () => {
  const choose = (n: number, k: number): number => (k === 0 ? 1 : (choose(n, k - 1) * (n - k + 1)) / k);
  for (const [n, p, t] of [
    [10, 0.7, 6],
    [20, 0.9, 11],
    [5, 0.5, 1],
  ]) {
    let brute = 0;
    for (let j = 0; j < t; j++) brute += choose(n, j) * p ** j * (1 - p) ** (n - j);
    assert.ok(Math.abs(binomialBelow(n, p, t) - brute) < 1e-12);
  }
});

test('the planner picks a majority threshold and meets the failure target when it can', () => {
  for (const n of [10, 100, 1000]) {
    for (const dropoutRate of [0, 0.1, 0.3]) {
      const plan = planNeighbourhood(n, { dropoutRate, failureProbability: 1e-3 });
      assert.equal(plan.threshold, majorityThreshold(plan.neighbours));
      assert.ok(plan.threshold > (plan.neighbours + 1) / 2);
      assert.ok(plan.neighbours <= n - 1 && (plan.neighbours * n) % 2 === 0);
      if (plan.neighbours < n - 1) assert.ok(plan.failureBound <= 1e-3);
    }
  }
  // More dropout needs more neighbours; without dropout about log2 n suffice.
  assert.equal(planNeighbourhood(1000, { dropoutRate: 0 }).neighbours, 10);
  assert.ok(
    planNeighbourhood(1000, { dropoutRate: 0.3 }).neighbours >
      planNeighbourhood(1000, { dropoutRate: 0.1 }).neighbours,
  );
  assert.throws(() => planNeighbourhood(10, { dropoutRate: 0.6 }), /dropoutRate must be in \[0, 0.5\)/);
});
