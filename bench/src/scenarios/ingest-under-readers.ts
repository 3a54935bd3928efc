import { type FollowerKind, startCatchUpFollowers } from '../catch-up-followers.js';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario.js';
import { verify } from '../scenario.js';
import { SpoolServerProcess } from '../spool-server.js';
import { openSpoolUpload } from './follow-latency.js';

/** How long the uploader sends, per row. */
const UPLOAD_SECONDS = 8;
const MESSAGE_BYTES = 256 * 1024;
/** The uploader keeps at most this much unsent in its socket (then waits): full speed without unbounded buffering. */
const UPLOADER_WINDOW_BYTES = 4 * 1024 * 1024;
const FOLLOWERS = 1000;
/** Row (f): the issue's memory claim — 10,000 lagging followers fit in 1 GiB. */
const MANY_FOLLOWERS = 10_000;
const MANY_FOLLOWERS_RSS_LIMIT_BYTES = 2 ** 30;
const PACED_BYTES_PER_SECOND = 20e6;
type Followers = 'none' | FollowerKind;

/**
 * `floor`: a row that measures what the target cannot go below, not the target itself —
 * (g) holds the followers of (b) connected but reading nothing (statuses only), so its
 * ratio is the most any scheduling of catch-up reads could give (b) on this machine.
 */
const ROWS: { key: string; rate: number | undefined; followers: Followers; alone?: string; count?: number; floor?: true }[] = [
  { key: '(a)', rate: undefined, followers: 'none' },
  { key: '(b)', rate: undefined, followers: 'spool', alone: '(a)' },
  { key: '(c)', rate: PACED_BYTES_PER_SECOND, followers: 'none' },
  { key: '(d)', rate: PACED_BYTES_PER_SECOND, followers: 'spool', alone: '(c)' },
  { key: '(e)', rate: PACED_BYTES_PER_SECOND, followers: 'step', alone: '(c)' },
  { key: '(f)', rate: PACED_BYTES_PER_SECOND, followers: 'spool', alone: '(c)', count: MANY_FOLLOWERS },
  { key: '(g)', rate: undefined, followers: 'watch', alone: '(a)', floor: true },
];

