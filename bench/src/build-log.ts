import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { seededRandom } from './seeded-random.js';

const PACKAGES = ['core', 'api', 'billing', 'search', 'auth', 'storage', 'web', 'cli', 'worker', 'reports'];
const WORDS = ['Order', 'Cart', 'User', 'Invoice', 'Session', 'Payment', 'Index', 'Query', 'Cache', 'Token', 'Report', 'Queue'];
const SUFFIXES = ['Service', 'Controller', 'Repository', 'Handler', 'Mapper', 'Factory', 'Validator', 'Client'];
const DEPENDENCIES = ['jackson-databind', 'guava', 'netty-handler', 'slf4j-api', 'commons-lang3', 'okhttp', 'protobuf-java', 'grpc-core'];

/**
 * A log that looks like a CI build's (what `?start=0` and follow mode really carry):
 * timestamps, levels, module and class names, compiler warnings with paths, dependency
 * downloads, test results with durations, ANSI colours, and some hex (digests, ids) that
 * compresses poorly — not a repeated line, which would flatter gzip.
 */
export function* buildLogLines(seed = 13): Generator<string> {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const hex = (digits: number) => Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');
  let clock = Date.UTC(2026, 0, 12, 9, 30, 0);
  for (let line = 0; ; line++) {
    clock += Math.floor(random() * 40);
    const stamp = new Date(clock).toISOString();
    const module = pick(PACKAGES);
    const type = `${pick(WORDS)}${pick(SUFFIXES)}`;
    const roll = random();
    if (roll < 0.35) yield `${stamp} [INFO] [${module}] Compiling src/main/java/com/acme/${module}/${type}.java`;
    else if (roll < 0.45)
      yield `${stamp} [WARN] [${module}] src/${module}/${type}.ts(${1 + Math.floor(random() * 400)},${1 + Math.floor(random() * 80)}): warning TS6133: '${pick(WORDS).toLowerCase()}' is declared but its value is never read.`;
    else if (roll < 0.55)
      yield `${stamp} [INFO] Downloading https://repo.maven.apache.org/maven2/com/acme/${pick(DEPENDENCIES)}/${Math.floor(random() * 9)}.${Math.floor(random() * 30)}.${Math.floor(random() * 9)}/${pick(DEPENDENCIES)}.jar (${Math.floor(random() * 900)} kB at ${(random() * 9).toFixed(1)} MB/s)`;
    else if (roll < 0.8)
      yield `  \u001b[32m✓\u001b[0m ${type} ${pick(['computes', 'rejects', 'caches', 'retries', 'returns'])} ${pick(WORDS).toLowerCase()} ${pick(['totals', 'when empty', 'on timeout', 'for admins', 'in order'])} (${Math.floor(random() * 250)} ms)`;
    else if (roll < 0.9)
      yield `\u001b[32mPASS\u001b[0m tests/${module}/${type}.test.ts (${(random() * 4).toFixed(3)} s) — ${Math.floor(random() * 40)} tests`;
    else if (roll < 0.97)
      yield `${stamp} [DEBUG] [${module}] request ${hex(16)} handled in ${Math.floor(random() * 900)} µs, cache ${pick(['hit', 'miss'])}`;
    else yield `${stamp} [INFO] layer sha256:${hex(64)} pushed (${Math.floor(random() * 90)} MB)`;
    if (line % 5000 === 4999) yield `${stamp} [INFO] ------------------------------------------------------------------------`;
  }
}

/** Writes the first `sizeBytes` bytes of the build log to `file` (its last line may be cut). */
export async function writeBuildLog(file: string, sizeBytes: number): Promise<void> {
  const out = createWriteStream(file);
  let written = 0;
  let batch: string[] = [];
  let batchBytes = 0;
  for (const line of buildLogLines()) {
    batch.push(`${line}\n`);
    batchBytes += Buffer.byteLength(line) + 1;
    if (batchBytes < 1 << 20 && written + batchBytes < sizeBytes) continue;
    let chunk = Buffer.from(batch.join(''));
    if (written + chunk.length > sizeBytes) chunk = chunk.subarray(0, sizeBytes - written);
    written += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
    batch = [];
    batchBytes = 0;
    if (written >= sizeBytes) break;
  }
  out.end();
  await once(out, 'finish');
}
