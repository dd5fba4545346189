/** Runs one `edgefl` command in process, as the CLI tests do. */
import { Command } from 'commander';

/**
 * Registers one command on a fresh program and runs `args`; printed lines go to `lines`, which
 * keeps what was printed even when the command fails. Commander's own output is silenced.
 */
export async function runCommand(
  register: (program: Command, out: (line: string) => void) => void,
  args: string[],
  lines: string[] = [],
): Promise<string[]> {
  const program = new Command('edgefl');
  program.exitOverride();
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  register(program, (l) => lines.push(l));
  await program.parseAsync(args, { from: 'user' });
  return lines;
}
