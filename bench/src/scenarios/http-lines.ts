import { httpGetJson, keepAliveAgent } from '../http-client.js';
import { type BenchContext, type LatencyResult, percentile, type Scenario, type ScenarioReport, verify } from '../scenario.js';
import { SpoolServerProcess } from '../spool-server.js';

const LINES_PER_PAGE = 100;
const WARM_UP_REQUESTS = 200;
const MEASURED_REQUESTS = 3000;
const P99_TARGET_MS = 5;
const RSS_LIMIT_BYTES = 150e6;

interface LinesPage {
  start: number;
  count: number;
  totalLines: number;
  state: string;
  lines: string[];
}

/** Deterministic pseudo-random numbers in [0, 1) (a 32-bit LCG), so every run asks for the same pages. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

export const httpLinesScenario: Scenario = {
  name: 'http-lines',
  description: 'latency of GET …/lines pages at random positions of a completed 1 GiB log (one keep-alive connection)',
  async run(context: BenchContext): Promise<ScenarioReport> {
    const { pattern, sizeBytes } = context;
    const { dataDir, resourceId } = await context.fixtures.completedResource();
    const totalLines = pattern.lines(sizeBytes);
    const random = seededRandom(42);
    const server = await SpoolServerProcess.start({ dataDir, profileDir: context.profileDir });
    const agent = keepAliveAgent();
    const latenciesMs: number[] = [];
    let latency: LatencyResult;
    try {
      const pageUrl = (start: number) => `${server.httpUrl}/api/v1/resources/${resourceId}/lines?start=${start}&count=${LINES_PER_PAGE}`;
      for (let request = 0; request < WARM_UP_REQUESTS + MEASURED_REQUESTS; request++) {
        // The last line has no "\n" in the data; pages stay before it so each line is checked whole.
        const start = Math.floor(random() * (totalLines - 1 - LINES_PER_PAGE));
        const started = performance.now();
        const { status, body } = await httpGetJson<LinesPage>(pageUrl(start), agent);
        const elapsedMs = performance.now() - started;
        verify(status === 200, `lines?start=${start} answered ${status}`);
        verify(body.totalLines === totalLines, `totalLines ${body.totalLines}, the data has ${totalLines}`);
        verify(body.lines.join('\n') === pattern.linesAt(start, LINES_PER_PAGE).join('\n'), `lines?start=${start}: wrong lines`);
        if (request >= WARM_UP_REQUESTS) latenciesMs.push(elapsedMs);
      }
      const memory = await server.stop();
      latency = {
        key: '(a)',
        label: `GET …/lines?start=<random>&count=${LINES_PER_PAGE} (JSON)`,
        requests: latenciesMs.length,
        p50Ms: percentile(latenciesMs, 0.5),
        p90Ms: percentile(latenciesMs, 0.9),
        p99Ms: percentile(latenciesMs, 0.99),
        maxMs: Math.max(...latenciesMs),
        server: memory,
        checks: ['every page against the data', 'totalLines'],
      };
    } finally {
      agent.destroy();
      await server.stop();
    }
    context.log(`http-lines: p50 ${latency.p50Ms.toFixed(2)} ms, p99 ${latency.p99Ms.toFixed(2)} ms`);
    const peak = latency.server?.peakRssBytes ?? 0;
    return {
      scenario: 'http-lines',
      title: `Line pages of a completed ${(sizeBytes / 2 ** 20).toFixed(0)} MiB log (${totalLines} lines), one request at a time`,
      sizeBytes,
      baselineKey: '(a)',
      rows: [],
      latencies: [latency],
      targets: [
        {
          description: `line page p99 < ${P99_TARGET_MS} ms`,
          actual: `${latency.p99Ms.toFixed(2)} ms`,
          pass: latency.p99Ms < P99_TARGET_MS,
        },
        { description: 'Spool server peak RSS < 150 MB', actual: `${(peak / 1e6).toFixed(0)} MB`, pass: peak < RSS_LIMIT_BYTES },
      ],
      notes: [
        `${WARM_UP_REQUESTS} warm-up requests are not counted; latency is measured in the client (request sent → JSON parsed), over one keep-alive connection.`,
        'Pages start at pseudo-random (seeded, same every run) line numbers across the whole log; every page is checked against the data.',
      ],
    };
  },
};
