// lib/data: tables (CSV, Parquet), time features, scaling, forecast windows, batching and metrics.
export { readTable, parseCsv, parseDate, formatDate } from './table.js';
export type { Table, TableOptions, ParseCsvOptions } from './table.js';
export { timeFeatures, futureDates, inferFreq } from './time-features.js';
export { StandardScaler } from './scaler.js';
export type { ScalerJSON } from './scaler.js';
export { ForecastDataset, WindowSplit } from './dataset.js';
export type { DatasetOptions, Features, SplitName, SplitSpec, WindowBatch, WindowSample } from './dataset.js';
export { batchIndices } from './loader.js';
export type { BatchIndicesOptions } from './loader.js';
export { forecastMetrics } from './metrics.js';
export type { ForecastMetrics } from './metrics.js';
export { checkProfile, ksDistance, profileDataset, psi } from './profile.js';
export type { ColumnProfile, DataProfile } from './profile.js';
