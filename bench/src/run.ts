/**
 * `pnpm bench [-- options]`: runs the benchmark scenarios and prints one table each.
 * See `--help` and docs/benchmarks.md.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readCpuTimes, stealShare } from './cpu-steal.js';
import { Fixtures } from './fixtures.js';
import { Pattern } from './pattern.js';
import { ServerProcess } from './process.js';
import { formatReport } from './report.js';
import type { BenchContext, Scenario, ScenarioReport } from './scenario.js';
import { blobSyncScenario } from './scenarios/blob-sync.js';
import { clusterFollowScenario } from './scenarios/cluster-follow.js';
import { followLatencyScenario } from './scenarios/follow-latency.js';
import { hspUploadScenario } from './scenarios/hsp-upload.js';
import { httpCompressionScenario } from './scenarios/http-compression.js';
import { httpDownloadScenario } from './scenarios/http-download.js';
import { httpLinesScenario } from './scenarios/http-lines.js';
import { httpUploadScenario } from './scenarios/http-upload.js';
import { ingestUnderReadersScenario } from './scenarios/ingest-under-readers.js';
import { pipeScenario } from './scenarios/pipe.js';
import { tusUploadScenario } from './scenarios/tus-upload.js';
import { wsDownloadScenario } from './scenarios/ws-download.js';
import { wsUploadScenario } from './scenarios/ws-upload.js';
import { wsUploadJsMaskScenario } from './scenarios/ws-upload-js-mask.js';

const SCENARIOS: Scenario[] = [
  wsUploadScenario,
  wsUploadJsMaskScenario,
  wsDownloadScenario,
  httpUploadScenario,
  httpDownloadScenario,
  httpLinesScenario,
  followLatencyScenario,
  ingestUnderReadersScenario,
  tusUploadScenario,
  hspUploadScenario,
  blobSyncScenario,
  httpCompressionScenario,
  clusterFollowScenario,
  pipeScenario,
];
const DEFAULT_SIZE_MIB = 1024;
const DEFAULT_REPEAT = 3;

const USAGE = `Usage: pnpm bench [-- options]

  --only <names>      comma-separated scenarios (default: all); see --list
  --size-mb <MiB>     bytes per transfer, in MiB (default ${DEFAULT_SIZE_MIB})
  --repeat <n>        runs per row, interleaved; the median is reported (default ${DEFAULT_REPEAT})
  --rows <keys>       only these rows of each scenario, e.g. a,b,e (for profiling; ratios need the baseline row)
  --profile           run the Spool servers with --cpu-prof (profiles kept in --profile-dir)
  --profile-dir <dir> where profiles go (default: a new spool-bench-profiles-* under the temp dir)
  --json              print the reports as JSON on stdout (progress stays on stderr)
  --list              list the scenarios
  --help`;

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    // `pnpm bench -- --x` may pass the separator through.
    args: argv.filter((arg) => arg !== '--'),
    options: {
      only: { type: 'string', multiple: true },
      'size-mb': { type: 'string' },
      repeat: { type: 'string' },
      rows: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'profile-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const sizeMib = Number(values['size-mb'] ?? DEFAULT_SIZE_MIB);
  const repeat = Number(values.repeat ?? DEFAULT_REPEAT);
  if (!Number.isInteger(sizeMib) || sizeMib <= 0) throw new Error(`--size-mb must be a positive integer, got ${values['size-mb']}`);
  if (!Number.isInteger(repeat) || repeat <= 0) throw new Error(`--repeat must be a positive integer, got ${values.repeat}`);
  const names = (values.only ?? [])
    .flatMap((list) => list.split(','))
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) throw new Error(`Unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const selected = names.length > 0 ? SCENARIOS.filter((scenario) => names.includes(scenario.name)) : SCENARIOS;
  return { ...values, sizeMib, repeat, selected };
}

function machineSummary(): string {
  const requireHere = createRequire(import.meta.url);
  const wsVersion = (requireHere('ws/package.json') as { version: string }).version;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${new Date().toISOString()} — node ${process.version}, ${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, ws ${wsVersion}`;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (options.list) {
    for (const scenario of SCENARIOS) process.stdout.write(`${scenario.name.padEnd(20)} ${scenario.description}\n`);
    return 0;
  }
  const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
  const print = (text: string) => {
    if (!options.json) process.stdout.write(`${text}\n`);
  };
  const tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'spool-benchmark-run-'));
  let profileDir: string | undefined;
  if (options.profile) {
    profileDir = path.resolve(options['profile-dir'] ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'spool-bench-profiles-'))));
    await fs.mkdir(profileDir, { recursive: true });
  }
  const removeTemp = () => fs.rm(tempDir, { recursive: true, force: true });
  process.once('SIGINT', () => {
    void ServerProcess.stopAll()
      .then(removeTemp)
      .finally(() => process.exit(130));
  });

  const sizeBytes = options.sizeMib * 1024 * 1024;
  const pattern = new Pattern();
  const context: BenchContext = {
    sizeBytes,
    repeat: options.repeat,
    pattern,
    fixtures: new Fixtures(pattern, sizeBytes, tempDir, log),
    tempDir,
    profileDir,
    log,
    rowFilter: options.rows ? new Set(options.rows.split(',').map((key) => key.trim().replace(/[()]/g, ''))) : undefined,
    onRunAbandoned: () => ServerProcess.stopAll(),
  };
  print(`Spool benchmarks — ${machineSummary()}`);
  print(`Scenarios: ${options.selected.map((s) => s.name).join(', ')}; ${options.sizeMib} MiB per transfer; temp dir ${tempDir}\n`);

  const reports: ScenarioReport[] = [];
  let failures = 0;
  try {
    for (const scenario of options.selected) {
      const started = performance.now();
      const cpuBefore = readCpuTimes();
      try {
        const report = await scenario.run(context);
        const steal = stealShare(cpuBefore, readCpuTimes());
        report.notes.push(
          `CPU steal (time the hypervisor gave to other guests) during this scenario: ${(100 * steal).toFixed(1)}% of the machine's CPU time.`,
        );
        reports.push(report);
        if (report.rows.some((row) => row.error !== undefined)) failures++;
        print(`${formatReport(report)}\n`);
      } catch (error) {
        failures++;
        const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        print(`== ${scenario.name}: FAILED — ${message}\n`);
        log(`${scenario.name} failed: ${error instanceof Error ? (error.stack ?? message) : message}`);
      }
      log(`${scenario.name} took ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  } finally {
    await ServerProcess.stopAll();
    await removeTemp();
  }
  if (options.json) process.stdout.write(`${JSON.stringify(reports)}\n`);
  const missed = reports.flatMap((report) =>
    report.targets.filter((target) => !target.pass).map((target) => `${report.scenario}: ${target.description}`),
  );
  print(missed.length === 0 ? 'All targets met.' : `Targets missed:\n${missed.map((line) => `  - ${line}`).join('\n')}`);
  if (profileDir) print(`CPU profiles of the Spool servers: ${profileDir} (summarise with: node bench/dist/cpu-profile-summary.js <file>)`);
  return failures > 0 ? 1 : 0;
}

const exitCode = await main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
  return 2;
});
// Exit explicitly: a stalled client (e.g. an SDK upload that never finished) may still hold
// sockets or worker threads that would keep the process alive.
process.exit(exitCode);
