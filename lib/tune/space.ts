// The search space of `tune`: which settings vary and how, read from an object, a JSON or YAML file
// or command-line specs, and sampled with a seeded generator (trial i always gets the same draw).
import * as fs from 'node:fs';

import type * as Yaml from 'yaml';

import { CONFIG_KEYS, REFERENCE_KEYS, resolveConfig, type InformerConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { requireLazily } from '../lazy.js';
import { seededStream } from '../random.js';

/** Training settings a search may vary besides the model configuration. */
export const TRAINING_KEYS = ['learningRate', 'batchSize', 'lradj', 'weightDecay'] as const;
export type TrainingKey = (typeof TRAINING_KEYS)[number];
export type TunableKey = keyof InformerConfig | TrainingKey;

/** Fixed by the data and the forecasting task, never searched. */
const TASK_KEYS: readonly string[] = ['predLen', 'encIn', 'decIn', 'cOut', 'freq'];
const TRAINING_REFERENCE: Readonly<Record<string, TrainingKey>> = {
  learning_rate: 'learningRate',
  batch_size: 'batchSize',
  lradj: 'lradj',
  weight_decay: 'weightDecay',
};

const TRAINING_RUN_NAMES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(TRAINING_REFERENCE).map(([snake, camel]) => [camel, snake]),
);

/** Training settings under the names `informer train` logs them (learning_rate, batch_size, ...). */
export function trainingRunParams(training: Partial<Record<TrainingKey, ParamValue>>): Record<string, ParamValue> {
  return Object.fromEntries(Object.entries(training).map(([k, v]) => [TRAINING_RUN_NAMES[k] ?? k, v as ParamValue]));
}

export type ParamValue = number | string | boolean | number[];

/** How one setting is drawn. */
export type Distribution =
  | { kind: 'choice'; values: ParamValue[] }
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'loguniform'; low: number; high: number }
  | { kind: 'int'; low: number; high: number };

export type SearchSpace = Partial<Record<TunableKey, Distribution>>;

/**
 * What a space is written as: per setting (camelCase or the reference's snake_case name) a fixed
 * value, a list of choices, or `{ choice: [...] }`, `{ uniform: [lo, hi] }`, `{ loguniform: [lo, hi] }`,
 * `{ int: [lo, hi] }` (both ends included).
 */
export type SearchSpaceSpec = Record<string, unknown>;

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

function canonicalKey(key: string): TunableKey {
  if ((TASK_KEYS as readonly string[]).includes(key) || TASK_KEYS.includes(REFERENCE_KEYS[key] as string)) {
    throw new ConfigError(`search space: '${key}' is fixed by the data and the forecast horizon; it cannot be searched`);
  }
  if ((CONFIG_KEYS as readonly string[]).includes(key) || (TRAINING_KEYS as readonly string[]).includes(key)) return key as TunableKey;
  const mapped = REFERENCE_KEYS[key] ?? TRAINING_REFERENCE[key];
  if (mapped !== undefined) return mapped;
  throw new ConfigError(
    `search space: unknown setting '${key}'; searchable: ${[...CONFIG_KEYS.filter((k) => !TASK_KEYS.includes(k)), ...TRAINING_KEYS].join(', ')}`,
  );
}

function range(key: string, kind: string, v: unknown): [number, number] {
  if (
    !Array.isArray(v) ||
    v.length !== 2 ||
    !v.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
    !((v[0] as number) < (v[1] as number))
  ) {
    throw new ConfigError(`search space: ${key}.${kind} must be [low, high] with finite numbers low < high, got ${show(v)}`);
  }
  return [v[0] as number, v[1] as number];
}

function isValue(v: unknown): v is ParamValue {
  return (
    (typeof v === 'number' && Number.isFinite(v)) ||
    typeof v === 'string' ||
    typeof v === 'boolean' ||
    (Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x)))
  );
}

