// The model configuration: camelCase twins of the reference (Informer2020 main_informer.py) arguments,
// with the reference command-line defaults, validation, the snake_case mapping, frequency parsing and
// the struct handed to the native core.

import { ConfigError } from './errors.js';
import { loadAddon } from './native.js';

export type Attn = 'prob' | 'full';
export type Embed = 'timeF' | 'fixed' | 'learned';
export type Activation = 'gelu' | 'relu';
export type ModelKind = 'informer' | 'informerstack';
/**
 * Per-window instance normalisation around the model: 'none' (the reference), 'revin' (RevIN, Kim et
 * al. 2022: subtract each window's per-channel mean, divide by its std, learnable affine, reversed on
 * the output) or 'last' (subtract each window's last value per channel, added back to the output).
 */
export type Normalize = 'none' | 'revin' | 'last';
/** Base frequency letters of the reference: seconds, minutes, hours, days, business days, weeks, months. */
export type FreqBase = 's' | 't' | 'h' | 'd' | 'b' | 'w' | 'm';

export interface InformerConfig {
  /** Encoder input length (reference seq_len). */
  seqLen: number;
  /** Start-token length of the decoder input, 0..seqLen (label_len). */
  labelLen: number;
  /** Forecast horizon (pred_len). */
  predLen: number;
  /** Encoder input channels (enc_in). */
  encIn: number;
  /** Decoder input channels (dec_in). */
  decIn: number;
  /** Output channels (c_out). */
  cOut: number;
  dModel: number;
  nHeads: number;
  /** Encoder layers (model 'informer'). */
  eLayers: number;
  dLayers: number;
  /** Encoder layers of each stacked encoder (model 'informerstack' only). */
  sLayers: number[];
  dFf: number;
  /** ProbSparse sampling factor c. */
  factor: number;
  /** Value of the decoder input's predLen padding steps: 0 zeros, 1 ones. */
  padding: 0 | 1;
  /** Self-attention distilling (ConvLayer) between encoder layers. */
  distil: boolean;
  dropout: number;
  attn: Attn;
  embed: Embed;
  freq: string;
  activation: Activation;
  /** The reference's transpose-then-view "mix" of the decoder self-attention output. */
  mix: boolean;
  model: ModelKind;
  /** Seed of the model's random generator (initialisation, dropout, key sampling). */
  seed: number;
  /** Instance normalisation of each input window, reversed on the forecast (default 'none'). */
  normalize: Normalize;
}

/** The configuration struct of the native core (snake_case, enums as integers). */
export interface NativeConfig {
  seq_len: number;
  label_len: number;
  pred_len: number;
  enc_in: number;
  dec_in: number;
  c_out: number;
  d_model: number;
  n_heads: number;
  e_layers: number;
  d_layers: number;
  s_layers: number[];
  d_ff: number;
  factor: number;
  padding: number;
  distil: boolean;
  dropout: number;
  /** 0 prob, 1 full. */
  attn: 0 | 1;
  /** 0 timeF, 1 fixed, 2 learned. */
  embed: 0 | 1 | 2;
  /** Number of x_mark columns T. */
  n_mark: number;
  /** fixed/learned embedding with a minutely base freq ('t'): adds the minute (//15) table. */
  minute_embed: boolean;
  /** 0 gelu, 1 relu. */
  activation: 0 | 1;
  mix: boolean;
  /** true for model 'informerstack'. */
  stack: boolean;
  seed: number;
  /** 0 none, 1 revin, 2 last. */
  normalize: 0 | 1 | 2;
}

/** Longest sequence the fixed positional table (pe [1, 5000, D]) covers (the core's seq_len bound). */
export const MAX_POSITIONS = 5000;

