import { parseChecksumChoice } from '@spool/common';
import { z } from 'zod';

const role = z.enum(['admin', 'uploader', 'reader']);
const apiToken = z.object({ name: z.string().min(1), role, token: z.string().min(16, 'tokens need at least 16 characters') });
/** `name:role:token,name:role:token` in the environment or a flag; an array of objects in a config file. */
const apiTokens = z.union([
  z.array(apiToken),
  z.string().transform((text, ctx) => {
    const out: z.infer<typeof apiToken>[] = [];
    for (const entry of text.split(',').filter((e) => e.trim() !== '')) {
      const [name, roleName, ...secret] = entry.trim().split(':');
      const parsed = apiToken.safeParse({ name, role: roleName, token: secret.join(':') });
      if (!parsed.success) {
        ctx.addIssue({
          code: 'custom',
          message: `"${name ?? ''}:${roleName ?? ''}:…" is not name:admin|uploader|reader:token (token ≥ 16 chars)`,
        });
        return z.NEVER;
      }
      out.push(parsed.data);
    }
    return out;
  }),
]);

const bytes = z.coerce.number().int().min(0);
const millis = z.coerce.number().int().min(1);
/** The mode an octal string such as `0600`, `600` or `0o600` stands for. */
export const parseOctalMode = (text: string): number => Number.parseInt(text.slice(-3), 8);
/**
 * A permission mode as an octal string (kept as written, so `--help` shows `0600`; read it
 * with parseOctalMode), which must give the server's own user at least `owner`.
 */
const octalMode = (owner: number) =>
  z
    .string()
    .regex(/^(?:0o?)?[0-7]{3}$/, 'must be an octal mode such as 0600')
    .refine((text) => (parseOctalMode(text) & owner) === owner, `must give the owner at least ${owner.toString(8)}`);
/** Checksums as users write them (`crc32`, `crc32,md5`, `none`): kept as written, read with parseChecksumChoice. */
const checksumChoice = z.string().superRefine((text, ctx) => {
  try {
    parseChecksumChoice(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v))]);

/**
 * Every setting of the server, with its default. Filled from a config file, then
 * SPOOL_* environment variables, then command-line flags (later wins); see
 * docs/configuration.md. Keys are camelCase here, SPOOL_SNAKE_CASE in the environment,
 * --kebab-case as flags.
 */