function choices(key: string, values: unknown): Distribution {
  if (!Array.isArray(values) || values.length === 0)
    throw new ConfigError(`search space: ${key} needs a non-empty list of choices, got ${show(values)}`);
  values.forEach((v, i) => {
    if (!isValue(v))
      throw new ConfigError(`search space: ${key}[${i}] must be a number, string, boolean or list of integers, got ${show(v)}`);
  });
  return { kind: 'choice', values: values as ParamValue[] };
}

function distribution(key: string, spec: unknown): Distribution {
  // A list is a list of choices, except that one list of integers is a fixed sLayers.
  const listValued = key === 'sLayers' || key === 's_layers';
  if (Array.isArray(spec)) return listValued && !spec.some(Array.isArray) ? choices(key, [spec]) : choices(key, spec);
  if (isValue(spec)) return { kind: 'choice', values: [spec] };
  // An already parsed Distribution (a SearchSpace given back, e.g. from a saved search) is checked the same way.
  if (typeof spec === 'object' && spec !== null && 'kind' in spec) {
    const d = spec as Record<string, unknown>;
    return d.kind === 'choice' ? choices(key, d.values) : distribution(key, { [String(d.kind)]: [d.low, d.high] });
  }
  if (typeof spec !== 'object' || spec === null)
    throw new ConfigError(`search space: ${key} must be a value, a list of choices or a distribution, got ${show(spec)}`);
  const entries = Object.entries(spec);
  if (entries.length !== 1)
    throw new ConfigError(`search space: ${key} must have exactly one of choice, uniform, loguniform, int; got ${show(spec)}`);
  const [kind, arg] = entries[0] as [string, unknown];
  switch (kind) {
    case 'choice':
      return choices(key, arg);
    case 'uniform': {
      const [low, high] = range(key, kind, arg);
      return { kind, low, high };
    }
    case 'loguniform': {
      const [low, high] = range(key, kind, arg);
      if (low <= 0) throw new ConfigError(`search space: ${key}.loguniform needs low > 0, got ${low}`);
      return { kind, low, high };
    }
    case 'int': {
      const [low, high] = range(key, kind, arg);
      if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high))
        throw new ConfigError(`search space: ${key}.int bounds must be integers, got ${show(arg)}`);
      return { kind, low, high };
    }
    default:
      throw new ConfigError(`search space: ${key} has unknown distribution '${kind}' (choice, uniform, loguniform, int)`);
  }
}

/** A validated SearchSpace from its written form (see SearchSpaceSpec). */
export function parseSearchSpace(spec: unknown, where = 'search space'): SearchSpace {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new ConfigError(`${where} must be an object of settings`);
  const out: SearchSpace = {};
  for (const [key, value] of Object.entries(spec)) {
    const k = canonicalKey(key);
    if (out[k] !== undefined) throw new ConfigError(`${where}: '${key}' is given twice (as ${k})`);
    out[k] = distribution(key, value);
  }
  return out;
}

