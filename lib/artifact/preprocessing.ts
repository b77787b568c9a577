// What a Predictor must know about the training data to turn raw history into model inputs and the
// forecast back into data units: channel order, target, scaler statistics, frequency and embedding.
// It travels with the weights as JSON in the safetensors `__metadata__.preprocessing` entry.

import type { InformerConfig, Embed } from '../config.js';
import { markColumns } from '../config.js';
import type { ForecastDataset, Features } from '../data/dataset.js';
import type { ScalerJSON } from '../data/scaler.js';
import { StandardScaler } from '../data/scaler.js';
import { ConfigError } from '../errors.js';
import type { Informer } from '../model.js';
import { checkProfile, type DataProfile, profileDataset } from '../data/profile.js';

/** Key of the safetensors `__metadata__` entry holding the PreprocessingInfo JSON. */
export const PREPROCESSING_KEY = 'preprocessing';

export interface PreprocessingInfo {
  /** M: all channels → all; S: target → target; MS: all → target. */
  features: Features;
  /** The target column (always the last model channel). */
  target: string;
  /** Input columns in model channel order ([others..., target]; [target] for S). */
  columns: string[];
  /** Per-channel statistics in `columns` order, or null when the model was trained on raw values. */
  scaler: ScalerJSON | null;
  /** Frequency of the data (drives the time features and the future timestamps), e.g. 't', '15min', 'h'. */
  freq: string;
  embed: Embed;
  /** The date column of the training table, for callers that read raw CSVs. */
  dateColumn?: string;
  /** Per input column, the training rows' mean, std and percentiles (data units): the reference for input drift. */
  profile?: DataProfile;
}

/** The preprocessing of a dataset (its fitted scaler, channel order, freq and embed). */
export function preprocessingFromDataset(ds: ForecastDataset, opts: { dateColumn?: string } = {}): PreprocessingInfo {
  const info: PreprocessingInfo = {
    features: ds.features,
    target: ds.target,
    columns: [...ds.columns],
    scaler: ds.scaler === null ? null : ds.scaler.toJSON(),
    freq: ds.freq,
    embed: ds.embed,
  };
  if (opts.dateColumn !== undefined) info.dateColumn = opts.dateColumn;
  if (ds.borders.train[1] > ds.borders.train[0]) info.profile = profileDataset(ds);
  return info;
}

function isDataset(x: unknown): x is ForecastDataset {
  return typeof x === 'object' && x !== null && 'split' in x && 'marks' in x && 'seqLen' in x;
}

/**
 * Validates `info` (a plain object, e.g. parsed JSON) against a model configuration and returns a clean
 * copy. Throws ConfigError naming the first mismatch.
 */
