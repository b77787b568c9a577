// Where a trained model came from, recorded on its run: the three splits of its data as MLflow dataset
// inputs (content digest, source, schema, rows and date range; context training / validation / test),
// the code (git commit, remote and branch when run inside a git work tree) and the package and native
// build that trained it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { ForecastDataset, SplitName } from '../data/dataset.js';
import { nativeInfo } from '../native.js';
import type { DatasetInput } from '../tracking/types.js';
import { packageVersion } from '../version.js';

/** Where the data came from: a file (recorded as a `local` source) or built in code. */
export interface DatasetSource {
  /** The dataset's name (default: the file name without extension, else 'dataset'). */
  name?: string;
  /** The file the table was read from. */
  path?: string;
}

const CONTEXTS: Record<SplitName, string> = { train: 'training', val: 'validation', test: 'test' };

const iso = (ms: number) => new Date(ms).toISOString();

// Digests by dataset and row range: a run hashes its splits for the inputs and again for the model
// version's tag; a dataset's rows never change, so once is enough.
const digests = new WeakMap<ForecastDataset, Map<string, string>>();

/** A digest of rows [start, end) of the dataset: dates, values and channel names (16 hex characters). */
export function splitDigest(ds: ForecastDataset, start: number, end: number): string {
  let known = digests.get(ds);
  if (known === undefined) {
    known = new Map();
    digests.set(ds, known);
  }
  const key = `${start}:${end}`;
  const cached = known.get(key);
  if (cached !== undefined) return cached;
  const digest = hashRows(ds, start, end);
  known.set(key, digest);
  return digest;
}

function hashRows(ds: ForecastDataset, start: number, end: number): string {
  const h = createHash('sha256');
  h.update(ds.columns.join('\u0000'));
  h.update(new Uint8Array(ds.dates.buffer, ds.dates.byteOffset + start * 8, (end - start) * 8));
  const c = ds.encIn;
  h.update(new Uint8Array(ds.values.buffer, ds.values.byteOffset + start * c * 4, (end - start) * c * 4));
  if (ds.scaler) h.update(JSON.stringify(ds.scaler.toJSON()));
  return h.digest('hex').slice(0, 16);
}

/** The train, validation and test splits of `ds` as MLflow dataset inputs. */
export function datasetInputs(ds: ForecastDataset, source: DatasetSource = {}): DatasetInput[] {
  const base = source.name ?? (source.path ? (source.path.split(/[\\/]/).pop() ?? 'dataset').replace(/\.[^.]+$/, '') : 'dataset');
  const schema = JSON.stringify({
    mlflow_colspec: [{ type: 'datetime', name: 'date' }, ...ds.columns.map((name) => ({ type: 'float', name }))],
  });
  const src = source.path
    ? { sourceType: 'local', source: JSON.stringify({ uri: pathToFileURL(resolve(source.path)).href }) }
    : { sourceType: 'code', source: JSON.stringify({ tags: {} }) };
  return (['train', 'val', 'test'] as const).map((split) => {
    const [start, end] = ds.borders[split];
    return {
      dataset: {
        name: `${base}-${split}`,
        digest: splitDigest(ds, start, end),
        ...src,
        schema,
        profile: JSON.stringify({
          num_rows: end - start,
          num_elements: (end - start) * ds.encIn,
          start: end > start ? iso(ds.dates[start] as number) : null,
          end: end > start ? iso(ds.dates[end - 1] as number) : null,
        }),
      },
      tags: { 'mlflow.data.context': CONTEXTS[split] },
    };
  });
}

let gitCache: Map<string, Record<string, string>> | undefined;

/** MLflow's git tags for the work tree holding `cwd` (none outside a git work tree or without git). */
export function gitSourceTags(cwd = process.cwd()): Record<string, string> {
  gitCache ??= new Map();
  const cached = gitCache.get(cwd);
  if (cached) return cached;
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return r.status === 0 ? r.stdout.trim() : '';
  };
  const tags: Record<string, string> = {};
  const commit = git('rev-parse', 'HEAD');
  if (commit) {
    tags['mlflow.source.git.commit'] = commit;
    const branch = git('rev-parse', '--abbrev-ref', 'HEAD');
    if (branch && branch !== 'HEAD') tags['mlflow.source.git.branch'] = branch;
    const remote = git('config', '--get', 'remote.origin.url');
    if (remote) tags['mlflow.source.git.repoURL'] = remote;
  }
  gitCache.set(cwd, tags);
  return tags;
}

/** The package version and the native build that trained the model. */
export function buildTags(): Record<string, string> {
  const info = nativeInfo();
  return {
    'informer.version': packageVersion(),
    'informer.platform': info.platform,
    'informer.native.gemm': info.gemmKernel,
    'informer.native.backends': info.backends.join(','),
  };
}
