/**
 * What a process and its descendants use, read from /proc (Linux; elsewhere the figures are
 * undefined): resident memory, CPU time and open file descriptors. The local cloud is a process
 * tree (Node.js with worker threads, DynamoDB Local's watchdog and JVM), so its cost is the tree's.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface TreeUsage {
  readonly processes: number;
  readonly rssMiB: number;
  readonly cpuSeconds: number;
  readonly openFiles: number;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

export function treeUsage(rootPid: number): TreeUsage | undefined {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return undefined;
  }
  const children = new Map<number, number[]>();
  for (const pid of pids) {
    const ppid = statFields(pid)?.[1];
    if (ppid === undefined) continue;
    children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), pid]);
  }
  let rssKiB = 0;
  let ticks = 0;
  let openFiles = 0;
  let processes = 0;
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const fields = statFields(pid);
    if (!fields) continue;
    processes++;
    ticks += Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15 of stat)
    rssKiB += Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${pid}/status`) ?? '')?.[1] ?? 0);
    try {
      openFiles += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // gone meanwhile
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return { processes, rssMiB: Math.round(rssKiB / 1024), cpuSeconds: Math.round((ticks / CLOCK_TICKS) * 10) / 10, openFiles };
}

/** The soft and hard limits on open files of this process. */
export function openFileLimits(): { soft: number; hard: number } | undefined {
  const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(read('/proc/self/limits') ?? '');
  if (!m) return undefined;
  const n = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

/** Fields of /proc/<pid>/stat after the command name (index 0 = state, 1 = ppid, 11 = utime, 12 = stime). */
function statFields(pid: number): string[] | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