/** The reference command-line defaults (main_informer.py), seed 0. */
export const DEFAULT_CONFIG: Readonly<InformerConfig> = Object.freeze({
  seqLen: 96,
  labelLen: 48,
  predLen: 24,
  encIn: 7,
  decIn: 7,
  cOut: 7,
  dModel: 512,
  nHeads: 8,
  eLayers: 2,
  dLayers: 1,
  sLayers: Object.freeze([3, 2, 1]) as number[],
  dFf: 2048,
  factor: 5,
  padding: 0,
  distil: true,
  dropout: 0.05,
  attn: 'prob',
  embed: 'timeF',
  freq: 'h',
  activation: 'gelu',
  mix: true,
  model: 'informer',
  seed: 0,
  normalize: 'none',
});

/** Every InformerConfig key, in declaration order. */
export const CONFIG_KEYS: readonly (keyof InformerConfig)[] = Object.freeze(Object.keys(DEFAULT_CONFIG) as (keyof InformerConfig)[]);

/** Reference snake_case argument name -> InformerConfig key. */
export const REFERENCE_KEYS: Readonly<Record<string, keyof InformerConfig>> = Object.freeze({
  seq_len: 'seqLen',
  label_len: 'labelLen',
  pred_len: 'predLen',
  enc_in: 'encIn',
  dec_in: 'decIn',
  c_out: 'cOut',
  d_model: 'dModel',
  n_heads: 'nHeads',
  e_layers: 'eLayers',
  d_layers: 'dLayers',
  s_layers: 'sLayers',
  d_ff: 'dFf',
  factor: 'factor',
  padding: 'padding',
  distil: 'distil',
  dropout: 'dropout',
  attn: 'attn',
  embed: 'embed',
  freq: 'freq',
  activation: 'activation',
  mix: 'mix',
  model: 'model',
  seed: 'seed',
  // not a reference argument: models saved without it load as 'none', which is the reference
  normalize: 'normalize',
});

/** Reference arguments (and fixture config keys) that are not model settings; configFromReference skips them. */
export const REFERENCE_NON_MODEL_KEYS: ReadonlySet<string> = new Set([
  'name',
  'batch',
  'features',
  'out_dir',
  'data',
  'target',
  'checkpoints',
  'train_epochs',
  'batch_size',
  'patience',
  'learning_rate',
  'des',
  'loss',
  'lradj',
  'use_amp',
  'inverse',
  'use_gpu',
  'gpu',
  'use_multi_gpu',
  'devices',
  'itr',
  'num_workers',
  'output_attention',
  'do_predict',
  'cols',
  'root_path',
  'data_path',
  // set by main_informer.py itself on the parsed args: the untruncated --freq and the multi-GPU ids
  'detail_freq',
  'device_ids',
]);

const ATTNS: readonly Attn[] = ['prob', 'full'];
const EMBEDS: readonly Embed[] = ['timeF', 'fixed', 'learned'];
const ACTIVATIONS: readonly Activation[] = ['gelu', 'relu'];
const MODELS: readonly ModelKind[] = ['informer', 'informerstack'];
export const NORMALIZE_MODES: readonly Normalize[] = ['none', 'revin', 'last'];

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

function squash(k: string): string {
  return k.toLowerCase().replace(/[_\-\s]/g, '');
}