/** Reads a search space from a .json, .yaml or .yml file. */
export function readSearchSpace(file: string): SearchSpace {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`search space file ${file}: ${(e as Error).message}`, { cause: e });
  }
  let spec: unknown;
  try {
    spec = /\.json$/i.test(file) ? JSON.parse(text) : requireLazily<typeof Yaml>('yaml', 'reading a YAML search space').parse(text);
  } catch (e) {
    throw new ConfigError(`search space file ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseSearchSpace(spec, `search space file ${file}`);
}

function literal(text: string): ParamValue {
  if (text === 'true' || text === 'false') return text === 'true';
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

/**
 * One setting from a command-line spec: 'a,b,c' (choices), 'lo:hi' (uniform), 'lo:hi:log'
 * (log-uniform), 'lo:hi:int' (integers), or one value.
 */
export function parseSpecString(key: string, text: string): Distribution {
  const m = /^([^:,]+):([^:,]+)(?::(log|int))?$/.exec(text.trim());
  if (m) {
    const [low, high] = [Number(m[1]), Number(m[2])];
    return distribution(key, { [m[3] === 'log' ? 'loguniform' : m[3] === 'int' ? 'int' : 'uniform']: [low, high] });
  }
  return distribution(
    key,
    text.split(',').map((s) => literal(s.trim())),
  );
}

/** Rounds floats to 3 significant digits, so params read as 0.000312 rather than 0.00031234... */
function tidy(v: number): number {
  return Number(v.toPrecision(3));
}

function draw(d: Distribution, rand: () => number): ParamValue {
  switch (d.kind) {
    case 'choice':
      return d.values[Math.min(d.values.length - 1, Math.floor(rand() * d.values.length))] as ParamValue;
    case 'uniform':
      return tidy(d.low + rand() * (d.high - d.low));
    case 'loguniform':
      return tidy(Math.exp(Math.log(d.low) + rand() * (Math.log(d.high) - Math.log(d.low))));
    case 'int':
      return d.low + Math.min(d.high - d.low, Math.floor(rand() * (d.high - d.low + 1)));
  }
}

export type TrialParams = Partial<Record<TunableKey, ParamValue>>;

/** The settings of a trial split into the model part and the training part. */
export function splitParams(params: TrialParams): { model: Partial<InformerConfig>; training: Partial<Record<TrainingKey, ParamValue>> } {
  const model: Record<string, ParamValue> = {};
  const training: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(params)) ((TRAINING_KEYS as readonly string[]).includes(k) ? training : model)[k] = v as ParamValue;
  return { model: model as Partial<InformerConfig>, training };
}

const MAX_DRAWS = 200;

/**
 * The settings of trial `index`: a draw from stream `index` of `seed`, redrawn until the model
 * configuration is valid for `base` (the data's channels and horizon, the task's defaults), e.g.
 * d_model divisible by n_heads. Throws ConfigError when no valid draw turns up.
 */
export function sampleTrial(space: SearchSpace, seed: number, index: number, base: Partial<InformerConfig>): TrialParams {
  const rand = seededStream(seed, index);
  const keys = Object.keys(space).sort() as TunableKey[];
  let last: unknown;
  for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
    const params: TrialParams = {};
    for (const k of keys) params[k] = draw(space[k] as Distribution, rand);
    try {
      checkTrial(params, base);
      return params;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      last = e;
    }
  }
  throw new ConfigError(`search space: no valid configuration in ${MAX_DRAWS} draws; the last one failed with: ${(last as Error).message}`);
}

/** Throws ConfigError when `params` with `base` is not a valid model and training configuration. */
export function checkTrial(params: TrialParams, base: Partial<InformerConfig>): void {
  const { model, training } = splitParams(params);
  resolveConfig({ ...base, ...model });
  const lr = training.learningRate;
  if (lr !== undefined && !(typeof lr === 'number' && lr > 0)) throw new ConfigError(`learningRate must be a number > 0, got ${show(lr)}`);
  const bs = training.batchSize;
  if (bs !== undefined && !(typeof bs === 'number' && Number.isSafeInteger(bs) && bs >= 1))
    throw new ConfigError(`batchSize must be an integer >= 1, got ${show(bs)}`);
  const wd = training.weightDecay;
  if (wd !== undefined && !(typeof wd === 'number' && wd >= 0)) throw new ConfigError(`weightDecay must be a number >= 0, got ${show(wd)}`);
  const lradj = training.lradj;
  if (lradj !== undefined && lradj !== 'type1' && lradj !== 'type2' && lradj !== 'none')
    throw new ConfigError(`lradj must be 'type1', 'type2' or 'none', got ${show(lradj)}`);
}

/** A compact one-line description of a distribution ('[16, 32, 64]', 'loguniform(0.0001, 0.01)'). */
export function describeDistribution(d: Distribution): string {
  return d.kind === 'choice' ? show(d.values) : `${d.kind}(${d.low}, ${d.high})`;
}
