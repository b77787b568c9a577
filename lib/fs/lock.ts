// An exclusive lock between processes: a lock file created with O_EXCL that names its holder. A
// waiter breaks the lock when its holder is provably dead (same host: the process is gone, however
// long a live one takes), or when the file has not been refreshed for `staleMs` (a holder on another
// host, which async holders refresh while they hold it).
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { InformerError } from '../errors.js';
import { currentOwner, ownerAlive, parseOwner } from './owner.js';

/** Options of withLock / withLockAsync. */
export interface LockOptions {
  /** Give up waiting after this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** A lock not refreshed for this long is broken. Default 15 000 ms (holders refresh every staleMs / 3). */
  staleMs?: number;
}

/** Waiting for a lock timed out; the message names the lock file and its holder. */
export class LockTimeoutError extends InformerError {
  override readonly code = 'ERR_INFORMER_LOCK_TIMEOUT';
}
Object.defineProperty(LockTimeoutError.prototype, 'name', { value: 'LockTimeoutError', writable: true, configurable: true });

interface Held {
  file: string;
  token: string;
  refresh(): void;
  release(): void;
}

function tryAcquire(file: string, staleMs: number): Held | undefined {
  const token = randomBytes(8).toString('hex');
  const content = JSON.stringify({ ...currentOwner(), token });
  try {
    fs.writeFileSync(file, content, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    breakIfAbandoned(file, staleMs);
    return undefined;
  }
  const mine = (): boolean => {
    try {
      return fs.readFileSync(file, 'utf8') === content;
    } catch {
      return false;
    }
  };
  return {
    file,
    token,
    refresh() {
      const t = new Date();
      try {
        if (mine()) fs.utimesSync(file, t, t);
      } catch {
        // gone: the next waiter may take it; nothing to refresh
      }
    },
    release() {
      try {
        if (mine()) fs.unlinkSync(file);
      } catch {
        // already broken by another process: nothing to release
      }
    },
  };
}

function breakIfAbandoned(file: string, staleMs: number): void {
  try {
    const before = fs.readFileSync(file, 'utf8');
    const owner = parseOwner(before);
    const age = Date.now() - fs.statSync(file).mtimeMs;
    // On this host the holder's liveness decides (a slow live holder keeps its lock); a holder on
    // another host, or one that did not say who it is, must keep the file fresh.
    const abandoned = owner !== undefined && owner.host === hostname() ? !ownerAlive(owner) : age > staleMs;
    // Re-read just before removing, so a lock re-taken meanwhile by a live process is left alone.
    if (abandoned && fs.readFileSync(file, 'utf8') === before) fs.unlinkSync(file);
  } catch {
    // vanished meanwhile: the next attempt creates it
  }
}

function holderText(file: string): string {
  try {
    const owner = parseOwner(fs.readFileSync(file, 'utf8'));
    return owner ? ` (held by pid ${owner.pid} on ${owner.host})` : '';
  } catch {
    return '';
  }
}

function timeout(file: string, ms: number): LockTimeoutError {
  return new LockTimeoutError(
    `timed out after ${ms} ms waiting for the lock ${file}${holderText(file)}; if that process is stuck, stop it or delete the file`,
  );
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// The acquisition loop shared by both forms: try, then wait a growing, jittered delay, until the timeout.
function acquirer(file: string, options: LockOptions) {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 15_000;
  const start = Date.now();
  let delay = 1;
  return {
    staleMs,
    tryOnce: (): Held | undefined => tryAcquire(file, staleMs),
    nextDelay(): number {
      if (Date.now() - start > timeoutMs) throw timeout(file, timeoutMs);
      const d = delay + Math.random() * delay;
      delay = Math.min(delay * 2, 50);
      return d;
    },
  };
}

/**
 * Runs `fn` while holding the lock file `file`, waiting (blocking the thread) for it: for short,
 * synchronous critical sections. Async callers use withLockAsync, which waits without blocking.
 */
export function withLock<T>(file: string, fn: (held: { refresh(): void }) => T, options: LockOptions = {}): T {
  const a = acquirer(file, options);
  let held: Held | undefined;
  while ((held = a.tryOnce()) === undefined) sleepSync(a.nextDelay());
  try {
    return fn(held);
  } finally {
    held.release();
  }
}

/**
 * Runs `fn` while holding the lock file `file`; waits with timers (the event loop keeps turning) and
 * refreshes the lock every staleMs / 3 while `fn` runs.
 */
export async function withLockAsync<T>(file: string, fn: () => Promise<T> | T, options: LockOptions = {}): Promise<T> {
  const a = acquirer(file, options);
  let held: Held | undefined;
  while ((held = a.tryOnce()) === undefined) await new Promise((resolve) => setTimeout(resolve, a.nextDelay()));
  const h = held;
  const timer = setInterval(() => h.refresh(), Math.max(10, Math.floor(a.staleMs / 3)));
  timer.unref();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    h.release();
  }
}