export const ConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('Interface to listen on (0.0.0.0 for all)'),
    port: z.coerce.number().int().min(0).max(65535).default(8080).describe('TCP port (0 = any free port)'),
    dataDir: z.string().min(1).default('./data').describe('Directory for the catalog and resource files'),
    dataDirMode: octalMode(0o700)
      .default('0700')
      .describe('Permissions (octal) of the data directory when the server creates it, and of its blobs/ directory'),
    dataFileMode: octalMode(0o600)
      .default('0600')
      .describe('Permissions (octal) of every data file: resource files, catalog.sqlite and its -wal/-shm files'),
    publicUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Base URL clients reach the server at (behind a proxy); resource references are built from it'),
    checkpointIntervalMs: millis
      .default(100)
      .describe('How often written bytes are recorded (durable); they are visible as soon as written, on every node'),
    catchUpReadBudgetBytes: bytes
      .min(64 * 1024)
      .default(256 * 1024 * 1024)
      .describe('Bytes that followers and readers behind the tail hold in total as pieces read from storage (16 KiB to 1 MiB each)'),
    syncOnCheckpoint: bool.default(false).describe('fdatasync at each checkpoint (survive machine crashes, not only process crashes)'),
    maxResourceBytes: bytes.default(0).describe('Largest resource in bytes; 0 = unlimited'),
    maxActiveUploads: z.coerce.number().int().min(0).default(0).describe('Most uploads in progress at once; 0 = unlimited'),
    resumeGraceMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(10 * 60_000)
      .describe('How long a resumable upload whose writer left (or whose server died) waits to be resumed before it is FAILED'),
    retentionMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('Delete COMPLETED/FAILED resources this long after they ended; 0 = keep forever'),
    sweepIntervalMs: millis.default(5_000).describe('How often the resume-grace and retention rules run'),
    authEnabled: bool.default(false).describe('Require access tokens on every protocol path'),
    apiTokens: apiTokens.default([]).describe('API tokens with roles: name:admin|uploader|reader:token, comma-separated'),
    metricsToken: z
      .string()
      .min(16, 'must be at least 16 characters')
      .optional()
      .describe(
        'A token that alone may read /metrics (Authorization: Bearer); without it /metrics needs an API token that may list everything (admin), when access control is on',
      ),
    requireUploadContext: bool.default(false).describe('Refuse Step uploads without streamingUploadContextId'),
    uploadChecksums: checksumChoice
      .default('crc32')
      .describe(
        'Checksums Spool-protocol, HTTP and tus uploads compute by default: none or a list of crc32, md5, sha256 (Step uploads always get md5); an upload may choose its own',
      ),
    httpUploadChecksum: checksumChoice
      .optional()
      .describe('HTTP uploads (PUT, POST, forms, appends) only: overrides uploadChecksums; a request may choose with ?checksum='),
    uploadHighWaterMarkBytes: bytes
      .min(64 * 1024)
      .default(4 * 1024 * 1024)
      .describe('Bytes queued for disk before reading from the client pauses'),
    maxTextMessageBytes: bytes
      .min(1024)
      .default(1024 * 1024)
      .describe('Largest WebSocket text (control) message'),
    maxBufferedTextBytes: bytes
      .min(1024)
      .default(64 * 1024 * 1024)
      .describe(
        'Most bytes of unfinished WebSocket text messages held at once, all connections together; a connection whose message would pass it is closed 1013',
      ),
    inlineMaxBytes: bytes
      .max(1024 * 1024)
      .default(64 * 1024)
      .describe(
        'Largest resource stored whole (a blob of a stream upload) whose bytes are kept in its catalog row instead of a file; 0: none',
      ),
    maxLinesReplyBytes: bytes
      .min(1024)
      .default(64 * 1024 * 1024)
      .describe('Largest line page a client may request'),
    pingIntervalMs: millis.default(25_000).describe('WebSocket keepalive ping interval'),
    uploadIdleTimeoutMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(15 * 60_000)
      .describe(
        'A WebSocket upload that sends no byte for this long is closed 1008 (Step: FAILED; Spool: released, still resumable); 0 = never',
      ),
    closeTimeoutMs: millis.default(5_000).describe('How long to wait for a peer to answer a close frame'),
    maxConnections: z.coerce
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe(
        'Most sockets open at once, every protocol together (HTTP, WebSocket, TCP); more are answered 503 and closed. Each needs a file descriptor: raise `ulimit -n` with it. 0 = unlimited',
      ),
    shutdownTimeoutMs: millis.default(10_000).describe('Longest graceful shutdown before connections are cut'),
    httpMaxBodyBytes: bytes
      .default(0)
      .describe(
        'Largest HTTP request body (one upload, append or form) in bytes; 0 = unlimited (maxResourceBytes still applies). Larger: 413, bytes up to the limit kept',
      ),
    httpIdleTimeoutMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(60_000)
      .describe('An HTTP request body that sends no byte for this long is answered 408, bytes received so far kept; 0 = never'),
    httpRequestDeadlineMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(0)
      .describe(
        'Longest time to receive one HTTP request body (an upload of a growing log may take hours); 0 = no deadline. Exceeded: 408, bytes kept',
      ),
    httpMaxHeaderBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024)
      .default(16 * 1024)
      .describe('Largest HTTP request head (request line and headers); larger: 431'),
    tusBasePath: z
      .string()
      .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, 'a path starting with /, without query or fragment')
      .refine((value) => value.replace(/\/+$/, '') !== '', 'not the root: the tus endpoint needs a path of its own')
      .default('/files/')
      .describe('Where the tus 1.0 endpoint is mounted (creation at this URL, uploads below it)'),
    tusUploadChecksum: checksumChoice
      .optional()
      .describe('tus uploads only: overrides uploadChecksums (a client may send Upload-Checksum with any of them)'),
    httpSseKeepaliveMs: millis.default(15_000).describe('Interval of keepalive comments on HTTP Server-Sent Events streams'),
    httpCompressionLevel: z.coerce
      .number()
      .int()
      .min(0)
      .max(9)
      // 3: a build log shrinks 6× at half the CPU of zlib's default 6 (7.1×); docs/benchmarks.md.
      .default(3)
      .describe(
        'gzip level of HTTP answers for clients that send Accept-Encoding: gzip (JSON, line pages, progressive text, follow mode, SSE; never byte ranges or plain content downloads); 0 = never compress',
      ),
    httpMaxCompressedStreams: z.coerce
      .number()
      .int()
      .min(0)
      .default(512)
      .describe(
        'Most long-lived HTTP answers (follow mode, SSE) compressed at once: each holds about 300 KiB of zlib state; further ones are sent uncompressed',
      ),
    corsOrigins: z
      .string()
      .default('*')
      .describe(
        'Origins whose pages may call the HTTP protocols from a browser (CORS): `*` for any, a comma-separated list of origins (https://ci.example.com), or empty for none',
      ),
    hspPort: z
      .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)])
      .default(9998)
      .describe('TCP port of the HSP listener (docs/protocols/hsp.md): 0 = any free port (logged), off = no HSP listener'),
    hspMaxHeaderBytes: z.coerce
      .number()
      .int()
      .min(256)
      .max(65535)
      .default(16 * 1024)
      .describe('Largest HSP header block a packet may declare; larger: status 129, connection closed'),
    hspMaxPayloadBytes: bytes
      .max(0xffff_ffff)
      .default(1024 * 1024)
      .describe(
        'Largest HSP packet payload (a stream request’s bytes are not a payload and are not bounded by it); larger: status 129, connection closed',
      ),
    hspIdleTimeoutMs: millis
      .default(60_000)
      .describe('An HSP connection that sends no byte for this long (between packets, or during a stream) is answered 129 and closed'),
    hspPacketTimeoutMs: millis
      .default(10_000)
      .describe('An HSP packet must arrive whole within this long of its first byte (slow senders); else status 129, connection closed'),
    blobBasePath: z
      .string()
      .regex(
        /^(?:\/[A-Za-z0-9._~-]+)+\/?$/,
        'must be an absolute path of one or more segments, e.g. /blob-sync/ (not /: the blob API has a path of its own)',
      )
      .default('/blob-sync/')
      .describe('Base path of the blob-sync (Soledad blob) API: <base>blobs/… and <base>stream/…'),
    blobQuotaBytes: bytes.default(0).describe('Most bytes of blobs one blob-sync user may store (507 past it); 0 = unlimited'),
    blobMaxListBytes: bytes
      .min(1024)
      .default(8 * 1024 * 1024)
      .describe('Largest blob id list of one blob-sync stream request: a download body, or the first line of an upload'),
    pipeBasePath: z
      .string()
      .regex(
        /^(?:\/[A-Za-z0-9._~-]+)+\/?$/,
        'must be an absolute path of one or more segments, e.g. /pipe/ (not /: the rendezvous API is there)',
      )
      .default('/pipe/')
      .describe('Base path of the piping-server style pipes: PUT/POST <base><path> sends, GET <base><path> receives'),
    rendezvousWaitMs: millis
      .default(60_000)
      .describe('How long an http-rendezvous stream waits from its creation for both sides to connect (then 504 SessionTimeoutError)'),
    rendezvousKeepEndedMs: millis
      .default(60_000)
      .describe('How long an ended http-rendezvous stream stays visible to GET /stream and /stream/:id/status'),
    catalog: z
      .enum(['sqlite', 'postgres'])
      .default('sqlite')
      .describe(
        'Where resources are registered: sqlite (embedded, in dataDir) or postgres (shared by the nodes of a cluster; databaseUrl)',
      ),
    events: z
      .enum(['memory', 'redis'])
      .default('memory')
      .describe('How status reaches followers: memory (this process) or redis (every node of a cluster; redisUrl)'),
    bytes: z
      .enum(['files', 'shared-dir', 'postgres'])
      .default('files')
      .describe(
        'Where resource bytes live: files (dataDir, this node), shared-dir (sharedDir, mounted by every node: NFS/EFS/CephFS) or postgres (chunks in the catalog database)',
      ),
    databaseUrl: z
      .string()
      .regex(/^postgres(?:ql)?:\/\//, 'must be a postgres:// URL')
      .optional()
      .describe('PostgreSQL URL for catalog/bytes postgres, e.g. postgres://spool@db:5432/spool'),
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .optional()
      .describe('Redis URL for events redis, e.g. redis://cache:6379'),
    redisKeyPrefix: z.string().default('spool:').describe('Prefix of every Redis channel: several deployments may share one Redis'),
    sharedDir: z.string().min(1).optional().describe('Directory every node mounts, for bytes shared-dir'),
    sharedDirSync: bool
      .default(true)
      .describe(
        'bytes shared-dir: fdatasync each checkpoint so other nodes see the bytes (NFS/EFS need it); false where the file system is coherent (CephFS, a local directory)',
      ),
    nodeUrl: z
      .url({ protocol: /^http$/ })
      .optional()
      .describe(
        "Cluster: the URL other nodes reach this node at directly (http://10.0.0.5:8080), where a pipe or rendezvous party arriving at another node is forwarded; default: http://<host>:<port>, with host 0.0.0.0 or :: this machine's first non-internal IPv4 address",
      ),
    writerLeaseTtlMs: z.coerce
      .number()
      .int()
      .min(300)
      .default(10_000)
      .describe(
        'Cluster: how long a node that stops renewing (hangs) keeps its uploads before another node may take them over; a killed node loses them at once',
      ),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('Least severe log level written'),
    logFormat: z.enum(['json', 'pretty']).default('json').describe('Log line format on stderr'),
  })
  .strict()
  .superRefine((config, ctx) => {
    const need = (when: boolean, key: 'databaseUrl' | 'redisUrl' | 'sharedDir', why: string) => {
      if (when && !config[key]) ctx.addIssue({ code: 'custom', path: [key], message: `required with ${why}` });
    };
    need(config.catalog === 'postgres' || config.bytes === 'postgres', 'databaseUrl', 'catalog or bytes postgres (SPOOL_DATABASE_URL)');
    need(config.events === 'redis', 'redisUrl', 'events redis (SPOOL_REDIS_URL)');
    need(config.bytes === 'shared-dir', 'sharedDir', 'bytes shared-dir (SPOOL_SHARED_DIR)');
    if (config.bytes === 'postgres' && config.catalog !== 'postgres') {
      // Its appends are fenced by the writer leases, which live in the catalog's database.
      ctx.addIssue({ code: 'custom', path: ['bytes'], message: 'bytes postgres needs catalog postgres' });
    }
  });

export type SpoolConfig = z.infer<typeof ConfigSchema>;
export type SpoolConfigInput = z.input<typeof ConfigSchema>;
