import cliProgress from 'cli-progress';

/** Where an upload stands, shown as a bar on a terminal or as plain lines otherwise. */
export interface ProgressView {
  update(bytes: number, total: number | undefined): void;
  /** Ends the view; `summary`: print where it ended (not after a failure, whose one line says it all). */
  stop(summary: boolean): void;
}

const MiB = 1024 * 1024;
const human = (bytes: number): string =>
  bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${Math.round(bytes)} B`;

/** A bar with rate and ETA (stderr is a terminal), else one line at most every `intervalMs`. */
export function progressView(stream: NodeJS.WriteStream, label: string, intervalMs = 1000): ProgressView {
  const started = Date.now();
  const rate = (bytes: number) => `${human(bytes / Math.max((Date.now() - started) / 1000, 0.001))}/s`;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% {done} of {all} | {rate} | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(bytes, total) {
        const payload = { done: human(bytes), all: total === undefined ? '?' : human(total), rate: rate(bytes) };
        if (!started) {
          started = true;
          bar.start(total ?? 0, bytes, payload);
        }
        if (total !== undefined) bar.setTotal(total);
        bar.update(bytes, payload);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  let lastBytes = -1;
  const line = (bytes: number, total: number | undefined) => {
    lastBytes = bytes;
    stream.write(`${label}: ${human(bytes)}${total === undefined ? '' : ` of ${human(total)}`} (${rate(bytes)})\n`);
  };
  let latest: [number, number | undefined] = [0, undefined];
  return {
    update(bytes, total) {
      latest = [bytes, total];
      if (Date.now() - last < intervalMs) return;
      last = Date.now();
      line(bytes, total);
    },
    stop(summary) {
      if (summary && latest[0] !== lastBytes) line(...latest);
    },
  };
}
