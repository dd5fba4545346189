/** Markdown for reports: a table whose columns line up in the source too, so report.md reads as text. */

export type Cell = string | number;

/** A table; numbers are printed with `digits` decimals (default 3) and right-aligned, text left-aligned. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
  digits = 3,
): string {
  const text = (c: Cell) => (typeof c === 'number' ? (Number.isFinite(c) ? c.toFixed(digits) : '—') : c);
  const cells = rows.map((r) => r.map(text));
  const numeric = headers.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number'));
  const width = headers.map((h, j) => Math.max(3, h.length, ...cells.map((r) => (r[j] ?? '').length)));
  const pad = (s: string, j: number) => (numeric[j] ? s.padStart(width[j]) : s.padEnd(width[j]));
  const line = (r: readonly string[]) => `| ${r.map((c, j) => pad(c ?? '', j)).join(' | ')} |`;
  const rule = `|${width.map((w, j) => (numeric[j] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(headers), rule, ...cells.map(line)].join('\n');
}
