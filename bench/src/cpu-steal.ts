import { readFileSync } from 'node:fs';

/** Aggregate CPU times from /proc/stat (clock ticks). */
export interface CpuTimes {
  total: number;
  steal: number;
  idle: number;
}

/** The machine's CPU time counters now (zeros where /proc/stat is unavailable). */
export function readCpuTimes(): CpuTimes {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user/nice).
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    return { total: user + nice + system + idle + iowait + irq + softirq + steal, steal, idle: idle + iowait };
  } catch {
    return { total: 0, steal: 0, idle: 0 };
  }
}

/** Share of the machine's CPU time between two readings that the hypervisor gave to someone else. */
export function stealShare(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  return total > 0 ? (after.steal - before.steal) / total : 0;
}
