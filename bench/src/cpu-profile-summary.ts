/**
 * `node bench/dist/cpu-profile-summary.js <file.cpuprofile> [top]`: the functions where a
 * V8 CPU profile (from `node --cpu-prof`, see `pnpm bench -- --profile`) spends its time,
 * by self time and by total (inclusive) time, merged by function and source location.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Column, formatTable } from './table.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

interface FunctionTime {
  name: string;
  selfMicros: number;
  totalMicros: number;
}

function describe(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const file = frame.url.replace(/^file:\/\//, '');
  const short = file.includes('node_modules')
    ? file.slice(file.lastIndexOf('node_modules') + 13)
    : path.relative(process.cwd(), file) || file;
  return `${name}  ${short}:${frame.lineNumber + 1}`;
}

/** Self and total time per function (a recursive function's total counts each sample once). */
export function summarizeProfile(profile: CpuProfile): { functions: FunctionTime[]; wallMicros: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfByNode = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => {
    // timeDeltas[i] is the time before sample i; the next delta is what sample i lasted.
    const duration = profile.timeDeltas[index + 1] ?? 0;
    selfByNode.set(nodeId, (selfByNode.get(nodeId) ?? 0) + duration);
  });
  const functions = new Map<string, FunctionTime>();
  const entry = (name: string) => {
    let found = functions.get(name);
    if (!found) {
      found = { name, selfMicros: 0, totalMicros: 0 };
      functions.set(name, found);
    }
    return found;
  };
  for (const [nodeId, micros] of selfByNode) {
    const node = byId.get(nodeId);
    if (!node) continue;
    entry(describe(node.callFrame)).selfMicros += micros;
    const seen = new Set<string>();
    for (let at: number | undefined = nodeId; at !== undefined; at = parent.get(at)) {
      const ancestor = byId.get(at);
      if (!ancestor) break;
      const name = describe(ancestor.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      entry(name).totalMicros += micros;
    }
  }
  return { functions: [...functions.values()], wallMicros: profile.endTime - profile.startTime };
}

function main(): void {
  const [file, topArgument] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/dist/cpu-profile-summary.js <file.cpuprofile> [top=25]\n');
    process.exit(2);
  }
  const top = Number(topArgument ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const { functions, wallMicros } = summarizeProfile(profile);
  const idle = functions.find((fn) => fn.name === '(idle)')?.selfMicros ?? 0;
  const busy = wallMicros - idle;
  const percent = (micros: number) => `${((100 * micros) / wallMicros).toFixed(1)}%`;
  const columns: Column[] = [
    { header: 'self ms', align: 'right' },
    { header: 'self', align: 'right' },
    { header: 'total ms', align: 'right' },
    { header: 'total', align: 'right' },
    { header: 'function  location', align: 'left' },
  ];
  const row = (fn: FunctionTime) => [
    (fn.selfMicros / 1000).toFixed(0),
    percent(fn.selfMicros),
    (fn.totalMicros / 1000).toFixed(0),
    percent(fn.totalMicros),
    fn.name,
  ];
  process.stdout.write(
    `${file}\nwall ${(wallMicros / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s (${percent(busy)}); percentages of wall time\n\n`,
  );
  process.stdout.write(
    `By self time:\n${formatTable(
      columns,
      [...functions]
        .sort((x, y) => y.selfMicros - x.selfMicros)
        .slice(0, top)
        .map(row),
    )}\n\n`,
  );
  const inclusive = [...functions].filter((fn) => !fn.name.startsWith('(root)')).sort((x, y) => y.totalMicros - x.totalMicros);
  process.stdout.write(`By total time:\n${formatTable(columns, inclusive.slice(0, top).map(row))}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.on('error', () => process.exit(0)); // e.g. piped into head
  main();
}
