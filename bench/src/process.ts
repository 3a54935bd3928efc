import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Resident memory of a process, in bytes. */
export interface MemoryUsage {
  /** VmRSS just after the process announced it was ready. */
  readyRssBytes: number;
  /** The highest of VmHWM (kernel peak, read just before stopping) and every VmRSS sample. */
  peakRssBytes: number;
  /** VmRSS samples taken (every {@link RSS_SAMPLE_INTERVAL_MS}). */
  samples: number;
}

export interface ServerProcessOptions {
  /** Shown in errors. */
  name: string;
  /** Script run with `node`. */
  script: string;
  args?: string[];
  /** Added to the environment (WS_NO_BUFFER_UTIL is never inherited: servers always get their fast path). */
  env?: Record<string, string>;
  /** Node flags placed before the script (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
  /** Matched against stdout + stderr; group 1 is the URL the server listens at. */
  readyPattern?: RegExp;
  startTimeoutMs?: number;
}

/** How often VmRSS is sampled while a server runs. */
export const RSS_SAMPLE_INTERVAL_MS = 50;
const DEFAULT_READY_PATTERN = /"url":"((?:ws|http):\/\/[^"]+)"/;
const OUTPUT_TAIL_CHARS = 64 * 1024;

/**
 * A server under test in its own process: started with `node`, ready once it printed its
 * URL, its resident memory watched through /proc/<pid>/status (VmRSS every 50 ms, VmHWM
 * at the end), stopped with SIGTERM (SIGKILL if it lingers).
 */
export class ServerProcess {
  /** Every started process not stopped yet (see {@link stopAll}). */
  static readonly #running = new Set<ServerProcess>();
  readonly name: string;
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #pid: number;
  readonly #readyRssBytes: number;
  readonly #sampler: NodeJS.Timeout;
  readonly #exited: Promise<void>;
  #maxSampledRssBytes: number;
  #samples = 0;
  #output: string;

  private constructor(name: string, child: ChildProcess, url: string, output: string, exited: Promise<void>) {
    this.name = name;
    this.url = url;
    this.#child = child;
    this.#pid = child.pid as number;
    this.#output = output;
    this.#exited = exited;
    child.stdout?.on('data', (data: Buffer) => this.#append(data));
    child.stderr?.on('data', (data: Buffer) => this.#append(data));
    this.#readyRssBytes = readProcStatus(this.#pid)?.rssBytes ?? 0;
    this.#maxSampledRssBytes = this.#readyRssBytes;
    this.#sampler = setInterval(() => this.#sample(), RSS_SAMPLE_INTERVAL_MS);
    ServerProcess.#running.add(this);
  }

  /** Stops every server still running (after a failed or stalled run, and at exit). */
  static async stopAll(): Promise<void> {
    await Promise.all([...ServerProcess.#running].map((server) => server.stop()));
  }

  static start(options: ServerProcessOptions): Promise<ServerProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    if (!options.env?.WS_NO_BUFFER_UTIL) delete env.WS_NO_BUFFER_UTIL;
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), options.script, ...(options.args ?? [])], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const readyPattern = options.readyPattern ?? DEFAULT_READY_PATTERN;
    return new Promise<ServerProcess>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(
        () => fail(new Error(`${options.name} did not start within ${options.startTimeoutMs ?? 20_000} ms`)),
        options.startTimeoutMs ?? 20_000,
      );
      const onData = (data: Buffer) => {
        output += data.toString('utf8');
        const url = readyPattern.exec(output)?.[1];
        if (url === undefined) return;
        cleanup();
        resolve(new ServerProcess(options.name, child, url, output, exited));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        fail(new Error(`${options.name} exited before it was ready (${signal ?? code}):\n${output.slice(-4000)}`));
      };
      const fail = (error: Error) => {
        cleanup();
        child.kill('SIGKILL');
        reject(error);
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
  }

  get pid(): number {
    return this.#pid;
  }

  /** What the process printed so far (the last 64 KiB). */
  get output(): string {
    return this.#output;
  }

  /** CPU time the process (all its threads) has used so far, in seconds. */
  cpuSeconds(): number {
    return readCpuSeconds(this.#pid) ?? 0;
  }

  /** Memory figures so far, without stopping. */
  memory(): MemoryUsage {
    this.#sample();
    const status = readProcStatus(this.#pid);
    return {
      readyRssBytes: this.#readyRssBytes,
      peakRssBytes: Math.max(this.#maxSampledRssBytes, status?.hwmBytes ?? 0),
      samples: this.#samples,
    };
  }

  /** Reads the peak memory, then stops the process (SIGTERM, SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 15_000): Promise<MemoryUsage> {
    const usage = this.memory();
    clearInterval(this.#sampler);
    ServerProcess.#running.delete(this);
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
      await this.#exited;
      clearTimeout(timer);
    }
    return usage;
  }

  #sample(): void {
    const status = readProcStatus(this.#pid);
    if (!status) return;
    this.#samples++;
    if (status.rssBytes > this.#maxSampledRssBytes) this.#maxSampledRssBytes = status.rssBytes;
  }

  #append(data: Buffer): void {
    this.#output += data.toString('utf8');
    if (this.#output.length > 2 * OUTPUT_TAIL_CHARS) this.#output = this.#output.slice(-OUTPUT_TAIL_CHARS);
  }
}

interface ProcStatus {
  rssBytes: number;
  hwmBytes: number;
}

const VM_RSS = /^VmRSS:\s+(\d+) kB/m;
const VM_HWM = /^VmHWM:\s+(\d+) kB/m;

/** VmRSS and VmHWM of `pid`, or undefined once the process is gone. */
function readProcStatus(pid: number): ProcStatus | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0) * 1024;
  return { rssBytes: kib(VM_RSS), hwmBytes: kib(VM_HWM) };
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of `pid` (every thread), or undefined once the process is gone. */
function readCpuSeconds(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces), from field 3 (state) on.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return (userTicks + systemTicks) / CLOCK_TICKS_PER_SECOND;
}
