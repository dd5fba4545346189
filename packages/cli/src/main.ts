/** The `edgefl` command. */
import { Command, CommanderError } from 'commander';
import { registerTrainCommand } from './train.js';
import { registerExportCommand } from './export.js';
import { registerDpCommand } from './dp.js';
import { registerAttackCommand } from './attack.js';
import { Interrupted, registerSimulateCommand } from './simulate.js';
import { registerPartitionCommand } from './partition.js';
import { registerFederateCommands } from './federate.js';
import { registerBenchCommand } from './bench.js';
import { registerOptimizeCommand } from './optimize.js';
import { registerCertsCommand } from './certs.js';
import { registerDistillCommand } from './distill.js';
import { registerSuggestCommand } from './suggest.js';
import { registerExampleCommand } from './example.js';

export function buildProgram(out?: (line: string) => void): Command {
  const program = new Command('edgefl')
    .description(
      'Edge AI and federated learning in TypeScript: train (ONNX Runtime), protect, compress and deploy models as .onnx',
    )
    .version('0.1.0')
    .showHelpAfterError('(add --help to see every option)');
  registerSimulateCommand(program, out);
  registerPartitionCommand(program, out);
  registerTrainCommand(program, out);
  registerExportCommand(program, out);
  registerBenchCommand(program, out);
  registerOptimizeCommand(program, out);
  registerDistillCommand(program, out);
  registerSuggestCommand(program, out);
  registerDpCommand(program, out);
  registerAttackCommand(program, out);
  registerFederateCommands(program, out);
  registerCertsCommand(program, out);
  registerExampleCommand(program, out);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    process.stderr.write(`edgefl: ${(e as Error).message}\n`);
    if (process.env.EDGEFL_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(e instanceof Interrupted ? e.exitCode : 1);
  }
}

await main();
