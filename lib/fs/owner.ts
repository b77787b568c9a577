// Which process owns a temp file, a lock or a running run, and whether it is still alive. A pid
// alone is not enough (pids are reused), so on Linux the owner is also named by its start time and
// the boot id; elsewhere a signal-0 probe is the best there is.
import * as fs from 'node:fs';
import * as os from 'node:os';

/** A process, as recorded in lock files and run owner files. */
export interface ProcessOwner {
  pid: number;
  host: string;
  /** Linux: the boot id and the process start time (clock ticks since boot); absent elsewhere. */
  boot?: string;
  start?: string;
}

function readProcStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) counted after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let bootId: string | undefined | null = null;
function readBootId(): string | undefined {
  if (bootId === null) {
    try {
      bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

let self: ProcessOwner | undefined;
/** This process. */
export function currentOwner(): ProcessOwner {
  if (self === undefined) {
    self = { pid: process.pid, host: os.hostname() };
    const boot = readBootId(),
      start = readProcStart(process.pid);
    if (boot !== undefined && start !== undefined) Object.assign(self, { boot, start });
  }
  return self;
}

/**
 * false when `owner` is provably gone (same host, and no such process, or a different process now
 * has its pid, or the machine rebooted); true when it is alive or cannot be checked from here
 * (another host), so callers fall back to a timeout for those.
 */
export function ownerAlive(owner: ProcessOwner): boolean {
  if (owner.host !== os.hostname()) return true;
  if (owner.boot !== undefined && readBootId() !== undefined && owner.boot !== readBootId()) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (owner.start !== undefined) {
    const now = readProcStart(owner.pid);
    if (now !== undefined && now !== owner.start) return false;
  }
  return true;
}

/** Parses an owner recorded as JSON; undefined if it is not one. */
export function parseOwner(text: string): ProcessOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<ProcessOwner>;
    if (typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === 'string') {
      const out: ProcessOwner = { pid: o.pid, host: o.host };
      if (typeof o.boot === 'string' && typeof o.start === 'string') Object.assign(out, { boot: o.boot, start: o.start });
      return out;
    }
  } catch {
    // not an owner record
  }
  return undefined;
}
