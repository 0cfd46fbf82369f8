import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

/** What /proc/<pid>/stat says about a process: its name and CPU time in clock ticks. */
export interface ProcStat {
  comm: string;
  utime: number;
  stime: number;
}

/** Parses /proc/<pid>/stat; the name is in parentheses and may itself hold spaces or parentheses. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error('not a /proc/<pid>/stat line');
  // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('no utime/stime in /proc/<pid>/stat');
  return { comm: text.slice(open + 1, close), utime, stime };
}

/** A process's peak resident set (VmHWM in /proc/<pid>/status), in bytes. */
export function parseVmHwm(status: string): number | undefined {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Busy and total clock ticks of the whole machine from the `cpu` line of /proc/stat. */
export function parseMachineStat(text: string): { busy: number; total: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no cpu line in /proc/stat');
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function clockTicksPerSecond(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** CPU ticks per tracked name (per pid inside it), and of the machine, at one moment. */
export interface CpuSnapshot {
  atMs: number;
  machineBusy: number;
  byName: Map<string, Map<number, number>>;
}

/** CPU used between two snapshots, in cores (CPU seconds per wall second), by name. */
export type CpuCores = Record<string, number>;

/**
 * CPU and peak memory of the processes a run cares about, from /proc: single processes by pid
 * (the apps, the direct server, this process), groups by command name (redis-server, postgres:
 * machine-wide, so they include other users of the shared servers). "other" is the machine's
 * busy time that none of them explains: other sessions, or kernel work no process is charged for.
 */
export class ProcessMonitor {
  readonly ticksPerSecond = clockTicksPerSecond();
  private readonly pids = new Map<string, number>();
  private readonly groups = new Map<string, string>();

  /** Follows one process under a name (replacing whatever had the name before). */
  track(name: string, pid: number | undefined): void {
    if (pid === undefined) this.pids.delete(name);
    else this.pids.set(name, pid);
  }

  /** Follows every process whose command name is `comm`, summed under `name`. */
  trackCommand(name: string, comm: string): void {
    this.groups.set(name, comm);
  }

  untrack(name: string): void {
    this.pids.delete(name);
    this.groups.delete(name);
  }

  names(): string[] {
    return [...this.pids.keys(), ...this.groups.keys()];
  }

  snapshot(): CpuSnapshot {
    const byName = new Map<string, Map<number, number>>();
    for (const [name, pid] of this.pids) {
      const text = read(`/proc/${pid}/stat`);
      if (text) {
        const s = parseProcStat(text);
        byName.set(name, new Map([[pid, s.utime + s.stime]]));
      }
    }
    if (this.groups.size > 0) {
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        const text = read(`/proc/${entry}/stat`);
        if (!text) continue;
        const s = parseProcStat(text);
        for (const [name, comm] of this.groups) {
          if (s.comm !== comm) continue;
          const map = byName.get(name) ?? new Map<number, number>();
          map.set(Number(entry), s.utime + s.stime);
          byName.set(name, map);
        }
      }
    }
    const machine = parseMachineStat(read('/proc/stat') ?? '');
    return { atMs: performance.now(), machineBusy: machine.busy, byName };
  }

  /** Cores used by each name between two snapshots, plus `machine` and `other`. */
  cores(a: CpuSnapshot, b: CpuSnapshot): CpuCores {
    const wallS = (b.atMs - a.atMs) / 1000;
    const out: CpuCores = {};
    if (wallS <= 0) return out;
    let explained = 0;
    for (const [name, after] of b.byName) {
      const before = a.byName.get(name);
      let ticks = 0;
      // A process that appeared after the first snapshot counts from zero (a new Postgres backend).
      for (const [pid, t] of after) ticks += Math.max(0, t - (before?.get(pid) ?? 0));
      const cores = ticks / this.ticksPerSecond / wallS;
      out[name] = cores;
      explained += cores;
    }
    const machine = (b.machineBusy - a.machineBusy) / this.ticksPerSecond / wallS;
    out['machine'] = machine;
    out['other'] = Math.max(0, machine - explained);
    return out;
  }

  /** Peak resident memory (VmHWM) of each tracked name; for a group, its largest process. */
  peakRss(): Record<string, number> {
    const out: Record<string, number> = {};
    const snap = this.snapshot();
    for (const [name, pids] of snap.byName) {
      let peak = 0;
      for (const pid of pids.keys()) peak = Math.max(peak, parseVmHwm(read(`/proc/${pid}/status`) ?? '') ?? 0);
      if (peak > 0) out[name] = peak;
    }
    return out;
  }

  /**
   * Resets the peak-RSS mark of the single processes (ours: this one and its children) so the
   * next {@link peakRss} covers one phase; the kernel allows it only to a process's owner.
   */
  resetPeaks(): void {
    for (const pid of this.pids.values()) {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch {
        // not ours, or a kernel without it: the peak then covers the process's whole life
      }
    }
  }
}
