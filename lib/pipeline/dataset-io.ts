// Reading the artifacts of earlier steps back: a series' dataset (data.parquet + model_args.json)
// as a ForecastDataset, a trained model folder as an Informer.
import { join } from 'node:path';

import { resolveWeightsFile } from '../artifact/resolve.js';
import { ForecastDataset } from '../data/dataset.js';
import { readTable } from '../data/table.js';
import { ConfigError } from '../errors.js';
import { Informer } from '../model.js';
import type { ModelArgs } from './preprocess.js';
import { readJson } from './step.js';
import type { DatasetIndexEntry } from './steps/preprocess.js';

/** The series of a dataset artifact; `only`: just that series (an error naming the others if absent). */
export function datasetIndex(dir: string, only?: string): DatasetIndexEntry[] {
  const all = readJson<{ series: DatasetIndexEntry[] }>(dir, 'index.json').series;
  if (only === undefined) return all;
  const found = all.filter((e) => e.series === only);
  if (found.length === 0)
    throw new ConfigError(
      `series ${JSON.stringify(only)} is not in the dataset; it has ${all.map((e) => JSON.stringify(e.series)).join(', ')}`,
    );
  return found;
}

export async function loadSeriesDataset(
  datasetDir: string,
  entry: DatasetIndexEntry,
): Promise<{ dataset: ForecastDataset; args: ModelArgs; path: string }> {
  const dir = join(datasetDir, entry.dir);
  const args = readJson<ModelArgs>(dir, 'model_args.json');
  const path = join(dir, 'data.parquet');
  const table = await readTable(path);
  return { dataset: ForecastDataset.fromTable(table, args.dataset), args, path };
}

/** One trained model of the model artifact. */
export interface ModelIndexEntry {
  series: string | null;
  /** Folder of the model, relative to the artifact. */
  dir: string;
  /** runs:/<run id>/model in the tracking store. */
  modelUri: string;
  runId: string;
  /** A model trained on every series at once (fleet.global). */
  global?: boolean;
}

export function modelIndex(dir: string): ModelIndexEntry[] {
  return readJson<{ models: ModelIndexEntry[] }>(dir, 'index.json').models;
}

export function loadIndexedModel(modelDir: string, entry: ModelIndexEntry): Informer {
  return Informer.load(resolveWeightsFile(join(modelDir, entry.dir)));
}