const FOLLOWER_NAMES: Record<FollowerKind, string> = { spool: 'Spool push', step: 'Step request/reply', watch: 'Spool status-only' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The uploader on Spool's protocol (raw `ws`): create, then binary messages for
 * UPLOAD_SECONDS at full speed or paced, then finish. Its rate counts until `completed`.
 */
async function upload(
  wsUrl: string,
  rate: number | undefined,
  onReady: (id: string) => Promise<void>,
): Promise<{ bytes: number; seconds: number }> {
  const { ws, next } = await openSpoolUpload(wsUrl);
  ws.send(
    JSON.stringify({
      type: 'create',
      metadata: { filename: 'ingest.bin', mimeType: 'application/octet-stream', supportsLineAccess: false },
    }),
  );
  const ready = await next('ready');
  await onReady(String(ready.id));
  const payload = Buffer.alloc(MESSAGE_BYTES, 0x61);
  const started = performance.now();
  let bytes = 0;
  for (;;) {
    const elapsed = (performance.now() - started) / 1000;
    if (elapsed >= UPLOAD_SECONDS) break;
    const allowed = rate === undefined ? Number.POSITIVE_INFINITY : elapsed * rate;
    if (bytes + MESSAGE_BYTES > allowed || ws.bufferedAmount > UPLOADER_WINDOW_BYTES) {
      await sleep(1);
      continue;
    }
    ws.send(payload);
    bytes += MESSAGE_BYTES;
  }
  ws.send(JSON.stringify({ type: 'finish' }));
  const completed = await next('completed');
  const seconds = (performance.now() - started) / 1000;
  verify(completed.size === bytes, `server completed ${completed.size} bytes, ${bytes} were sent`);
  ws.close();
  return { bytes, seconds };
}

export const ingestUnderReadersScenario: Scenario = {
  name: 'ingest-under-readers',
  description: `uploader at full speed and at 20 MB/s, alone and with ${FOLLOWERS} followers from offset 0 (half stalled), Spool push and Step request/reply; ${MANY_FOLLOWERS} followers at 20 MB/s (memory)`,
  async run(context: BenchContext): Promise<ScenarioReport> {
    const rates = new Map<string, number>();
    const notes: string[] = [];
    const targets: ScenarioReport['targets'] = [];
    notes.push(
      'row  uploader                followers                                       upload MB/s  ratio  followers MB/s  server CPU s  server peak RSS',
    );
    for (const row of ROWS) {
      if (context.rowFilter && !context.rowFilter.has(row.key.replace(/[()]/g, ''))) continue;
      const count = row.count ?? FOLLOWERS;
      const server = await SpoolServerProcess.start({
        dataDir: `${context.tempDir}/ingest-${row.key.replace(/[()]/g, '')}`,
        profileDir: context.profileDir,
        // Every follower is a socket: room for them and the uploader (the default is 10,000).
        env: { SPOOL_MAX_CONNECTIONS: String(count + 100) },
      });
      let followers: Awaited<ReturnType<typeof startCatchUpFollowers>> | undefined;
      try {
        const cpuBefore = server.process.cpuSeconds();
        let readStarted = 0;
        const result = await upload(server.wsUrl, row.rate, async (id) => {
          if (row.followers === 'none') return;
          followers = await startCatchUpFollowers(server.wsUrl, id, row.followers, count);
          readStarted = performance.now();
        });
        const readSeconds = readStarted ? (performance.now() - readStarted) / 1000 : 1;
        const followerBytes = (await followers?.stop()) ?? 0;
        const cpu = server.process.cpuSeconds() - cpuBefore;
        const memory = await server.stop();
        const mbps = result.bytes / result.seconds / 1e6;
        rates.set(row.key, mbps);
        const alone = row.alone ? rates.get(row.alone) : undefined;
        const ratio = alone ? mbps / alone : undefined;
        const who =
          row.followers === 'none' ? 'none' : `${count} ${FOLLOWER_NAMES[row.followers]} (${count / 2} reading, ${count / 2} stalled)`;
        notes.push(
          `${row.key}  ${(row.rate ? `paced ${row.rate / 1e6} MB/s` : 'full speed').padEnd(22)}  ${who.padEnd(46)}  ${mbps.toFixed(1).padStart(11)}  ${(ratio?.toFixed(2) ?? '—').padStart(5)}  ${(followerBytes / readSeconds / 1e6).toFixed(1).padStart(14)}  ${cpu.toFixed(1).padStart(12)}  ${(memory.peakRssBytes / 1e6).toFixed(0).padStart(12)} MB`,
        );
        context.log(`ingest-under-readers ${row.key}: ${mbps.toFixed(1)} MB/s${ratio ? ` (${ratio.toFixed(2)}× alone)` : ''}`);
        if (row.count !== undefined) {
          targets.push({
            description: `server peak RSS < 1 GiB with ${row.count} followers (${row.key})`,
            actual: `${(memory.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
            pass: memory.peakRssBytes < MANY_FOLLOWERS_RSS_LIMIT_BYTES,
          });
        }
        if (ratio !== undefined && !row.floor) {
          targets.push({
            description: `uploader keeps ≥ 0.9 of its solo rate (${row.key})`,
            actual: `${ratio.toFixed(2)}×`,
            pass: ratio >= 0.9,
          });
        }
      } finally {
        await followers?.stop();
        await server.stop();
      }
    }
    notes.push(
      `Each row: the uploader (Spool protocol, raw ws, ${MESSAGE_BYTES / 1024} KiB messages, at most ${UPLOADER_WINDOW_BYTES / 1048576} MiB unsent) sends for ${UPLOAD_SECONDS} s, then finishes; its rate counts until completed.`,
      'Followers connect right after the resource is created and read from offset 0; odd ones stop reading their socket once connected (stalled). They run on a worker thread of the benchmark process (its own event loop), so reading them does not hold the uploader back. Followers MB/s = bytes all followers received / time from their connection to the upload end.',
      "(g) is a floor, not a target: (b)'s followers connected but not following (they hear statuses only), so no catch-up read runs; its ratio is the most any scheduling of catch-up reads could give (b) here.",
      'Clients and server share this machine (2 cores, shared with other work): the figures are relative.',
    );
    return {
      scenario: 'ingest-under-readers',
      title: `Uploader rate alone and under ${FOLLOWERS} catching-up followers`,
      sizeBytes: 0,
      baselineKey: '(a)',
      rows: [],
      targets,
      notes,
    };
  },
};