/** "did you mean ..." for an unknown key, among `candidates`. */
function suggest(key: string, candidates: readonly string[]): string | undefined {
  const s = squash(key);
  const exact = candidates.find((c) => squash(c) === s);
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(s, squash(c));
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(1, Math.floor(s.length / 4)) ? best : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Frequencies

export interface FreqInfo {
  /** The reference's base letter (what the time features and the temporal embedding depend on). */
  base: FreqBase;
  /** Integer multiple of the base unit ('15min' → 15). */
  multiple: number;
  /** Length of one step in milliseconds, or null when it is not fixed (business days, months). */
  stepMs: number | null;
}

const BASE_MS: Readonly<Record<FreqBase, number | null>> = {
  s: 1_000,
  t: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  b: null,
  w: 604_800_000,
  m: null,
};

const ACCEPTED_FREQS =
  "accepted: 's' (seconds), 't' or 'min' (minutes), 'h' (hours), 'd' (days), 'b' (business days), " +
  "'w' (weeks), 'm' (months), case-insensitive except 'm'/'M' = month, 'min' = minute and 'MS' = month " +
  "start, optionally with an integer multiple such as '15min', '5min', '30s', '2h', '3d', '1w'";

const UNIT_LOWER: Readonly<Record<string, FreqBase>> = {
  s: 's',
  sec: 's',
  secs: 's',
  second: 's',
  seconds: 's',
  secondly: 's',
  t: 't',
  min: 't',
  mins: 't',
  minute: 't',
  minutes: 't',
  minutely: 't',
  h: 'h',
  hr: 'h',
  hrs: 'h',
  hour: 'h',
  hours: 'h',
  hourly: 'h',
  d: 'd',
  day: 'd',
  days: 'd',
  daily: 'd',
  b: 'b',
  bday: 'b',
  bdays: 'b',
  businessday: 'b',
  businessdays: 'b',
  w: 'w',
  week: 'w',
  weeks: 'w',
  weekly: 'w',
  m: 'm',
  me: 'm',
  month: 'm',
  months: 'm',
  monthly: 'm',
};

/**
 * Parses a frequency string: the reference letters s, t, h, d, b, w, m (upper or lower case; 'min' for
 * minutes; 'M', 'ME', 'MS' for months) optionally prefixed by an integer multiple ('15min', '30s', '2h').
 * Unlike the reference (which keeps only the last character, so '15min' became 'n'), '15min' is
 * minutely with multiple 15. Yearly and quarterly frequencies, sub-second ones and anything unknown
 * throw ConfigError.
 */
export function freqInfo(freq: string): FreqInfo {
  if (typeof freq !== 'string') {
    throw new ConfigError(`freq must be a string, got ${show(freq)} (${ACCEPTED_FREQS})`);
  }
  const m = /^\s*(\d*)\s*([A-Za-z][A-Za-z_-]*)\s*$/.exec(freq);
  if (m === null) {
    throw new ConfigError(`freq ${show(freq)} is not a recognised frequency (${ACCEPTED_FREQS})`);
  }
  const [, digits = '', unit = ''] = m;
  const multiple = digits === '' ? 1 : Number(digits);
  if (!Number.isSafeInteger(multiple) || multiple < 1) {
    throw new ConfigError(`freq ${show(freq)}: the multiple must be an integer >= 1, got ${digits}`);
  }
  const lower = unit.toLowerCase();
  let base: FreqBase | undefined;
  if (unit === 'MS' || unit === 'M' || unit === 'ME') base = 'm';
  else if (lower === 'ms' || lower === 'l' || lower === 'us' || lower === 'u' || lower === 'ns' || lower === 'n') {
    throw new ConfigError(
      `freq ${show(freq)}: sub-second frequencies are not supported; the finest is 's' (seconds)` +
        (lower === 'n' ? " ('n' is what the reference's freq[-1:] truncation makes of '15min'; pass '15min' or 't' here)" : '') +
        ` (${ACCEPTED_FREQS})`,
    );
  } else if (/^(a|y|as|ys|ae|ye|ba|by|bas|bys|bae|bye|year|years|yearly|annual|annually)(-[a-z]{3})?$/.test(lower)) {
    throw new ConfigError(
      `freq ${show(freq)}: yearly frequencies are not supported: the reference's time_features() gives ` +
        'them 0 feature columns while its TimeFeatureEmbedding expects 1, so no reference model exists for ' +
        `them; resample to monthly ('m') or finer (${ACCEPTED_FREQS})`,
    );
  } else if (/^(q|qs|qe|bq|bqs|bqe|quarter|quarters|quarterly)(-[a-z]{3})?$/.test(lower)) {
    throw new ConfigError(
      `freq ${show(freq)}: quarterly frequencies are not supported: the reference's embedding table has ` +
        `no entry for 'q' (KeyError), so no reference model exists for them; use monthly ('m') instead ` +
        `(${ACCEPTED_FREQS})`,
    );
  } else if (/^w-(mon|tue|wed|thu|fri|sat|sun)$/.test(lower)) {
    base = 'w';
  } else {
    base = UNIT_LOWER[lower];
  }
  if (base === undefined) {
    throw new ConfigError(`freq ${show(freq)} is not a recognised frequency (${ACCEPTED_FREQS})`);
  }
  const unitMs = BASE_MS[base];
  return { base, multiple, stepMs: unitMs === null ? null : unitMs * multiple };
}

const TIMEF_COLUMNS: Readonly<Record<FreqBase, number>> = { s: 6, t: 5, h: 4, d: 3, b: 3, w: 2, m: 1 };

function checkEmbed(embed: unknown, label = 'embed'): asserts embed is Embed {
  if (!EMBEDS.includes(embed as Embed)) {
    throw new ConfigError(`${label} must be one of ${EMBEDS.map(show).join(', ')}, got ${show(embed)}`);
  }
}

/**
 * Number of x_mark columns T for a frequency and temporal embedding. timeF: s 6, t 5, h 4, d 3, b 3,
 * w 2, m 1. fixed/learned: h 4, t 5 (integer month, day, weekday, hour(, minute//15)); any other
 * frequency throws ConfigError because the reference TemporalEmbedding always reads columns 0..3.
 */
export function markColumns(freq: string, embed: Embed): number {
  checkEmbed(embed);
  const { base } = freqInfo(freq);
  if (embed === 'timeF') return TIMEF_COLUMNS[base];
  if (base === 'h') return 4;
  if (base === 't') return 5;
  throw new ConfigError(
    `freq ${show(freq)} (base '${base}') cannot be used with embed ${show(embed)}: the reference ` +
      "TemporalEmbedding always reads the month, day, weekday and hour columns, so 'fixed' and 'learned' " +
      "support only hourly ('h') and minutely ('t', e.g. '15min') data; use embed 'timeF' for other frequencies",
  );
}

// ---------------------------------------------------------------------------------------------------
// Validation

type Label = (key: keyof InformerConfig) => string;
const camelLabel: Label = (k) => k;
const CAMEL_TO_REF: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(REFERENCE_KEYS).map(([ref, camel]) => [camel, ref]),
);
const refLabel: Label = (k) => (CAMEL_TO_REF[k] === k ? k : `${CAMEL_TO_REF[k] ?? k} (${k})`);

