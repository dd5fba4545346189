/**
 * `edgefl example <name>`: runs one of the application examples (examples/<name>.ts in edgefl's
 * repository) as its own program, from the TypeScript sources, so what runs is exactly the file a
 * user reads and copies. `--list` names them with the first line of each one's comment.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/** The repository's examples folder: this file is packages/cli/{src,dist}/example.*. */
export function examplesFolder(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples');
}

export interface ExampleEntry {
  name: string;
  /** The first line of the file's leading comment. */
  summary: string;
}

/** The examples in `folder`: every top-level .ts file that is not a test. */
export function listExamples(folder = examplesFolder()): ExampleEntry[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(folder, f), 'utf8');
      const comment = /^\/\*\*\s*\n\s*\*\s*(.+)/.exec(text);
      return { name: f.slice(0, -3), summary: comment?.[1].trim() ?? '' };
    });
}

const NOT_IN_PACKAGE =
  'the examples are TypeScript programs in edgefl’s repository (examples/), not in the npm package: ' +
  'in a clone of the repository, run `npm ci`, then `npx edgefl example --list`';

export function registerExampleCommand(program: Command, out: (line: string) => void = console.log): void {
  // Options after a subcommand are the subcommand's: `edgefl example fraud --help` is the example's help.
  program.enablePositionalOptions();
  program
    .command('example')
    .description(
      'run an application example end to end (keyboard, hospitals, fraud, sensors); --list names them',
    )
    .argument('[name]', 'the example, e.g. fraud')
    .argument(
      '[options...]',
      "the example's own options: --full (the long version), --out DIR, --seed N, --help",
    )
    .option('--list', 'list the examples')
    // Everything after the name is the example's (its --help included).
    .passThroughOptions()
    .action(async (name: string | undefined, options: string[], o: { list?: boolean }) => {
      const folder = examplesFolder();
      const examples = listExamples(folder);
      if (examples.length === 0) throw new Error(NOT_IN_PACKAGE);
      if (o.list || !name) {
        const width = Math.max(...examples.map((e) => e.name.length));
        out('Examples (npx edgefl example NAME [--full] [--out DIR]):');
        for (const e of examples) out(`  ${e.name.padEnd(width)}  ${e.summary}`);
        return;
      }
      if (!examples.some((e) => e.name === name))
        throw new Error(
          `there is no example '${name}'; the examples: ${examples.map((e) => e.name).join(', ')}`,
        );
      let tsx: string;
      try {
        tsx = import.meta.resolve('tsx');
      } catch {
        throw new Error(
          'running an example needs tsx (a development dependency): run `npm ci` in the repository',
        );
      }
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', tsx, '--conditions=@edgefl/source', join(folder, `${name}.ts`), ...options],
          { stdio: 'inherit' },
        );
        // Ctrl-C reaches the example too (same terminal): wait for it to tidy up and exit.
        const ignore = () => {};
        process.on('SIGINT', ignore);
        child.on('error', reject);
        child.on('exit', (c, signal) => {
          process.off('SIGINT', ignore);
          resolve(c ?? (signal ? 130 : 1));
        });
      });
      if (code !== 0) process.exitCode = code;
    });
}
