import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpGetJson, keepAliveAgent } from '../http-client.js';
import { ServerProcess } from '../process.js';
import { type BenchContext, type LatencyResult, percentile, type Scenario, type ScenarioReport, verify } from '../scenario.js';
import { seededRandom } from '../seeded-random.js';
import { SpoolServerProcess } from '../spool-server.js';

const peersDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers');

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

export const httpLinesScenario: Scenario = {
  name: 'http-lines',
  description: 'latency of GET …/lines pages at random positions of a completed 1 GiB log, against a plain node:http floor',
  async run(context: BenchContext): Promise<ScenarioReport> {
    const { pattern, sizeBytes } = context;
    const { dataDir, resourceId } = await context.fixtures.completedResource();
    const totalLines = pattern.lines(sizeBytes);
    const random = seededRandom(42);
    const plain = await ServerProcess.start({
      name: 'http-lines-server',
      script: path.join(peersDir, 'http-lines-server.js'),
      args: [String(totalLines)],
    });
    const server = await SpoolServerProcess.start({ dataDir, profileDir: context.profileDir });
    const endpoints = [
      {
        key: '(a)',
        label: `plain node:http, the same page from memory (baseline)`,
        url: (s: number) => `${plain.url}/lines?start=${s}&count=${LINES_PER_PAGE}`,
        agent: keepAliveAgent(),
        latenciesMs: [] as number[],
      },
      {
        key: '(b)',
        label: `Spool GET …/lines?start=<random>&count=${LINES_PER_PAGE} (JSON)`,
        url: (s: number) => `${server.httpUrl}/api/v1/resources/${resourceId}/lines?start=${s}&count=${LINES_PER_PAGE}`,
        agent: keepAliveAgent(),
        latenciesMs: [] as number[],
      },
    ];
    let latencies: LatencyResult[];
    try {
      for (let request = 0; request < WARM_UP_REQUESTS + MEASURED_REQUESTS; request++) {
        // The last line has no "\n" in the data; pages stay before it so each line is checked whole.
        const start = Math.floor(random() * (totalLines - 1 - LINES_PER_PAGE));
        // Both servers get every page, one after the other, the first one alternating:
        // whatever else the machine does lands on both alike.
        const order = request % 2 === 0 ? endpoints : [...endpoints].reverse();
        for (const endpoint of order) {
          const started = performance.now();
          const { status, body } = await httpGetJson<LinesPage>(endpoint.url(start), endpoint.agent);
          const elapsedMs = performance.now() - started;
          verify(status === 200, `${endpoint.key} lines?start=${start} answered ${status}`);
          verify(body.totalLines === totalLines, `${endpoint.key} totalLines ${body.totalLines}, the data has ${totalLines}`);
          verify(
            body.lines.join('\n') === pattern.linesAt(start, LINES_PER_PAGE).join('\n'),
            `${endpoint.key} lines?start=${start}: wrong lines`,
          );
          if (request >= WARM_UP_REQUESTS) endpoint.latenciesMs.push(elapsedMs);
        }
      }
      const memory = { '(a)': await plain.stop(), '(b)': await server.stop() };
      latencies = endpoints.map(({ key, label, latenciesMs }) => ({
        key,
        label,
        requests: latenciesMs.length,
        p50Ms: percentile(latenciesMs, 0.5),
        p90Ms: percentile(latenciesMs, 0.9),
        p99Ms: percentile(latenciesMs, 0.99),
        maxMs: Math.max(...latenciesMs),
        server: memory[key as '(a)' | '(b)'],
        checks: ['every page against the data', 'totalLines'],
      }));
    } finally {
      for (const endpoint of endpoints) endpoint.agent.destroy();
      await plain.stop();
      await server.stop();
    }
    const [baseline, latency] = latencies as [LatencyResult, LatencyResult];
    context.log(
      `http-lines: Spool p50 ${latency.p50Ms.toFixed(2)} ms, p99 ${latency.p99Ms.toFixed(2)} ms; plain p50 ${baseline.p50Ms.toFixed(2)} ms, p99 ${baseline.p99Ms.toFixed(2)} ms`,
    );
    const peak = latency.server?.peakRssBytes ?? 0;
    return {
      scenario: 'http-lines',
      title: `Line pages of a completed ${(sizeBytes / 2 ** 20).toFixed(0)} MiB log (${totalLines} lines), one request at a time`,
      sizeBytes,
      baselineKey: '(a)',
      rows: [],
      latencies,
      targets: [
        {
          description: `line page p99 < ${P99_TARGET_MS} ms ((b))`,
          actual: `${latency.p99Ms.toFixed(2)} ms (plain node:http from memory (a): ${baseline.p99Ms.toFixed(2)} ms)`,
          pass: latency.p99Ms < P99_TARGET_MS,
        },
        { description: 'Spool server peak RSS < 150 MB', actual: `${(peak / 1e6).toFixed(0)} MB`, pass: peak < RSS_LIMIT_BYTES },
      ],
      notes: [
        `${WARM_UP_REQUESTS} warm-up requests are not counted; latency is measured in the client (request sent → JSON parsed), over one keep-alive connection per server.`,
        'Row (a) is the floor of one HTTP round trip plus JSON here: a plain node:http server computing the same page from the data in memory (no file, no index). Requests alternate between the two servers, page by page.',
        'Pages start at pseudo-random (seeded, same every run) line numbers across the whole log; every page is checked against the data.',
      ],
    };
  },
};
