/**
 * The TypeScript examples of the documentation, compiled as a user's code: each fenced ```ts (or
 * ```typescript) block becomes a module of its own in a temporary project, where 'edgefl',
 * '@edgefl/node' and 'edgefl/web' resolve to the package's sources, under the project's own strict
 * compiler settings. A block that cannot compile on its own (a fragment) opts out with an explicit
 * marker on its fence, ```ts no-check, and the page says why.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** One fenced code block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, as it is named in messages (relative to the project). */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word ('ts', 'sh', '' when none). */
  lang: string;
  /** The info string's other words ('no-check'). */
  flags: string[];
  code: string;
}

/** The languages whose blocks are compiled, and the marker that opts a block out. */
export const TYPESCRIPT_LANGS: readonly string[] = ['ts', 'typescript'];
export const NO_CHECK = 'no-check';

/**
 * The packages' entry points, as a user imports them. In this repository they resolve to the
 * packages' sources (the workspace links them into node_modules; the "@edgefl/source" export
 * condition of tsconfig.json points them at src/).
 */
export const PACKAGE_ENTRIES: readonly string[] = [
  'edgefl',
  'edgefl/web',
  '@edgefl/net',
  '@edgefl/node',
  '@edgefl/server',
  '@edgefl/cli',
];

/**
 * The fenced blocks of a Markdown text (CommonMark fences: three or more backticks or tildes,
 * closed by a fence of the same character at least as long). A block's indentation, as in a list
 * item, is removed from its lines. An unclosed block runs to the end of the file, as in CommonMark.
 */
export function codeBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const [lang = '', ...flags] = info.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    blocks.push({ file, line: i + 1, lang: lang.toLowerCase(), flags, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** Whether a block is TypeScript that must compile. */
export function isChecked(block: CodeBlock): boolean {
  return TYPESCRIPT_LANGS.includes(block.lang) && !block.flags.includes(NO_CHECK);
}

/** `file:line`, the line of the Markdown file that holds line `codeLine` (0-based) of the block. */
export function docPosition(block: CodeBlock, codeLine: number): string {
  return `${block.file}:${block.line + 1 + codeLine}`;
}

/**
 * Imports a user should not write: anything but the packages' entry points and other packages (a
 * relative path into the sources, './src/...', works only inside this repository; the packages'
 * `internal/` modules are what they share among themselves, not an API).
 */
export function nonPackageImports(block: CodeBlock): string[] {
  return ts
    .preProcessFile(block.code, true, true)
    .importedFiles.filter(
      (f) =>
        f.fileName.startsWith('.') ||
        f.fileName.startsWith('/') ||
        /^(@edgefl\/[^/]+|edgefl)\/internal\//.test(f.fileName),
    )
    .map(
      (f) =>
        `${docPosition(block, lineOf(block.code, f.pos))}: imports '${f.fileName}'; examples import from ${PACKAGE_ENTRIES.map((e) => `'${e}'`).join(', ')}, as a user does`,
    );
}

function lineOf(text: string, pos: number): number {
  let n = 0;
  for (let i = 0; i < pos; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/**
 * Compiles every block, each as a module of its own, in one program, and returns each block's
 * compiler messages, every one naming the Markdown file and line. `root` is the project: its
 * tsconfig.json gives the compiler settings and its node_modules the other packages.
 */
export function compileBlocks(blocks: readonly CodeBlock[], root: string): Map<CodeBlock, string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'edgefl-doc-examples-'));
  try {
    // A user's ES-module project that has the package's dependencies installed.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const byFile = new Map<string, CodeBlock>();
    blocks.forEach((block, k) => {
      const name = join(dir, `${block.file.replace(/[^A-Za-z0-9]+/g, '-')}-${block.line}-${k}.ts`);
      writeFileSync(name, block.code + '\n');
      byFile.set(name, block);
    });
    const program = ts.createProgram([...byFile.keys()], compilerOptions(root), undefined);
    const messages = new Map<CodeBlock, string[]>(blocks.map((b) => [b, []]));
    const general = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
    if (general.length)
      throw new Error(`the examples' compiler settings are wrong: ${general.map(messageText).join('; ')}`);
    for (const [name, block] of byFile) {
      const source = program.getSourceFile(name);
      if (!source) throw new Error(`the compiler did not read ${name}`);
      for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)])
        messages.get(block)!.push(describe(d, block, dir, root));
    }
    return messages;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The project's compiler settings (which resolve the packages' names to their sources). */
function compilerOptions(root: string): ts.CompilerOptions {
  const configFile = join(root, 'tsconfig.json');
  const read = ts.readConfigFile(configFile, ts.sys.readFile);
  if (read.error) throw new Error(`${configFile}: ${messageText(read.error)}`);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  const { outDir: _outDir, rootDir: _rootDir, ...options } = parsed.options;
  return {
    ...options,
    noEmit: true,
    declaration: false,
    sourceMap: false,
    // Every block is a module of its own, even without an import: top-level await, no shared names.
    moduleDetection: ts.ModuleDetectionKind.Force,
    typeRoots: [join(root, 'node_modules', '@types')],
    types: ['node'],
  };
}

function messageText(d: ts.Diagnostic): string {
  return ts.flattenDiagnosticMessageText(d.messageText, '\n');
}

/** A compiler message at the Markdown line it concerns. */
function describe(d: ts.Diagnostic, block: CodeBlock, dir: string, root: string): string {
  const text = `error TS${d.code}: ${messageText(d)}`;
  if (!d.file || d.start === undefined) return `${block.file}:${block.line}: ${text}`;
  const { line } = d.file.getLineAndCharacterOfPosition(d.start);
  // A message about another file (the package's sources) still names the block that caused it.
  if (!d.file.fileName.startsWith(dir))
    return `${block.file}:${block.line}: ${text} (in ${relative(root, d.file.fileName)}:${line + 1})`;
  return `${docPosition(block, line)}: ${text}`;
}
