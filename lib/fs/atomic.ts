// Crash-safe writes, the one implementation for the whole package. A reader, or a process killed at
// any instant, sees a file or folder whole or not at all:
// - whole files go to a temp file in the same filesystem, are fsynced, then renamed over the target;
// - create-once files are hard-linked from a temp file (the link fails if the target exists);
// - one-line appends are a single write() on an O_APPEND descriptor, which the kernel applies whole;
// - folders are built in a staging folder and renamed into place (rename(2) refuses a non-empty
//   target, so two writers of one folder cannot both win).
// Temp names carry the writer's host and pid, so the next writer can remove a dead process's leftovers.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Prefix of every temp file and staging folder the package creates. */
export const TEMP_PREFIX = '.informer-tmp-';

const HOST_TAG = createHash('sha1').update(os.hostname()).digest('hex').slice(0, 8);

/** A fresh temp name: `.informer-tmp-<host>-<pid>-<random>`. */
export function tempName(): string {
  return `${TEMP_PREFIX}${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** What a whole-file write puts in the file: bytes, text, or a function writing to the open descriptor. */
export type FileContent = string | Uint8Array | ((fd: number) => void);

function writeTemp(tmpDir: string, data: FileContent, mode: number, createDir = true): string {
  if (createDir) fs.mkdirSync(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, tempName());
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    if (typeof data === 'function') data(fd);
    else fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  return tmp;
}

export interface AtomicWriteOptions {
  /** Where the temp file goes (same filesystem as the target). Default: the target's folder. */
  tmpDir?: string;
  /** File mode of a new file. Default 0o644. */
  mode?: number;
  /** Create missing parent folders (default true); false makes a missing folder an ENOENT error. */
  createParents?: boolean;
}

/** Writes `file` whole (temp file, fsync, rename over the target); parent folders are created. */
export function writeFileAtomic(file: string, data: FileContent, options: AtomicWriteOptions = {}): void {
  if (options.createParents !== false) fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = writeTemp(options.tmpDir ?? path.dirname(file), data, options.mode ?? 0o644, options.createParents !== false);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Copies `src` to `dest` whole (copy to a temp file, then rename). */
export function copyFileAtomic(src: string, dest: string, tmpDir = path.dirname(dest)): void {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, tempName());
  try {
    fs.copyFileSync(src, tmp, fs.constants.COPYFILE_EXCL);
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Creates `file` with `data` only if it does not exist yet, whole (temp file + hard link, which fails
 * if the target exists). Returns true if this call created it, false if it already existed.
 */
export function createFileExclusive(file: string, data: string | Uint8Array, tmpDir = path.dirname(file)): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = writeTemp(tmpDir, data, 0o644);
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
 * descriptor. A missing file is created whole with the line in it, so it is never seen empty.
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
      if (n !== buf.length) throw new Error(`short write appending to ${file} (${n} of ${buf.length} bytes)`);
      return;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Creates an empty staging folder in `parent` (which must be on the target's filesystem). */
export function makeStagingDir(parent: string): string {
  const dir = path.join(parent, tempName());
  for (let attempt = 0; ; attempt++) {
    fs.mkdirSync(parent, { recursive: true });
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (e) {
      // Another process removed the (empty) parent between the two calls: make it again.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 10) throw e;
    }
  }
}

/** Removes `dir` and then its parents up to (not including) `stop`, as long as they are empty. */
export function removeEmptyDirs(dir: string, stop: string): void {
  for (let d = dir; d !== stop && d.startsWith(stop + path.sep); d = path.dirname(d)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return; // not empty (in use by another writer) or already gone
    }
  }
}

function isNonEmptyDirError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}

/**
 * Moves the finished staging folder `staged` to `dest` in one rename. Returns false (leaving
 * `staged` in place) when `dest` already exists and is not empty; an empty `dest` is replaced.
 */
export function placeDir(staged: string, dest: string): boolean {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  try {
    fs.renameSync(staged, dest);
    return true;
  } catch (e) {
    if (isNonEmptyDirError(e)) return false;
    throw e;
  }
}

/**
 * Moves `staged` to `dest`, replacing a non-empty `dest`: the old folder is renamed aside first and
 * removed after, and put back if the second rename fails.
 */
export function replaceDir(staged: string, dest: string): void {
  if (placeDir(staged, dest)) return;
  const old = path.join(path.dirname(dest), tempName());
  fs.renameSync(dest, old);
  try {
    fs.renameSync(staged, dest);
  } catch (e) {
    fs.renameSync(old, dest);
    throw e;
  }
  fs.rmSync(old, { recursive: true, force: true });
}

/**
 * Builds a folder in a staging folder (`fill` writes into it) and moves it to `dest` whole; the
 * staging folder is removed whatever happens. `replace`: replace a non-empty `dest` (otherwise such
 * a `dest` makes this return false). `stagingParent` defaults to `dest`'s parent.
 */
export function writeDirAtomic(
  dest: string,
  fill: (dir: string) => void,
  options: { replace?: boolean; stagingParent?: string } = {},
): boolean {
  const staged = makeStagingDir(options.stagingParent ?? path.dirname(dest));
  try {
    fill(staged);
    if (options.replace) {
      replaceDir(staged, dest);
      return true;
    }
    return placeDir(staged, dest);
  } finally {
    fs.rmSync(staged, { recursive: true, force: true });
  }
}

const TEMP_NAME = /^\.informer-tmp-([0-9a-f]{8})-(\d+)-[0-9a-f]+$/;

function writerGone(name: string): boolean {
  const m = TEMP_NAME.exec(name);
  if (m === null || m[1] !== HOST_TAG) return false;
  const pid = Number(m[2]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the temp files and staging folders in `dir` whose writer died (same host, pid gone), or
 * that are older than `olderThanMs` whoever wrote them (default one hour: no write takes that long).
 */
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
      if (writerGone(name) || now - fs.lstatSync(p).mtimeMs > olderThanMs) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // another process cleaned it up
    }
  }
}
