// The preprocess step: read the data (CSV or Parquet; one file, one file per series, or a long-format
// file with a series column), check it (increasing dates, no step missing beyond the frequency
// unless a fill method is given, numeric cells: readTable's checks), and write each series as a
// dataset folder: data.parquet, model_args.json (what train and evaluate need to rebuild the
// windows) and validation.json (rows, date range, frequency, steps filled).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { freqInfo } from '../config.js';
import type { DatasetOptions } from '../data/dataset.js';
import { writeParquetTable } from '../data/parquet-write.js';
import { formatDate, readSeriesTables, readTable, type Table } from '../data/table.js';
import { inferFreq } from '../data/time-features.js';
import { ConfigError, ValueError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { FillMethod, PipelineSpec } from './spec.js';

/** What model_args.json holds: the dataset options and the model settings (the data's channel counts come from the dataset). */
export interface ModelArgs {
  series: string | null;
  dataset: DatasetOptions;
  model: PipelineSpec['model'];
}

export interface SeriesValidation {
  series: string | null;
  source: string;
  rows: number;
  filled: number;
  first: string | null;
  last: string | null;
  freq: string;
  columns: string[];
}

/** Fills the missing steps of `table` (dates on a fixed grid of `stepMs`); errors name the rows. */
export function regularize(table: Table, stepMs: number, fill: FillMethod, source: string): { table: Table; filled: number } {
  const dates = table.dates;
  if (dates === null) return { table, filled: 0 };
  let missing = 0;
  for (let i = 1; i < dates.length; i++) {
    const d = dates[i]! - dates[i - 1]!;
    if (d === stepMs) continue;
    const at = `between ${formatDate(dates[i - 1]!)} and ${formatDate(dates[i]!)} (data rows ${i} and ${i + 1})`;
    if (d % stepMs !== 0)
      throw new ValueError(`${source}: ${at}: ${d / 1000}s is not a multiple of the frequency's ${stepMs / 1000}s step`);
    if (fill === 'none')
      throw new ValueError(
        `${source}: ${at}: ${d / stepMs - 1} step(s) missing; set data.fill to ffill, linear or zero to fill gaps, or fix the data`,
      );
    missing += d / stepMs - 1;
  }
  if (missing === 0) return { table, filled: 0 };
  const n = table.length + missing;
  const outDates = new Float64Array(n);
  const data: Record<string, Float64Array> = {};
  for (const c of table.columns) data[c] = new Float64Array(n);
  let o = 0;
  for (let i = 0; i < table.length; i++) {
    if (i > 0) {
      const gap = (dates[i]! - dates[i - 1]!) / stepMs - 1;
      for (let k = 1; k <= gap; k++, o++) {
        outDates[o] = dates[i - 1]! + k * stepMs;
        for (const c of table.columns) {
          const a = table.data[c]![i - 1]!;
          const b = table.data[c]![i]!;
          data[c]![o] = fill === 'zero' ? 0 : fill === 'ffill' ? a : a + ((b - a) * k) / (gap + 1);
        }
      }
    }
    outDates[o] = dates[i]!;
    for (const c of table.columns) data[c]![o] = table.data[c]![i]!;
    o++;
  }
  return { table: { ...table, dates: outDates, data, length: n }, filled: missing };
}

/** The series of the pipeline's data: [series id or null, table, source file]. */
export async function readSeries(spec: PipelineSpec): Promise<{ series: string | null; table: Table; source: string }[]> {
  try {
    return await readAllSeries(spec);
  } catch (e) {
    // A column the pipeline names that the file lacks: say which key named it.
    if (e instanceof ConfigError && /unknown column/.test(e.message))
      throw new ConfigError(`${spec.data.columns !== undefined ? 'data.columns / data.target' : 'data.target'}: ${e.message}`, {
        cause: e,
      });
    throw e;
  }
}

async function readAllSeries(spec: PipelineSpec): Promise<{ series: string | null; table: Table; source: string }[]> {
  const d = spec.data;
  // Only the columns the model uses must be numeric: the target alone for S, else data.columns (and
  // the target) when given, else every column.
  const used = d.features === 'S' ? [d.target] : d.columns !== undefined ? [...new Set([...d.columns, d.target])] : undefined;
  const tableOpts = { ...(d.dateColumn !== undefined ? { dateColumn: d.dateColumn } : {}), ...(used ? { columns: used } : {}) };
  if (d.seriesColumn !== undefined) {
    const path = d.paths[0]!;
    const byId = await readSeriesTables(path, d.seriesColumn, tableOpts);
    return [...byId].map(([series, table]) => ({ series, table, source: path }));
  }
  const out = [];
  for (const path of d.paths) {
    const table = await readTable(path, tableOpts);
    out.push({ series: d.paths.length > 1 ? basename(path).replace(/\.[^.]+$/, '') : null, table, source: path });
  }
  const ids = new Set(out.map((s) => s.series));
  if (ids.size !== out.length) throw new ConfigError('data.paths: two files have the same name, so their series ids would clash');
  return out;
}

/** The dataset options of the pipeline for a table. */
export function datasetOptions(spec: PipelineSpec, freq: string): DatasetOptions {
  const d = spec.data;
  return {
    features: d.features,
    target: d.target,
    seqLen: spec.model.seqLen,
    labelLen: spec.model.labelLen,
    predLen: spec.model.predLen,
    freq,
    ...(spec.model.embed !== undefined ? { embed: spec.model.embed } : {}),
    ...(spec.model.padding !== undefined ? { padding: spec.model.padding } : {}),
    ...(d.split !== undefined ? { split: d.split } : {}),
    ...(d.columns !== undefined ? { columns: d.columns } : {}),
  };
}

/** Checks one series and writes its dataset folder. */
export async function writeDataset(
  spec: PipelineSpec,
  s: { series: string | null; table: Table; source: string },
  outDir: string,
): Promise<SeriesValidation> {
  const name = s.series === null ? s.source : `${s.source} (series ${JSON.stringify(s.series)})`;
  const t = s.table;
  if (!t.columns.includes(spec.data.target))
    throw new ConfigError(`data.target: ${name} has no column "${spec.data.target}"; columns: ${t.columns.join(', ')}`);
  if (t.dates === null) throw new ValueError(`${name}: no date column; set data.dateColumn`);
  const freq = spec.data.freq ?? inferFreqOrExplain(t.dates, name);
  const step = freqInfo(freq).stepMs;
  const { table, filled } = step === null ? { table: t, filled: 0 } : regularize(t, step, spec.data.fill, name);
  await writeParquetTable(join(outDir, 'data.parquet'), table);
  const args: ModelArgs = { series: s.series, dataset: datasetOptions(spec, freq), model: spec.model };
  writeFileAtomic(join(outDir, 'model_args.json'), `${JSON.stringify(args, null, 2)}\n`);
  const v: SeriesValidation = {
    series: s.series,
    source: s.source,
    rows: table.length,
    filled,
    first: table.dates ? formatDate(table.dates[0]!) : null,
    last: table.dates ? formatDate(table.dates[table.length - 1]!) : null,
    freq,
    columns: table.columns,
  };
  writeFileAtomic(join(outDir, 'validation.json'), `${JSON.stringify(v, null, 2)}\n`);
  return v;
}

/** inferFreq with the file named when the dates have gaps (then the user must say the frequency). */
function inferFreqOrExplain(dates: Float64Array, name: string): string {
  try {
    return inferFreq(dates);
  } catch (e) {
    throw new ConfigError(`${name}: cannot infer the frequency (${(e as Error).message}); set data.freq`, { cause: e });
  }
}

/** sha256 of files' contents (in order), hex. */
export function fileDigest(paths: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of paths) h.update(readFileSync(p)).update('\0');
  return h.digest('hex');
}
