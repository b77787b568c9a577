// A pipeline file: read (YAML or JSON), checked against the schema (schema.ts) with errors that name
// the key and its line, then resolved into a PipelineSpec with every default filled in, paths made
// absolute (relative to the pipeline file), and the model settings checked by the model's own rules.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

import type { Ajv as AjvClass, ErrorObject } from 'ajv';
import type * as Yaml from 'yaml';

import { type InformerConfig, resolveConfig } from '../config.js';
import type { Features, SplitSpec } from '../data/dataset.js';
import { ConfigError } from '../errors.js';
import { requireLazily } from '../lazy.js';
import { PIPELINE_SCHEMA } from './schema.js';

export type FillMethod = 'none' | 'ffill' | 'linear' | 'zero';
export type DeployTarget = 'none' | 'local' | 'kubernetes';
export type ExportFormatName = 'kserve' | 'triton' | 'mlflow' | 'onnx';

export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  patience: number;
  lradj: 'type1' | 'type2' | 'none';
  seed: number;
  maxStepsPerEpoch?: number;
}

/** A pipeline with every default filled in. */
export interface PipelineSpec {
  name: string;
  description: string;
  /** Folder of the pipeline file (relative paths were resolved against it). */
  baseDir: string;
  data: {
    /** Absolute paths: one file, or one file per series. */
    paths: string[];
    seriesColumn?: string;
    dateColumn?: string;
    target: string;
    features: Features;
    columns?: string[];
    freq?: string;
    fill: FillMethod;
    split?: SplitSpec;
  };
  model: Partial<InformerConfig> & { seqLen: number; labelLen: number; predLen: number };
  training: TrainingSettings;
  gate: { minSkill: number; metric: 'mse' | 'mae' };
  register: { name: string; alias: string };
  export: { formats: ExportFormatName[]; storageUri?: string; runtime: 'triton' | 'mlserver' };
  deploy: {
    target: DeployTarget;
    url: string;
    port: number;
    namespace?: string;
    serviceName: string;
    timeoutSeconds: number;
    pollSeconds: number;
    kubeconfig?: string;
  };
  fleet: { concurrency?: number; parallelism: number; global: boolean };
  kfp: { image: string; retries: number; cpu: number; memory: string };
  tracking: { uri?: string; experiment: string };
}

/** True when the pipeline trains one model per series. */
export function isFleet(spec: PipelineSpec): boolean {
  return spec.data.seriesColumn !== undefined || spec.data.paths.length > 1;
}

let validator: ((v: unknown) => boolean) & { errors?: ErrorObject[] | null } = undefined as never;

function compiled(): typeof validator {
  if (validator === undefined) {
    const { Ajv } = requireLazily<{ Ajv: typeof AjvClass }>('ajv', 'validating pipeline files');
    validator = new Ajv({ allErrors: true, strict: false }).compile(PIPELINE_SCHEMA);
  }
  return validator;
}

/** `training.epochs` from ajv's '/training/epochs' (array indices as [i]). */
function keyPath(pointer: string, extra?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '') || '(top level)';
}

function describe(e: ErrorObject): { key: string; message: string; pointer: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return {
        key: keyPath(e.instancePath, String(p.additionalProperty)),
        pointer: `${e.instancePath}/${String(p.additionalProperty)}`,
        message: `unknown key (allowed here: ${Object.keys(subschema(e.schemaPath)).join(', ')})`,
      };
    case 'required':
      return { key: keyPath(e.instancePath, String(p.missingProperty)), pointer: e.instancePath, message: 'is required' };
    case 'enum':
      return {
        key: keyPath(e.instancePath),
        pointer: e.instancePath,
        message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    default:
      return { key: keyPath(e.instancePath), pointer: e.instancePath, message: e.message ?? e.keyword };
  }
}

