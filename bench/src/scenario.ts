import type { Fixtures } from './fixtures.js';
import type { Pattern } from './pattern.js';
import type { MemoryUsage, ServerProcess } from './process.js';

/** What every scenario gets from the runner. */
export interface BenchContext {
  /** Bytes transferred per measured run. */
  sizeBytes: number;
  /** Runs per row (rows are interleaved: a b c, a b c, ...). */
  repeat: number;
  pattern: Pattern;
  /** Private temporary directory of this benchmark run (removed at the end). */
  tempDir: string;
  /** When set, Spool servers run with `--cpu-prof` and write their profiles here. */
  profileDir: string | undefined;
  /** Source file and completed Spool resource shared by the download scenarios. */
  fixtures: Fixtures;
  /** Progress line on stderr. */
  log(message: string): void;
  /** Row keys to run (e.g. "a", "e"); all rows when undefined. */
  rowFilter: ReadonlySet<string> | undefined;
  /** Called after a run failed or stalled: stops the server processes it may have left running. */
  onRunAbandoned(): Promise<void>;
}

/** One measured transfer. Integrity checks throw {@link IntegrityError}: a wrong result is never a figure. */
export interface RunMeasurement {
  bytes: number;
  seconds: number;
  /** CPU seconds used during the transfer by the server process and by the benchmark (client) process, all threads. */
  cpu: CpuUse;
  /** Memory of the server process under test (fresh process per run). */
  server: MemoryUsage | undefined;
  /** What was verified, e.g. "size", "MD5", "content". */
  checks: string[];
}

export interface CpuUse {
  serverSeconds: number;
  clientSeconds: number;
}

export interface TimedTransfer<T> {
  result: T;
  seconds: number;
  cpu: CpuUse;
}

/** Runs `transfer` against `server`, measuring wall time and the CPU time of both processes. */
export async function timeTransfer<T>(server: ServerProcess, transfer: () => Promise<T>): Promise<TimedTransfer<T>> {
  const serverBefore = server.cpuSeconds();
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const result = await transfer();
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  return {
    result,
    seconds,
    cpu: { serverSeconds: server.cpuSeconds() - serverBefore, clientSeconds: (client.user + client.system) / 1e6 },
  };
}

/** A way of doing the scenario's transfer; `run` performs one measured transfer. */
export interface RowDefinition {
  /** Short key, e.g. "(a)". */
  key: string;
  label: string;
  /** The row its ratio is against, when not the report's baseline (a scenario comparing several pairs). */
  baselineKey?: string;
  run(): Promise<RunMeasurement>;
}

export interface RowResult {
  key: string;
  label: string;
  baselineKey?: string;
  runs: RunMeasurement[];
  /** Why the row stopped (integrity error, stall, crash); its later runs are skipped. */
  error?: string;
}

/** A target from the issue, checked against the measured figures. */
export interface TargetCheck {
  description: string;
  actual: string;
  pass: boolean;
}

/** Request latencies of one way of asking (milliseconds). */
export interface LatencyResult {
  key: string;
  label: string;
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  server: MemoryUsage | undefined;
  checks: string[];
}

/** The `fraction` percentile (nearest rank) of `values`. */
export function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export interface ScenarioReport {
  scenario: string;
  title: string;
  sizeBytes: number;
  /** Key of the row ratios are computed against (unless a row names its own). */
  baselineKey: string;
  /**
   * For scenarios that move many small things: how many per run, and their name — the
   * table then shows `<unit>/s` instead of MiB/s (ratios are the same either way).
   */
  items?: { perRun: number; unit: string };
  rows: RowResult[];
  /** Latency measurements, for scenarios that measure requests rather than transfers. */
  latencies?: LatencyResult[];
  targets: TargetCheck[];
  /** Facts to print under the table (e.g. which masking was used on each side). */
  notes: string[];
}

export interface Scenario {
  name: string;
  description: string;
  run(context: BenchContext): Promise<ScenarioReport>;
}

export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
}

/** Throws an {@link IntegrityError} with `message` unless `condition` holds. */
export function verify(condition: boolean, message: string): asserts condition {
  if (!condition) throw new IntegrityError(message);
}

const MIB = 1024 * 1024;