export function checkPreprocessing(info: unknown, config: InformerConfig, where = 'preprocessing'): PreprocessingInfo {
  if (typeof info !== 'object' || info === null || Array.isArray(info)) throw new ConfigError(`${where} must be an object`);
  const p = info as Record<string, unknown>;
  const { features, target, columns, freq, embed, dateColumn } = p;
  if (features !== 'S' && features !== 'M' && features !== 'MS')
    throw new ConfigError(`${where}.features must be 'S', 'M' or 'MS', got ${String(features)}`);
  if (typeof target !== 'string' || target === '') throw new ConfigError(`${where}.target must be a column name`);
  if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === 'string')) {
    throw new ConfigError(`${where}.columns must be a non-empty array of column names`);
  }
  if (new Set(columns).size !== columns.length) throw new ConfigError(`${where}.columns has duplicates: ${columns.join(', ')}`);
  if (columns[columns.length - 1] !== target)
    throw new ConfigError(`${where}.columns must end with the target '${target}', got ${columns.join(', ')}`);
  if (features === 'S' && columns.length !== 1)
    throw new ConfigError(`${where}: features 'S' uses the target only, got columns ${columns.join(', ')}`);
  if (typeof freq !== 'string') throw new ConfigError(`${where}.freq must be a frequency string such as 't' or 'h'`);
  if (embed !== 'timeF' && embed !== 'fixed' && embed !== 'learned')
    throw new ConfigError(`${where}.embed must be 'timeF', 'fixed' or 'learned'`);
  if (dateColumn !== undefined && typeof dateColumn !== 'string') throw new ConfigError(`${where}.dateColumn must be a string`);
  const C = columns.length;
  const cOut = features === 'M' ? C : 1;
  if (config.encIn !== C || config.decIn !== C || config.cOut !== cOut) {
    throw new ConfigError(
      `${where} (${features}, ${C} column(s): ${columns.join(', ')}) needs encIn = decIn = ${C} and cOut = ${cOut}, ` +
        `the model has encIn ${config.encIn}, decIn ${config.decIn}, cOut ${config.cOut}`,
    );
  }
  if (embed !== config.embed) throw new ConfigError(`${where}.embed is '${embed}', the model was built with embed '${config.embed}'`);
  const marks = markColumns(freq, embed); // also validates freq
  const modelMarks = markColumns(config.freq, config.embed);
  if (marks !== modelMarks) {
    throw new ConfigError(
      `${where}.freq '${freq}' gives ${marks} time-feature columns, the model (freq '${config.freq}') takes ${modelMarks}`,
    );
  }
  let scaler: ScalerJSON | null = null;
  if (p.scaler !== null && p.scaler !== undefined) {
    scaler = StandardScaler.fromJSON(p.scaler as ScalerJSON).toJSON(); // validates finiteness and std > 0
    if (scaler.mean.length !== C) throw new ConfigError(`${where}.scaler has ${scaler.mean.length} channel(s), columns has ${C}`);
  }
  const out: PreprocessingInfo = { features, target, columns: [...(columns as string[])], scaler, freq, embed };
  if (dateColumn !== undefined) out.dateColumn = dateColumn;
  if (p.profile !== undefined) {
    try {
      out.profile = checkProfile(p.profile, columns as string[], `${where}.profile`);
    } catch (e) {
      throw new ConfigError((e as Error).message, { cause: e });
    }
  }
  return out;
}

/** PreprocessingInfo from a dataset or an info object, checked against the model. */
export function resolvePreprocessing(source: ForecastDataset | PreprocessingInfo, config: InformerConfig): PreprocessingInfo {
  if (!isDataset(source)) return checkPreprocessing(source, config);
  for (const k of ['seqLen', 'labelLen', 'predLen', 'padding'] as const) {
    if (source[k] !== config[k]) throw new ConfigError(`the dataset has ${k} ${source[k]}, the model ${config[k]}`);
  }
  return checkPreprocessing(preprocessingFromDataset(source), config, 'dataset');
}

/** Reads the preprocessing stored by savePredictorModel from safetensors metadata, or null if absent. */
export function preprocessingFromMetadata(
  metadata: Record<string, string>,
  config: InformerConfig,
  where: string,
): PreprocessingInfo | null {
  const raw = metadata[PREPROCESSING_KEY];
  if (raw === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new ConfigError(`${where}: __metadata__.${PREPROCESSING_KEY} is not valid JSON`, { cause: e });
  }
  return checkPreprocessing(parsed, config, `${where}: __metadata__.${PREPROCESSING_KEY}`);
}

/**
 * Saves `model` with the preprocessing of `source` (a ForecastDataset or a PreprocessingInfo) in the
 * safetensors metadata, so `Predictor.load(path)` can forecast from raw history.
 */
export function savePredictorModel(
  model: Informer,
  source: ForecastDataset | PreprocessingInfo,
  path: string,
  metadata: Record<string, string> = {},
): PreprocessingInfo {
  const info = resolvePreprocessing(source, model.config);
  model.save(path, { ...metadata, [PREPROCESSING_KEY]: JSON.stringify(info) });
  return info;
}
