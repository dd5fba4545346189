/**
 * Every TypeScript example in README.md and docs/*.md compiles as a user's code: it imports from
 * 'edgefl', '@edgefl/node' or 'edgefl/web' (never from the sources by path) and type-checks under the
 * project's strict settings. An example that drifts from the API fails here, naming the page, the
 * line and the compiler's message. A fragment that cannot compile alone is marked ```ts no-check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  codeBlocks,
  compileBlocks,
  isChecked,
  nonPackageImports,
  TYPESCRIPT_LANGS,
  type CodeBlock,
} from './helpers/doc-examples.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const examples = pages
  .flatMap((page) => codeBlocks(readFileSync(join(root, page), 'utf8'), page))
  .filter((b) => TYPESCRIPT_LANGS.includes(b.lang));

/**
 * Examples the checker must judge as it judges the documentation's: one right, one with a missing
 * export and a type error, one using top-level await, one importing the sources by path, one
 * marked as a fragment.
 */
const PROBE_PAGE = [
  '# Probes', //                                                  line 1
  '',
  '```ts', //                                                     line 3
  "import { sgd } from 'edgefl';",
  "import { nodeRuntime } from '@edgefl/node';",
  "import { webRuntime } from 'edgefl/web';",
  'const runtime = await Promise.resolve(nodeRuntime());',
  'console.log(sgd({ lr: 0.1 }).lr, runtime.name, typeof webRuntime);',
  '```',
  '',
  '- in a list:',
  '',
  '  ```typescript', //                                          line 13
  "  import { sgd, noSuchExport } from 'edgefl';",
  '  const lr: string = sgd({ lr: 0.1 }).lr;',
  '  console.log(noSuchExport, lr);',
  '  ```',
  '',
  '~~~ts', //                                                     line 19
  "import { epsilon } from './src/privacy/dp/accountant.js';",
  '~~~',
  '',
  '```ts no-check', //                                            line 23
  'this is not TypeScript',
  '```',
].join('\n');
const probes = codeBlocks(PROBE_PAGE, 'probe.md');

let compiled: Map<CodeBlock, string[]> | undefined;
/** One program for every example and probe: the package's sources are read and bound once. */
function messagesOf(block: CodeBlock): string[] {
  compiled ??= compileBlocks([...examples, ...probes].filter(isChecked), root);
  const messages = compiled.get(block);
  if (!messages) throw new Error(`${block.file}:${block.line} was not compiled`);
  return messages;
}

test('the checker reads fenced blocks: their line, language and marker, inside a list or with tildes', () => {
  assert.deepEqual(
    probes.map((b) => [b.line, b.lang, b.flags]),
    [
      [3, 'ts', []],
      [13, 'typescript', []],
      [19, 'ts', []],
      [23, 'ts', ['no-check']],
    ],
  );
  assert.equal(probes[1].code.split('\n')[0], "import { sgd, noSuchExport } from 'edgefl';");
  assert.deepEqual(
    probes.map((b) => isChecked(b)),
    [true, true, true, false],
  );
});

test("the checker accepts a user's example of every entry point, with top-level await", () => {
  assert.deepEqual(messagesOf(probes[0]), []);
});

test('the checker refuses a missing export and a type error, naming the page, the line and the message', () => {
  const messages = messagesOf(probes[1]);
  assert.equal(messages.length, 2, messages.join('\n'));
  assert.match(
    messages[0],
    /^probe\.md:14: error TS2305: Module '"edgefl"' has no exported member 'noSuchExport'/,
  );
  assert.match(messages[1], /^probe\.md:15: error TS2322: Type 'number' is not assignable to type 'string'/);
});

test('the checker refuses an import of the sources by path, which only works inside this repository', () => {
  assert.deepEqual(nonPackageImports(probes[2]), [
    "probe.md:20: imports './src/privacy/dp/accountant.js'; examples import from 'edgefl', 'edgefl/web', '@edgefl/net', '@edgefl/node', '@edgefl/server', '@edgefl/cli', as a user does",
  ]);
  assert.deepEqual(nonPackageImports(probes[0]), []);
});

test('the documentation has TypeScript examples to check', () => {
  assert.ok(
    examples.filter(isChecked).length >= 5,
    `only ${examples.length} examples found in ${pages.join(', ')}`,
  );
  assert.ok(examples.some((b) => b.file === 'README.md' && isChecked(b)));
});

for (const block of examples)
  test(`${block.file}:${block.line}: the example ${isChecked(block) ? 'compiles' : '(a fragment, not compiled) imports only the package'}`, () => {
    const problems = [...nonPackageImports(block), ...(isChecked(block) ? messagesOf(block) : [])];
    if (problems.length) assert.fail(problems.join('\n'));
  });