/** ProbSparse key-sample budget U = min(factor * ceil(ln L), L) of the reference. */
function probBudget(factor: number, L: number): number {
  return Math.min(factor * Math.ceil(Math.log(L)), L);
}

function validate(src: Record<string, unknown>, label: Label): InformerConfig {
  const get = <K extends keyof InformerConfig>(k: K): unknown => (src[k] === undefined ? DEFAULT_CONFIG[k] : src[k]);
  const fail = (msg: string): never => {
    throw new ConfigError(msg);
  };
  // Bounds come from the native core's one table (kConfigLimits), so both layers agree.
  const limits = loadAddon().configLimits();
  // (The lengths' upper bound is the position table, checked with its own message below.)
  const int = (k: keyof InformerConfig, min: number, checkMax = true): number => {
    const v = get(k);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      fail(`${label(k)} must be an integer >= ${min}, got ${show(v)}`);
    }
    const max = limits[CAMEL_TO_REF[k] ?? k]?.[1];
    if (checkMax && max !== undefined && (v as number) > max) fail(`${label(k)} must be at most ${max}, got ${show(v)}`);
    return v as number;
  };
  const positions = limits.seq_len![1];
  const bool = (k: keyof InformerConfig): boolean => {
    const v = get(k);
    if (typeof v !== 'boolean') fail(`${label(k)} must be a boolean, got ${show(v)}`);
    return v as boolean;
  };
  const oneOf = <T extends string>(k: keyof InformerConfig, allowed: readonly T[]): T => {
    const v = get(k);
    if (!allowed.includes(v as T)) {
      fail(`${label(k)} must be one of ${allowed.map(show).join(', ')}, got ${show(v)}`);
    }
    return v as T;
  };

  const seqLen = int('seqLen', 1, false);
  const labelLen = int('labelLen', 0, false);
  const predLen = int('predLen', 1, false);
  const encIn = int('encIn', 1);
  const decIn = int('decIn', 1);
  const cOut = int('cOut', 1);
  const dModel = int('dModel', 1);
  const nHeads = int('nHeads', 1);
  const eLayers = int('eLayers', 1);
  const dLayers = int('dLayers', 1);
  const dFf = int('dFf', 1);
  const factor = int('factor', 1);
  const seed = int('seed', 0);
  const distil = bool('distil');
  const mix = bool('mix');
  const attn = oneOf('attn', ATTNS);
  const embed = oneOf('embed', EMBEDS);
  const activation = oneOf('activation', ACTIVATIONS);
  const model = oneOf('model', MODELS);
  const normalize = oneOf('normalize', NORMALIZE_MODES);

  const padding = get('padding');
  if (padding !== 0 && padding !== 1) fail(`${label('padding')} must be 0 or 1, got ${show(padding)}`);

  const dropout = get('dropout');
  if (typeof dropout !== 'number' || !Number.isFinite(dropout) || dropout < 0 || dropout >= 1) {
    fail(`${label('dropout')} must be a number in [0, 1), got ${show(dropout)}`);
  }

  const freq = get('freq');
  if (typeof freq !== 'string') fail(`${label('freq')} must be a string, got ${show(freq)}`);
  try {
    markColumns(freq as string, embed);
  } catch (e) {
    if (e instanceof ConfigError && label === refLabel) throw new ConfigError(`${label('freq')}: ${e.message}`);
    throw e;
  }

  const rawS = get('sLayers');
  if (!Array.isArray(rawS)) fail(`${label('sLayers')} must be an array of integers >= 1, got ${show(rawS)}`);
  const sLayers = (rawS as unknown[]).slice();
  const [, maxDepth] = limits.s_layers!;
  sLayers.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > maxDepth) {
      fail(`${label('sLayers')} entries must be integers in [1, ${maxDepth}], got ${show(v)} at index ${i} of ${show(rawS)}`);
    }
  });
  if (sLayers.length > limits.max_stacked_encoders) {
    fail(`${label('sLayers')} has ${sLayers.length} entries, at most ${limits.max_stacked_encoders}`);
  }
  if (model === 'informerstack' && sLayers.length === 0) {
    fail(`${label('sLayers')} must not be empty when ${label('model')} is "informerstack"`);
  }

  if (labelLen > seqLen) {
    fail(
      `${label('labelLen')} ${labelLen} is larger than ${label('seqLen')} ${seqLen}: the decoder's start ` +
        'token is the last labelLen steps of the encoder window',
    );
  }
  if (seqLen > positions) {
    fail(`${label('seqLen')} ${seqLen} exceeds the ${positions}-position positional table`);
  }
  if (labelLen + predLen > positions) {
    fail(`${label('labelLen')} + ${label('predLen')} = ${labelLen + predLen} exceeds the ${positions}-position positional table`);
  }
  if (dModel % nHeads !== 0) {
    fail(`${label('dModel')} ${dModel} is not divisible by ${label('nHeads')} ${nHeads}`);
  }
  if (dModel % 2 !== 0) {
    fail(`${label('dModel')} must be even (sin/cos positional table), got ${dModel}`);
  }

  // Every encoder input must be non-empty, and ProbSparse attention needs L >= 2 (its key-sample budget
  // factor * ceil(ln L) is 0 for L = 1, where the reference fails).
  const encoders = model === 'informerstack' ? (sLayers as number[]) : [eLayers];
  encoders.forEach((layers, i) => {
    let L = Math.floor(seqLen / 2 ** i);
    if (L < 1) {
      fail(
        `${label('seqLen')} ${seqLen} is too short for ${encoders.length} stacked encoders: encoder ${i} would ` +
          `get floor(${seqLen} / 2^${i}) = 0 steps`,
      );
    }
    for (let l = 0; l < layers; l++) {
      if (attn === 'prob' && probBudget(factor, L) < 1) {
        fail(
          `${label('seqLen')} ${seqLen} is too short for attn "prob": encoder ${model === 'informerstack' ? `${i} ` : ''}` +
            `layer ${l} attends over ${L} step(s) and ProbSparse attention needs at least 2 ` +
            `(use attn "full", a longer ${label('seqLen')}, fewer layers or distil off)`,
        );
      }
      if (distil && l < layers - 1) L = Math.ceil(L / 2);
    }
  });
  if (attn === 'prob' && probBudget(factor, labelLen + predLen) < 1) {
    fail(
      `${label('labelLen')} + ${label('predLen')} = ${labelLen + predLen}: the decoder self-attention with ` +
        'attn "prob" needs at least 2 steps (use attn "full" or a longer decoder input)',
    );
  }

  // The decoder input's label steps are normalised with the encoder window's statistics, channel by
  // channel, and output channel j is de-normalised with those of input channel encIn - cOut + j (the
  // target is the last column: 'MS' maps its one output to it).
  if (normalize !== 'none' && decIn !== encIn) {
    fail(
      `${label('normalize')} "${normalize}" needs ${label('decIn')} = ${label('encIn')} (the decoder input is normalised with the encoder window's statistics), got ${decIn} and ${encIn}`,
    );
  }
  if (normalize !== 'none' && cOut > encIn) {
    fail(
      `${label('normalize')} "${normalize}" needs ${label('cOut')} <= ${label('encIn')} (each output channel is de-normalised with an input channel's statistics), got ${cOut} > ${encIn}`,
    );
  }

  const out: InformerConfig = {
    seqLen,
    labelLen,
    predLen,
    encIn,
    decIn,
    cOut,
    dModel,
    nHeads,
    eLayers,
    dLayers,
    sLayers: Object.freeze(sLayers as number[]) as number[],
    dFf,
    factor,
    padding: padding as 0 | 1,
    distil,
    dropout: dropout as number,
    attn,
    embed,
    freq: freq as string,
    activation,
    mix,
    model,
    seed,
    normalize,
  };
  return Object.freeze(out);
}

