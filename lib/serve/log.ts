// The server's structured log: one JSON line per request (access log at 'info'), drift warnings at
// 'warn', server errors at 'error', written by pino (asynchronous, so logging never holds a request).
// pino loads only when a server logs.
import type * as Pino from 'pino';

import { ConfigError } from '../errors.js';
import { requireLazily } from '../lazy.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
  /** Writes what is buffered (on close). */
  flush(): void;
}

/** A pino logger at `level` writing JSON lines to `destination` (a stream, or a file descriptor; default stdout). */
export function createServerLog(level: LogLevel, destination: NodeJS.WritableStream | number = 1): ServerLog | null {
  if (!LOG_LEVELS.includes(level)) throw new ConfigError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  if (level === 'silent') return null;
  const pino = requireLazily<typeof Pino.pino>('pino', 'the server log');
  const stream = typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination;
  const logger = pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  return {
    info: (fields, msg) => logger.info(fields, msg),
    warn: (fields, msg) => logger.warn(fields, msg),
    error: (fields, msg) => logger.error(fields, msg),
    flush: () => logger.flush(),
  };
}