/** The `properties` of the schema object holding an additionalProperties error. */
function subschema(schemaPath: string): Record<string, unknown> {
  let node: unknown = PIPELINE_SCHEMA;
  for (const part of schemaPath.replace(/^#\//, '').split('/').slice(0, -1)) node = (node as Record<string, unknown>)[part];
  return ((node as { properties?: Record<string, unknown> }).properties ?? {}) as Record<string, unknown>;
}

/** Parses a pipeline file's text; YAML (JSON is YAML) with line numbers kept for error messages. */
function parseText(text: string, source: string): { value: unknown; lineOf: (pointer: string) => number | undefined } {
  const yaml = requireLazily<typeof Yaml>('yaml', 'reading pipeline files');
  const lines = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const at = lines.linePos(err.pos[0]);
    throw new ConfigError(`${source}: line ${at.line}: not valid YAML/JSON (${err.message.split('\n')[0]})`);
  }
  const lineOf = (pointer: string): number | undefined => {
    const path = pointer
      .split('/')
      .slice(1)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return { value: doc.toJS(), lineOf };
}

/** Checks a pipeline object against the schema; throws one ConfigError listing every problem by key. */
export function validatePipelineObject(value: unknown, source = 'pipeline', lineOf?: (pointer: string) => number | undefined): void {
  const validate = compiled();
  if (validate(value)) return;
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const d = describe(e);
    const line = lineOf?.(d.pointer);
    const text = `${d.key}${line !== undefined ? ` (line ${line})` : ''}: ${d.message}`;
    if (!seen.has(text)) problems.push(text);
    seen.add(text);
  }
  throw new ConfigError(`${source}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`}`);
}

const DEFAULT_IMAGE = 'ghcr.io/informer-node/informer-node:0.1.0';

/** Fills defaults, resolves paths against `baseDir` and checks what the schema cannot. */
export function resolvePipeline(raw: Record<string, unknown>, baseDir: string, source = 'pipeline'): PipelineSpec {
  validatePipelineObject(raw, source);
  const r = raw as {
    name: string;
    description?: string;
    data: Record<string, unknown>;
    model?: Record<string, unknown>;
    training?: Partial<TrainingSettings>;
    gate?: Partial<PipelineSpec['gate']>;
    register?: Partial<PipelineSpec['register']>;
    export?: Partial<PipelineSpec['export']>;
    deploy?: Partial<PipelineSpec['deploy']>;
    fleet?: Partial<PipelineSpec['fleet']>;
    kfp?: Partial<PipelineSpec['kfp']>;
    tracking?: Partial<PipelineSpec['tracking']>;
  };
  const d = r.data;
  const abs = (p: string) => (isAbsolute(p) || /^[a-z]+:\/\//.test(p) ? p : resolve(baseDir, p));
  if ((d.path === undefined) === (d.paths === undefined))
    throw new ConfigError(`${source}: data: give exactly one of data.path and data.paths`);
  const paths = d.path !== undefined ? [abs(String(d.path))] : (d.paths as string[]).map(abs);
  if (d.seriesColumn !== undefined && paths.length > 1)
    throw new ConfigError(`${source}: data.seriesColumn: a long-format file is one data.path, not several data.paths`);
  const split = d.split;
  const model = { seqLen: 96, labelLen: 48, predLen: 24, ...(r.model ?? {}) } as PipelineSpec['model'];
  if (model.labelLen > model.seqLen)
    throw new ConfigError(`${source}: model.labelLen (${model.labelLen}) must not exceed model.seqLen (${model.seqLen})`);
  try {
    resolveConfig({ ...model, encIn: 1, decIn: 1, cOut: 1 });
  } catch (e) {
    throw new ConfigError(`${source}: model: ${(e as Error).message}`, { cause: e });
  }
  const fleet = d.seriesColumn !== undefined || paths.length > 1;
  const registerName = r.register?.name ?? (fleet ? `${r.name}-{series}` : r.name);
  if (fleet && !registerName.includes('{series}'))
    throw new ConfigError(`${source}: register.name: a fleet registers one model per series, so the name must contain '{series}'`);
  const target = r.deploy?.target ?? 'none';
  if (target !== 'none' && fleet && target === 'kubernetes' && r.deploy?.serviceName !== undefined)
    throw new ConfigError(
      `${source}: deploy.serviceName: a fleet deploys one InferenceService per series, named from the registered model`,
    );
  const exportFormats = r.export?.formats ?? (r.export?.storageUri !== undefined ? ['kserve', 'mlflow'] : ['mlflow', 'triton']);
  if (exportFormats.includes('kserve') && r.export?.storageUri === undefined)
    throw new ConfigError(
      `${source}: export.storageUri is required for the 'kserve' format (where the cluster will read the model folder)`,
    );
  if (target === 'kubernetes' && !exportFormats.includes('kserve'))
    throw new ConfigError(`${source}: export.formats must include 'kserve' when deploy.target is 'kubernetes'`);
  if (target === 'kubernetes' && r.export?.storageUri === undefined)
    throw new ConfigError(
      `${source}: export.storageUri is required when deploy.target is 'kubernetes' (where the cluster reads the model)`,
    );
  return {
    name: r.name,
    description: r.description ?? '',
    baseDir,
    data: {
      paths,
      ...(d.seriesColumn !== undefined ? { seriesColumn: String(d.seriesColumn) } : {}),
      ...(d.dateColumn !== undefined ? { dateColumn: String(d.dateColumn) } : {}),
      target: String(d.target ?? 'OT'),
      features: (d.features ?? 'S') as Features,
      ...(d.columns !== undefined ? { columns: d.columns as string[] } : {}),
      ...(d.freq !== undefined ? { freq: String(d.freq) } : {}),
      fill: (d.fill ?? 'none') as FillMethod,
      ...(split !== undefined
        ? {
            split: Array.isArray(split)
              ? { train: split[0] as number, val: split[1] as number, test: split[2] as number }
              : (split as SplitSpec),
          }
        : {}),
    },
    model,
    training: {
      epochs: 6,
      batchSize: 32,
      learningRate: 1e-4,
      weightDecay: 0,
      patience: 3,
      lradj: 'type1',
      seed: model.seed ?? 0,
      ...(r.training ?? {}),
    },
    gate: { minSkill: r.gate?.minSkill ?? 0, metric: r.gate?.metric ?? 'mse' },
    register: { name: registerName, alias: r.register?.alias ?? 'champion' },
    export: {
      formats: exportFormats,
      ...(r.export?.storageUri !== undefined ? { storageUri: r.export.storageUri } : {}),
      runtime: r.export?.runtime ?? 'triton',
    },
    deploy: {
      target,
      url: r.deploy?.url ?? `http://127.0.0.1:${r.deploy?.port ?? 8080}`,
      port: r.deploy?.port ?? 8080,
      ...(r.deploy?.namespace !== undefined ? { namespace: r.deploy.namespace } : {}),
      serviceName: r.deploy?.serviceName ?? r.name,
      timeoutSeconds: r.deploy?.timeoutSeconds ?? 300,
      pollSeconds: r.deploy?.pollSeconds ?? 2,
      ...(r.deploy?.kubeconfig !== undefined ? { kubeconfig: abs(r.deploy.kubeconfig) } : {}),
    },
    fleet: {
      ...(r.fleet?.concurrency !== undefined ? { concurrency: r.fleet.concurrency } : {}),
      parallelism: r.fleet?.parallelism ?? 4,
      global: r.fleet?.global ?? false,
    },
    kfp: { image: r.kfp?.image ?? DEFAULT_IMAGE, retries: r.kfp?.retries ?? 2, cpu: r.kfp?.cpu ?? 1, memory: r.kfp?.memory ?? '2Gi' },
    tracking: {
      // A folder path is relative to the pipeline file; URIs (file:, http:, ...) are kept.
      ...(r.tracking?.uri !== undefined ? { uri: /^[a-z][a-z0-9+.-]*:/i.test(r.tracking.uri) ? r.tracking.uri : abs(r.tracking.uri) } : {}),
      experiment: r.tracking?.experiment ?? r.name,
    },
  };
}

