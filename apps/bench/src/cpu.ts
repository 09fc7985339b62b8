import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

// Linux reports process CPU in clock ticks of 1/100 s (USER_HZ) in /proc/<pid>/stat.
const TICKS_PER_SECOND = 100;

/** Seconds of CPU (user + system) a process has used, or null where there is no /proc. */
export function processCpuSeconds(pid: number): number | null {
  try {
    return cpuOfStat(readFileSync(`/proc/${pid}/stat`, "utf8")).seconds;
  } catch {
    return null;
  }
}

function cpuOfStat(stat: string): { name: string; seconds: number } {
  // The name is in parentheses and may hold spaces; the fields after it are fixed.
  const close = stat.lastIndexOf(")");
  const name = stat.slice(stat.indexOf("(") + 1, close);
  const fields = stat.slice(close + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
  return { name, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

/** Seconds of CPU each `postgres` process of this machine has used, by pid; null without /proc. */
export function postgresCpuSeconds(): Map<number, number> | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return null;
  }
  const byPid = new Map<number, number>();
  for (const pid of entries) {
    try {
      const stat = cpuOfStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
      if (stat.name === "postgres") byPid.set(Number(pid), stat.seconds);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return byPid;
}

/**
 * CPU seconds PostgreSQL used between two readings: per process, so that a backend that ended
 * meanwhile (a pool closing an idle connection) does not subtract its whole life from the sum.
 * A process that started meanwhile counts from zero; one that ended loses only its last moments.
 */
export function postgresCpuBetween(start: Map<number, number>, end: Map<number, number>): number {
  let seconds = 0;
  for (const [pid, atEnd] of end) seconds += atEnd - (start.get(pid) ?? 0);
  return seconds;
}

/** Busy and total CPU seconds of the whole machine, summed over its cores. */
export function machineCpuSeconds(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    busy += all - times.idle;
    total += all;
  }
  return { busy: busy / 1000, total: total / 1000 };
}
