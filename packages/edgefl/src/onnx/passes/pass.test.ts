/** runPasses: reports, the order restored after each pass, a broken pass named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OnnxRewriteError } from '../edit/errors.js';
import { OnnxModel } from '../edit/model.js';
import { runPasses, type OnnxPass } from './pass.js';

function relu(): OnnxModel {
  const m = OnnxModel.empty();
  m.addInput('x', 'float32', [2]);
  m.add([m.createNode('Relu', ['x'], { outputs: ['y'], name: 'relu' })]);
  m.addOutput('y', 'float32', [2]);
  return m;
}

test('runPasses reports what each pass did, and puts appended nodes where they belong', async () => {
  const m = relu();
  const negateFirst: OnnxPass = {
    name: 'negate-first',
    run(model) {
      const neg = model.createNode('Neg', ['x'], { name: 'neg' });
      model.add([neg]); // at the end, before its reader: runPasses sorts
      model.producer('y')!.setInput(0, neg.outputs[0]);
      return { changes: ['negated x'] };
    },
  };
  const lines: string[] = [];
  const [report] = await runPasses(m, [negateFirst], { log: (l) => lines.push(l) });
  assert.equal(report.pass, 'negate-first');
  assert.deepEqual([report.nodesBefore, report.nodesAfter], [1, 2]);
  assert.deepEqual([report.initializersBefore, report.initializersAfter], [0, 0]);
  assert.deepEqual(report.changes, ['negated x']);
  assert.deepEqual(report.notes, ['nodes re-sorted into topological order']);
  assert.deepEqual(
    m.nodes().map((n) => n.name),
    ['neg', 'relu'],
  );
  assert.deepEqual(lines, ['negate-first: 1 changes, nodes 1 -> 2']);
});

test('a pass that leaves the model broken, or throws, is named', async () => {
  const dangling: OnnxPass = {
    name: 'dangling',
    run(model) {
      model.producer('y')!.setInput(0, 'ghost');
      return { changes: [] };
    },
  };
  await assert.rejects(
    runPasses(relu(), [dangling]),
    (e: unknown) =>
      e instanceof OnnxRewriteError &&
      /^pass 'dangling' left the model invalid: Relu node 'relu' reads input 'ghost', which is not defined/.test(
        e.message,
      ),
  );
  const throwing: OnnxPass = {
    name: 'throwing',
    run() {
      throw new Error('boom');
    },
  };
  await assert.rejects(runPasses(relu(), [throwing]), /^OnnxRewriteError: pass 'throwing' failed: boom$/);
});