/**
 * Fills in the reference CLI defaults (DEFAULT_CONFIG) for missing or undefined keys, validates every
 * field and returns a frozen copy. Throws ConfigError naming the field and value, and for unknown keys
 * (with a "did you mean" hint: 'dmodel' → 'dModel').
 */
export function resolveConfig(partial?: Partial<InformerConfig>): InformerConfig {
  if (partial === undefined || partial === null) return validate({}, camelLabel);
  if (!isPlainObject(partial)) {
    throw new ConfigError(`config must be an object of InformerConfig fields, got ${show(partial)}`);
  }
  const src = partial as Record<string, unknown>;
  const unknown = Object.keys(src).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    const hints = unknown.map((k) => {
      const s = suggest(k, CONFIG_KEYS);
      const ref = REFERENCE_KEYS[k];
      if (ref !== undefined) return `${show(k)} (did you mean ${show(ref)}? use configFromReference() for snake_case names)`;
      return s !== undefined ? `${show(k)} (did you mean ${show(s)}?)` : show(k);
    });
    throw new ConfigError(`unknown config key${unknown.length > 1 ? 's' : ''} ${hints.join(', ')}; valid keys: ${CONFIG_KEYS.join(', ')}`);
  }
  return validate(src, camelLabel);
}

/**
 * Builds an InformerConfig from reference snake_case arguments (main_informer.py args, or the `config`
 * JSON of a fixture's __metadata__). Missing settings take the reference CLI defaults; `s_layers` may be
 * an array or a "3,2,1" string; documented non-model arguments (data, batch_size, name, ...) are
 * ignored; any other key throws ConfigError naming it.
 */
