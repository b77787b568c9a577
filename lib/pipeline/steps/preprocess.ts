// preprocess: data file(s) -> dataset artifact (one folder per series: data.parquet, model_args.json,
// validation.json; index.json lists them).
import { join } from 'node:path';

import { readSeries, writeDataset, type SeriesValidation } from '../preprocess.js';
import { type StepContext, type StepReport, writeJson } from '../step.js';

export interface DatasetIndexEntry extends SeriesValidation {
  /** Folder of the series, relative to the artifact. */
  dir: string;
}

/** A file-name-safe series id (the id itself stays in index.json). */
export function seriesDir(series: string | null): string {
  return series === null ? '.' : `series/${series.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

export async function preprocessStep(ctx: StepContext): Promise<StepReport> {
  const out = ctx.output('dataset');
  const all = await readSeries(ctx.spec);
  const index: DatasetIndexEntry[] = [];
  const dirs = new Set<string>();
  for (const s of all) {
    const dir = seriesDir(s.series);
    if (dirs.has(dir)) throw new Error(`two series ids map to the folder ${dir}; rename one of them`);
    dirs.add(dir);
    const v = await writeDataset(ctx.spec, s, join(out, dir));
    index.push({ ...v, dir });
    if (all.length > 1)
      ctx.log(`  series ${s.series}: ${v.rows} rows, ${v.first} .. ${v.last}${v.filled ? `, ${v.filled} steps filled` : ''}`);
  }
  writeJson(out, 'index.json', { series: index });
  const rows = index.reduce((a, v) => a + v.rows, 0);
  const filled = index.reduce((a, v) => a + v.filled, 0);
  ctx.run.logParams({ data: ctx.spec.data.paths.join(','), series_count: index.length, fill: ctx.spec.data.fill, freq: index[0]?.freq });
  ctx.run.logMetrics({ rows, filled_steps: filled });
  return {
    uris: { dataset: out },
    summary: `${index.length} series, ${rows} rows, freq ${index[0]?.freq}${filled ? `, ${filled} missing steps filled (${ctx.spec.data.fill})` : ''}`,
  };
}