export function mibPerSecond(run: RunMeasurement): number {
  return run.bytes / MIB / run.seconds;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Median MiB/s of a row. */
export function medianThroughput(row: RowResult): number {
  return median(row.runs.map(mibPerSecond));
}

/** Highest server peak RSS over a row's runs (bytes), if measured. */
export function peakServerRss(row: RowResult): number | undefined {
  const peaks = row.runs.flatMap((run) => (run.server ? [run.server.peakRssBytes] : []));
  return peaks.length > 0 ? Math.max(...peaks) : undefined;
}

/** `[note]` if row `key` was run, else nothing (for notes about a row). */
export function noteForRow(rows: RowResult[], key: string, note: string): string[] {
  return rows.some((row) => row.key === key) ? [note] : [];
}

/** The row with `key`; an empty one (no runs) when it was not selected. */
export function findRow(rows: RowResult[], key: string): RowResult {
  return rows.find((candidate) => candidate.key === key) ?? { key, label: '(not run)', runs: [] };
}

/** Longest a single transfer may take before it counts as stalled: 20 s + 50 MiB/s. */
export function transferTimeoutMs(sizeBytes: number): number {
  return 20_000 + (sizeBytes / MIB / 50) * 1000;
}

/**
 * Runs every row `repeat` times, interleaved, so slow drifts (disk, page cache) hit all
 * rows alike. A run that fails or stalls marks its row failed (later runs skipped); the
 * other rows go on.
 */
export async function measureRows(
  context: BenchContext,
  scenario: string,
  rows: RowDefinition[],
  /** Longest run before it counts as stalled (default: by the transfer size, {@link transferTimeoutMs}). */
  timeoutMs = transferTimeoutMs(context.sizeBytes),
): Promise<RowResult[]> {
  const filter = context.rowFilter;
  const selected = filter ? rows.filter((row) => filter.has(row.key.replace(/[()]/g, ''))) : rows;
  const results: RowResult[] = selected.map((row) => ({
    key: row.key,
    label: row.label,
    runs: [],
    ...(row.baselineKey ? { baselineKey: row.baselineKey } : {}),
  }));
  for (let round = 1; round <= context.repeat; round++) {
    for (const [index, row] of selected.entries()) {
      const result = results[index] as RowResult;
      if (result.error !== undefined) continue;
      try {
        const run = await withTimeout(
          row.run(),
          timeoutMs,
          `${scenario} ${row.key} took longer than ${(timeoutMs / 1000).toFixed(0)} s (stalled?)`,
        );
        result.runs.push(run);
        context.log(
          `${scenario} ${row.key} run ${round}/${context.repeat}: ${mibPerSecond(run).toFixed(0)} MiB/s` +
            (run.server ? `, server peak RSS ${(run.server.peakRssBytes / 1e6).toFixed(0)} MB` : ''),
        );
      } catch (error) {
        result.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        context.log(`${scenario} ${row.key} run ${round}/${context.repeat} FAILED: ${result.error}`);
        await context.onRunAbandoned();
      }
    }
  }
  return results;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A ratio check: `value / baseline ≥ minimum` (a failed row misses it). */
export function ratioTarget(description: string, value: number, baseline: number, minimum: number): TargetCheck {
  const ratio = value / baseline;
  if (!Number.isFinite(ratio)) return { description, actual: 'n/a (a row failed or was not run)', pass: false };
  return { description, actual: `${ratio.toFixed(2)}×`, pass: ratio >= minimum };
}

/** {@link ratioTarget} of the median throughputs of rows `key` and `baselineKey`. */
export function rowRatioTarget(description: string, rows: RowResult[], key: string, baselineKey: string, minimum: number): TargetCheck {
  return ratioTarget(description, medianThroughput(findRow(rows, key)), medianThroughput(findRow(rows, baselineKey)), minimum);
}

/** Peak RSS of the Spool rows must stay under `limitBytes`. */
export function rssTarget(description: string, rows: RowResult[], limitBytes: number): TargetCheck {
  const peaks = rows.map(peakServerRss).filter((peak): peak is number => peak !== undefined);
  if (peaks.length === 0) return { description, actual: 'n/a (no run measured)', pass: false };
  const worst = Math.max(...peaks);
  return { description, actual: `${(worst / 1e6).toFixed(0)} MB`, pass: worst < limitBytes };
}