/** Sets `value` at a dotted key path ('deploy.target') of a parsed pipeline object. */
export function setAtPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/**
 * Reads, validates and resolves a pipeline file (.yaml, .yml or .json). `overrides` (dotted key ->
 * value, e.g. from command-line flags) replace the file's values before validation.
 */
export function readPipeline(file: string, overrides: Record<string, unknown> = {}): PipelineSpec {
  const raw = readPipelineObject(file, overrides);
  return resolvePipeline(raw, dirname(resolve(file)), file);
}

/** A pipeline file as written (checked against the schema, overrides applied, nothing resolved). */
export function readPipelineObject(file: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read the pipeline file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
      cause: e,
    });
  }
  const { value, lineOf } = parseText(text, file);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(
      `${file}: a pipeline file must hold a mapping (name:, data:, ...), got ${Array.isArray(value) ? 'a list' : typeof value}`,
    );
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) setAtPath(value as Record<string, unknown>, k, v);
  validatePipelineObject(value, file, lineOf);
  return value as Record<string, unknown>;
}

/** The registered model name of a series (the pattern's '{series}' replaced, made a safe name). */
export function seriesModelName(spec: PipelineSpec, series: string | undefined): string {
  if (series === undefined) return spec.register.name.replace(/-?\{series\}/g, '');
  return spec.register.name.replace(/\{series\}/g, series.replace(/[^A-Za-z0-9_.-]/g, '-'));
}
