/**
 * Progress display for long commands: a live bar on a terminal, and a plain line every tenth of the
 * way when output goes to a file or CI log (where a redrawn bar would be noise).
 */
import cliProgress from 'cli-progress';

export interface ProgressLine {
  update(done: number, fields: Record<string, string | number>): void;
  stop(): void;
}

export function progressLine(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressLine {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {percentage}% | {value}/{total} | {info} | ETA {eta_formatted}`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update: (done, fields) => bar.update(done, { info: formatFields(fields) }),
      stop: () => bar.stop(),
    };
  }
  let nextTenth = 1;
  return {
    update(done, fields) {
      if (done >= (nextTenth * total) / 10 || done === total) {
        stream.write(
          `${label} ${Math.round((100 * done) / total)}% (${done}/${total}) ${formatFields(fields)}\n`,
        );
        while (done >= (nextTenth * total) / 10 && nextTenth <= 10) nextTenth++;
      }
    },
    stop() {},
  };
}

function formatFields(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(4)) : v}`)
    .join(' | ');
}
