import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { registerSimulateCommand } from './simulate.js';

test('simulate --codec refuses a bad spec before doing any work, naming the value', async () => {
  for (const [spec, message] of [
    ['float8', /--codec: unknown codec 'float8'; expected float32, float16, qsgd8 or topk:F/],
    ['topk:2', /--codec: codec 'topk:2': the top-k fraction must be a number in \(0, 1\], got '2'/],
  ] as const) {
    const errors: string[] = [];
    const program = new Command('edgefl');
    program.exitOverride();
    program.configureOutput({ writeOut: () => {}, writeErr: (s) => errors.push(s) });
    let ran = false;
    registerSimulateCommand(program, () => (ran = true));
    await assert.rejects(
      program.parseAsync(['simulate', '--codec', spec, '--rounds', '1'], { from: 'user' }),
      (e: unknown) => e instanceof CommanderError && e.code === 'commander.invalidArgument',
    );
    assert.match(errors.join(''), message);
    assert.equal(ran, false, 'nothing printed: the run never started');
  }
});
