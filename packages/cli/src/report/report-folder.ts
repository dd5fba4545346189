/**
 * A report folder that is never half-written: everything (report.md, charts, the model) goes to a
 * hidden staging folder beside the destination, which takes the destination's name only once the
 * report is complete. A run that fails or is interrupted leaves no folder that looks like a result.
 */
import { mkdir, rename, rm, stat, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '@edgefl/node';
import { renderChart } from './curves.js';

export class ReportFolder {
  private finished = false;

  private constructor(
    /** Where the report will be once finished. */
    readonly dir: string,
    private readonly staging: string,
  ) {}

  /**
   * Checks that `dir` can take a report (absent or an empty folder; refused by name otherwise,
   * before any work) and opens its staging folder.
   */
  static async create(dir: string): Promise<ReportFolder> {
    const existing = await stat(dir).catch(() => undefined);
    if (existing && !existing.isDirectory()) throw new Error(`${dir} is a file: choose another --out`);
    if (existing && (await readdir(dir)).length > 0)
      throw new Error(`${dir} already holds files: choose another --out (a report never replaces another)`);
    const staging = join(dirname(dir), `${stagingPrefix(dir)}${process.pid}`);
    await removeAbandoned(dir);
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true }).catch((e: Error) => {
      throw new Error(`cannot create the report folder ${dir}: ${e.message}`);
    });
    return new ReportFolder(dir, staging);
  }

  /** Writes a file of the report; `name` is relative to the report folder. */
  async write(name: string, content: string | Uint8Array): Promise<void> {
    await mkdir(dirname(join(this.staging, name)), { recursive: true });
    await writeFileAtomic(join(this.staging, name), content);
  }

  /**
   * Draws a chart as `<name>.svg` and `<name>.png` and returns the markdown that shows it (the PNG,
   * with the SVG linked for a sharper view).
   */
  async chart(name: string, spec: TopLevelSpec, alt: string): Promise<string> {
    const { svg, png } = await renderChart(spec);
    await this.write(`${name}.svg`, svg);
    await this.write(`${name}.png`, png);
    return `[![${alt}](${name}.png)](${name}.svg)`;
  }

  /** Writes report.md and moves the finished report to its place. */
  async finish(markdown: string): Promise<void> {
    await this.write('report.md', markdown.endsWith('\n') ? markdown : `${markdown}\n`);
    // An empty folder made meanwhile (or given as --out) is replaced; anything else is refused.
    const existing = await stat(this.dir).catch(() => undefined);
    if (existing) {
      if (!existing.isDirectory() || (await readdir(this.dir)).length > 0)
        throw new Error(`${this.dir} was filled while the report was made; the report is in ${this.staging}`);
      await rm(this.dir, { recursive: true });
    }
    await rename(this.staging, this.dir);
    this.finished = true;
  }

  /** Removes the staging folder of a report that will not be finished. */
  async abandon(): Promise<void> {
    if (!this.finished) await rm(this.staging, { recursive: true, force: true });
  }
}

const stagingPrefix = (dir: string) => `.${basename(dir)}.partial-`;

/**
 * Removes staging folders for `dir` left by runs that were killed (kill -9, a power cut) before they
 * could tidy up: those whose process no longer exists. A run still writing keeps its own.
 */
async function removeAbandoned(dir: string): Promise<void> {
  const prefix = stagingPrefix(dir);
  const siblings = await readdir(dirname(dir)).catch(() => [] as string[]);
  for (const name of siblings) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid > 0 && !alive(pid))
      await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
