import { findRow, type LatencyResult, median, mibPerSecond, type RowResult, type ScenarioReport } from './scenario.js';
import { type Column, formatTable } from './table.js';

const COLUMNS: Column[] = [
  { header: 'row', align: 'left' },
  { header: 'path', align: 'left' },
  { header: 'MiB/s', align: 'right' },
  { header: 'min–max', align: 'right' },
  { header: 'vs base', align: 'right' },
  { header: 'CPU s/GiB srv+cli', align: 'right' },
  { header: 'server RSS MB ready→peak', align: 'right' },
  { header: 'verified', align: 'left' },
];

/** Median CPU seconds per GiB transferred, server + client (each process, all threads) — or µs per item where the scenario counts items. */
function cpuPerGib(row: RowResult, items: ScenarioReport['items']): string {
  const per = (seconds: number, bytes: number) => (items ? (seconds * 1e6) / items.perRun : seconds / (bytes / 2 ** 30));
  const server = median(row.runs.map((run) => per(run.cpu.serverSeconds, run.bytes)));
  const client = median(row.runs.map((run) => per(run.cpu.clientSeconds, run.bytes)));
  return `${server.toFixed(items ? 0 : 1)} + ${client.toFixed(items ? 0 : 1)}`;
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(0);
}

/** A scenario's result as plain text: title, table, targets, notes. */
export function formatReport(report: ScenarioReport): string {
  // Items per second (blobs/s) where the scenario counts items: proportional to MiB/s, the ratios are the same.
  const items = report.items;
  const rate = (run: RowResult['runs'][number]) => (items ? items.perRun / run.seconds : mibPerSecond(run));
  const rateOf = (row: RowResult) => median(row.runs.map(rate));
  const rows = report.rows.map((row) => {
    if (row.runs.length === 0) return [row.key, row.label, 'FAILED', '', '', '', '', row.error ?? ''];
    const baselineKey = row.baselineKey ?? report.baselineKey;
    const baseline = rateOf(findRow(report.rows, baselineKey));
    const speeds = row.runs.map(rate);
    const middle = rateOf(row);
    const ready = Math.max(...row.runs.map((run) => run.server?.readyRssBytes ?? 0));
    const peak = Math.max(...row.runs.map((run) => run.server?.peakRssBytes ?? 0));
    const checks = [...new Set(row.runs.flatMap((run) => run.checks))];
    return [
      row.key,
      row.label,
      middle.toFixed(0),
      speeds.length > 1 ? `${Math.min(...speeds).toFixed(0)}–${Math.max(...speeds).toFixed(0)}` : '',
      row.key === baselineKey ? '1.00×' : Number.isFinite(middle / baseline) ? `${(middle / baseline).toFixed(2)}×` : 'n/a',
      cpuPerGib(row, items),
      peak > 0 ? `${megabytes(ready)} → ${megabytes(peak)}` : '',
      checks.join(', '),
    ];
  });
  const runs = report.rows[0]?.runs.length ?? 0;
  const lines = [`== ${report.scenario}: ${report.title}`];
  if (report.rows.length > 0) {
    lines.push(
      items
        ? `   ${items.perRun} ${items.unit} (${(report.sizeBytes / 1024 / 1024).toFixed(1)} MiB) per run, ${runs} run${runs === 1 ? '' : 's'} per row (median ${items.unit}/s; each row's ratio against its baseline)`
        : `   ${(report.sizeBytes / 1024 / 1024).toFixed(0)} MiB per run, ${runs} run${runs === 1 ? '' : 's'} per row (median MiB/s; ratios against ${report.baselineKey})`,
      '',
      formatTable(
        items
          ? COLUMNS.map((column, i) =>
              i === 2
                ? { ...column, header: `${items.unit}/s` }
                : i === 5
                  ? { ...column, header: `CPU µs/${items.unit.replace(/s$/, '')} srv+cli` }
                  : column,
            )
          : COLUMNS,
        rows,
      ),
    );
  }
  if (report.latencies && report.latencies.length > 0) lines.push('', formatLatencies(report.latencies));
  lines.push(
    '',
    ...report.rows.flatMap((row) =>
      row.error !== undefined && row.runs.length > 0 ? [`FAIL  ${row.key} failed after ${row.runs.length} run(s): ${row.error}`] : [],
    ),
    ...report.targets.map((target) => `${target.pass ? 'PASS' : 'MISS'}  ${target.description}: ${target.actual}`),
    ...report.notes.map((note) => `  - ${note}`),
  );
  return lines.join('\n');
}

const LATENCY_COLUMNS: Column[] = [
  { header: 'row', align: 'left' },
  { header: 'requests', align: 'left' },
  { header: 'n', align: 'right' },
  { header: 'p50 ms', align: 'right' },
  { header: 'p90 ms', align: 'right' },
  { header: 'p99 ms', align: 'right' },
  { header: 'max ms', align: 'right' },
  { header: 'server RSS MB ready→peak', align: 'right' },
  { header: 'verified', align: 'left' },
];

function formatLatencies(latencies: LatencyResult[]): string {
  return formatTable(
    LATENCY_COLUMNS,
    latencies.map((latency) => [
      latency.key,
      latency.label,
      String(latency.requests),
      latency.p50Ms.toFixed(2),
      latency.p90Ms.toFixed(2),
      latency.p99Ms.toFixed(2),
      latency.maxMs.toFixed(2),
      latency.server ? `${megabytes(latency.server.readyRssBytes)} → ${megabytes(latency.server.peakRssBytes)}` : '',
      latency.checks.join(', '),
    ]),
  );
}
