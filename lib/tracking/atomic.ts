// Crash-safe file primitives. Every whole-file write goes to a temp file that is then renamed (or
// hard-linked, for create-once files) over the target, so a reader or a process killed mid-write
// never sees a half-written meta.yaml, param or tag. Metric lines are appended with one write() on
// an O_APPEND descriptor, which the kernel applies whole, so concurrent writers interleave whole lines.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TrackingError } from './errors.js';

/** Prefix of temp files and lock files; MLflow ignores plain files at the store root. */
export const TEMP_PREFIX = '.informer-tmp-';

function tempPath(dir: string): string {
  return path.join(dir, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
}

function writeTemp(tmpDir: string, data: string | Uint8Array): string {
  fs.mkdirSync(tmpDir, { recursive: true });
  const tmp = tempPath(tmpDir);
  const fd = fs.openSync(tmp, 'wx');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return tmp;
}

/**
 * Writes `data` to `file` atomically: a temp file in `tmpDir` (same filesystem; defaults to the
 * target's folder) is written, fsynced and renamed over the target. Parent folders are created.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, tmpDir = path.dirname(file)): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = writeTemp(tmpDir, data);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Copies `src` to `dest` atomically (copy to a temp file in `tmpDir`, then rename). */
export function copyFileAtomic(src: string, dest: string, tmpDir = path.dirname(dest)): void {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  const tmp = tempPath(tmpDir);
  try {
    fs.copyFileSync(src, tmp, fs.constants.COPYFILE_EXCL);
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Creates `file` with `data` only if it does not exist yet, atomically (temp file + hard link, which
 * fails if the target exists). Returns true if this call created it, false if it already existed.
 */
export function createFileExclusive(file: string, data: string | Uint8Array, tmpDir = path.dirname(file)): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = writeTemp(tmpDir, data);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      // No hard links on this filesystem: fall back to O_EXCL (exclusive, but not all-or-nothing).
      try {
        fs.writeFileSync(file, data, { flag: 'wx' });
        return true;
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e2;
      }
    }
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Appends one line (which must end with '\n') to `file` with a single write on an O_APPEND
 * descriptor. A missing file is created atomically with the line in it, so the file is never seen
 * empty (MLflow rejects an empty metric file).
 */
export function appendLine(file: string, line: string, tmpDir = path.dirname(file)): void {
  const buf = Buffer.from(line, 'utf8');
  for (;;) {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (createFileExclusive(file, buf, tmpDir)) return;
      continue; // another process created it first: append to theirs
    }
    try {
      const n = fs.writeSync(fd, buf, 0, buf.length);
      if (n !== buf.length) throw new TrackingError(`short write appending to ${file} (${n} of ${buf.length} bytes)`);
      return;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Blocks the thread for `ms` milliseconds (the store API is synchronous). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Options of withLock. */
export interface LockOptions {
  /** Give up after this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** A lock file older than this is left over from a dead process and is broken. Default 15 000 ms. */
  staleMs?: number;
}

/**
 * Runs `fn` while holding an exclusive lock file (created with O_EXCL), so two processes creating
 * the same experiment or model version cannot both succeed. Waits with exponential backoff; a lock
 * older than `staleMs` (its holder died) is removed. Locks are held for milliseconds only.
 */
export function withLock<T>(lockFile: string, fn: () => T, options: LockOptions = {}): T {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 15_000;
  const start = Date.now();
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  let delay = 1;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, token, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    breakIfStale(lockFile, staleMs);
    if (Date.now() - start > timeoutMs) {
      throw new TrackingError(
        `timed out after ${timeoutMs} ms waiting for the lock ${lockFile}; if no other process is using the store, delete that file`,
      );
    }
    sleepSync(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
  try {
    return fn();
  } finally {
    try {
      if (fs.readFileSync(lockFile, 'utf8') === token) fs.unlinkSync(lockFile);
    } catch {
      // already broken as stale by another process: nothing to release
    }
  }
}

function breakIfStale(lockFile: string, staleMs: number): void {
  try {
    const before = fs.readFileSync(lockFile, 'utf8');
    const age = Date.now() - fs.statSync(lockFile).mtimeMs;
    // Re-read just before removing so a lock re-taken meanwhile by a live process is left alone.
    if (age > staleMs && fs.readFileSync(lockFile, 'utf8') === before) fs.unlinkSync(lockFile);
  } catch {
    // vanished meanwhile: retry the create
  }
}

/** Removes temp files left in `dir` by killed processes (older than `olderThanMs`). */
export function removeStaleTemps(dir: string, olderThanMs = 3_600_000): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const p = path.join(dir, name);
    try {
      if (now - fs.statSync(p).mtimeMs > olderThanMs) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // another process cleaned it up
    }
  }
}
