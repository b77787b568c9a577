// Batches of window indices for one epoch, with a seeded shuffle so that a run is reproducible from its
// seed (the reference shuffles with torch's unseeded global generator).

import { ConfigError } from '../errors.js';
import { seededStream } from '../random.js';

export interface BatchIndicesOptions {
  shuffle: boolean;
  /** Drop the last batch when it is smaller than batchSize (the reference does for train, val and test). */
  dropLast: boolean;
  /** Default 0. */
  seed?: number;
  /** Mixed with the seed so every epoch gets its own order (default 0). */
  epoch?: number;
}

function int(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new ConfigError(`batchIndices: ${name} must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

/**
 * Splits 0..n-1 into batches of batchSize, shuffled (Fisher-Yates) by a generator seeded from
 * (seed, epoch) when `shuffle` is set. The same arguments always give the same batches.
 */
export function batchIndices(n: number, batchSize: number, opts: BatchIndicesOptions): number[][] {
  int('n', n, 0);
  int('batchSize', batchSize, 1);
  if (opts === null || typeof opts !== 'object') throw new ConfigError('batchIndices: options { shuffle, dropLast } are required');
  const seed = int('seed', opts.seed ?? 0, 0);
  const epoch = int('epoch', opts.epoch ?? 0, 0);
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (opts.shuffle) {
    // Both 32-bit halves of the seed and the epoch go through the mixer, so nearby seeds/epochs diverge.
    const rand = seededStream(seed, epoch);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  }
  const batches: number[][] = [];
  for (let i = 0; i < n; i += batchSize) {
    if (opts.dropLast && i + batchSize > n) break;
    batches.push(order.slice(i, i + batchSize));
  }
  return batches;
}