export function configFromReference(args: Record<string, unknown>): InformerConfig {
  if (!isPlainObject(args)) {
    throw new ConfigError(`reference args must be an object of snake_case settings, got ${show(args)}`);
  }
  const src: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(args)) {
    const camel = REFERENCE_KEYS[key];
    if (camel === undefined) {
      if (!REFERENCE_NON_MODEL_KEYS.has(key)) unknown.push(key);
      continue;
    }
    if (value === undefined) continue;
    if (camel === 'sLayers' && typeof value === 'string') {
      const parts = value.split(',').map((p) => p.trim());
      src[camel] = parts.map((p) => {
        if (!/^\d+$/.test(p)) {
          throw new ConfigError(`s_layers (sLayers) must be a list of integers such as "3,2,1", got ${show(value)}`);
        }
        return Number(p);
      });
      continue;
    }
    src[camel] = value;
  }
  if (unknown.length > 0) {
    const known = [...Object.keys(REFERENCE_KEYS), ...REFERENCE_NON_MODEL_KEYS];
    const hints = unknown.map((k) => {
      const s = suggest(k, known);
      return s !== undefined ? `${show(k)} (did you mean ${show(s)}?)` : show(k);
    });
    throw new ConfigError(
      `unknown reference argument${unknown.length > 1 ? 's' : ''} ${hints.join(', ')}; model settings: ` +
        Object.keys(REFERENCE_KEYS).join(', '),
    );
  }
  return validate(src, refLabel);
}

/**
 * The reference snake_case form of a config (all model settings, s_layers as an array);
 * configFromReference(toReferenceConfig(c)) gives back c.
 */
export function toReferenceConfig(c: InformerConfig): Record<string, unknown> {
  const r = resolveConfig(c);
  const out: Record<string, unknown> = {};
  for (const [ref, camel] of Object.entries(REFERENCE_KEYS)) {
    const v = r[camel];
    out[ref] = Array.isArray(v) ? v.slice() : v;
  }
  return out;
}

/** The native core's config struct (validates `c` first). */
export function toNativeConfig(c: InformerConfig): NativeConfig {
  const r = resolveConfig(c);
  return {
    seq_len: r.seqLen,
    label_len: r.labelLen,
    pred_len: r.predLen,
    enc_in: r.encIn,
    dec_in: r.decIn,
    c_out: r.cOut,
    d_model: r.dModel,
    n_heads: r.nHeads,
    e_layers: r.eLayers,
    d_layers: r.dLayers,
    s_layers: r.sLayers.slice(),
    d_ff: r.dFf,
    factor: r.factor,
    padding: r.padding,
    distil: r.distil,
    dropout: r.dropout,
    attn: r.attn === 'prob' ? 0 : 1,
    embed: r.embed === 'timeF' ? 0 : r.embed === 'fixed' ? 1 : 2,
    n_mark: markColumns(r.freq, r.embed),
    minute_embed: r.embed !== 'timeF' && freqInfo(r.freq).base === 't',
    activation: r.activation === 'gelu' ? 0 : 1,
    mix: r.mix,
    stack: r.model === 'informerstack',
    seed: r.seed,
    normalize: r.normalize === 'none' ? 0 : r.normalize === 'revin' ? 1 : 2,
  };
}
