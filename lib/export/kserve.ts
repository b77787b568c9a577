// KServe InferenceService (serving.kserve.io/v1beta1) manifests for the exported model folders, and
// their validation: the CRD's OpenAPI schema (schemas/, copied from KServe; Apache-2.0, see
// schemas/LICENSE.kserve) plus a strict overlay for the fields written here, because the CRD schema
// accepts unknown keys (Kubernetes silently prunes e.g. a misspelt `storageURI`).
import * as fs from 'node:fs';

import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import type * as Yaml from 'yaml';

import { requireLazily } from '../lazy.js';

import { ConfigError, FormatError } from '../errors.js';

export type KServeModelFormat = 'onnx' | 'mlflow';

export interface InferenceServiceOptions {
  /** metadata.name: DNS-1123 label (<= 63 chars; keep it short, it becomes part of host names). */
  name: string;
  /** Where the model folder was uploaded: s3://, gs://, pvc://, http(s)://, hdfs://, webhdfs://, hf://, oci://. */
  storageUri: string;
  /** 'onnx': a Triton model repository; 'mlflow': an MLflow model folder (served by MLServer). */
  modelFormat: KServeModelFormat;
  namespace?: string;
  /** Serving runtime (default: auto-selected by KServe, kserve-tritonserver / kserve-mlserver). */
  runtime?: string;
  /** Service account holding the storage credentials. */
  serviceAccountName?: string;
  annotations?: Record<string, string>;
}

export const SCHEMA_FILE = 'kserve-inferenceservices-v1beta1.openapi.json';
const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const STORAGE_URI = '^(s3|gs|pvc|https?|hdfs|webhdfs|hf|oci)://[^\\s]+$';
/** modelFormat.version KServe's runtimes declare: onnx 1 (Triton), mlflow 2 (MLServer, MLflow 2.x models). */
const FORMAT_VERSION: Readonly<Record<KServeModelFormat, string>> = { onnx: '1', mlflow: '2' };

const str = { type: 'string', minLength: 1 };
/** Exactly the fields this module writes; anything else (a typo included) is an error. */
const STRICT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'serving.kserve.io/v1beta1' },
    kind: { const: 'InferenceService' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: DNS1123_LABEL, maxLength: 63 },
        namespace: { type: 'string', pattern: DNS1123_LABEL, maxLength: 63 },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['predictor'],
      properties: {
        predictor: {
          type: 'object',
          additionalProperties: false,
          required: ['model'],
          properties: {
            serviceAccountName: str,
            model: {
              type: 'object',
              additionalProperties: false,
              required: ['modelFormat', 'protocolVersion', 'storageUri'],
              properties: {
                modelFormat: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name', 'version'],
                  properties: { name: { enum: ['onnx', 'mlflow'] }, version: str },
                },
                // Triton and MLServer speak the Open Inference Protocol (v2) only.
                protocolVersion: { const: 'v2' },
                runtime: str,
                storageUri: { type: 'string', pattern: STORAGE_URI },
              },
            },
          },
        },
      },
    },
  },
};

let crdSchema: Record<string, unknown> | undefined;
let strictValidator: ValidateFunction | undefined;
let fullValidator: ValidateFunction | undefined;

// strict: false for the x-kubernetes-* keywords; the int32/int64/date-time formats are not checked.
// ajv (JSON-schema validation) loads with the first validation, not with the package.
const newAjv = (): AjvClass => {
  const { Ajv } = requireLazily<{ Ajv: typeof AjvClass }>('ajv', 'validating InferenceService manifests');
  return new Ajv({ strict: false, allErrors: true, validateFormats: false });
};

function loadCrd(): Record<string, unknown> {
  if (!crdSchema) {
    const file = new URL(`../../schemas/${SCHEMA_FILE}`, import.meta.url);
    try {
      crdSchema = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new FormatError(`cannot read the KServe CRD schema ${file.pathname}: ${(e as Error).message}`, { cause: e });
    }
  }
  return crdSchema;
}

type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * The CRD schema cut down to the keys `inst` has. Compiling the whole 1.5 MB schema takes seconds;
 * the cut-down one validates `inst` identically: a property schema applies only when the key is
 * present, `required` lists are kept, and Kubernetes structural schemas never combine `properties`
 * with `additionalProperties`. Array items are checked against the cut of every element (allOf).
 */
function prune(schema: unknown, inst: unknown): unknown {
  if (!isObj(schema)) return schema;
  const out: Json = { ...schema };
  if (isObj(schema.properties)) {
    const props: Json = {};
    if (isObj(inst)) for (const k of Object.keys(inst)) if (k in schema.properties) props[k] = prune(schema.properties[k], inst[k]);
    out.properties = props;
  }
  if (schema.items !== undefined)
    out.items = Array.isArray(inst) && inst.length > 0 ? { allOf: inst.map((el) => prune(schema.items, el)) } : {};
  for (const k of ['anyOf', 'allOf', 'oneOf']) if (Array.isArray(schema[k])) out[k] = (schema[k] as unknown[]).map((s) => prune(s, inst));
  if (schema.not !== undefined) out.not = prune(schema.not, inst);
  return out;
}

const describe = (prefix: string, errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).map((e) => {
    const extra =
      e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty?: string }).additionalProperty)}'` : '';
    return `${prefix}: ${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
  });

/**
 * Problems of an InferenceService manifest (empty when valid): the KServe CRD schema, then the strict
 * overlay of the fields this package writes (apiVersion, kind, metadata.name are outside the CRD schema).
 * `fullSchema` compiles the whole CRD schema (seconds) instead of the part the manifest uses.
 */
export function validateInferenceService(manifest: unknown, opts: { fullSchema?: boolean } = {}): string[] {
  let crd: ValidateFunction;
  if (opts.fullSchema) crd = fullValidator ??= newAjv().compile(loadCrd());
  else crd = newAjv().compile(prune(loadCrd(), manifest) as Json);
  strictValidator ??= newAjv().compile(STRICT_SCHEMA);
  const problems: string[] = [];
  if (!crd(manifest)) problems.push(...describe('CRD schema', crd.errors));
  if (!strictValidator(manifest)) problems.push(...describe('strict check', strictValidator.errors));
  return problems;
}

export function assertValidInferenceService(manifest: unknown): void {
  const problems = validateInferenceService(manifest);
  if (problems.length) throw new FormatError(`invalid InferenceService:\n  ${problems.join('\n  ')}`);
}

/** The InferenceService object (validated; ConfigError names the bad option). */
export function inferenceService(opts: InferenceServiceOptions): Record<string, unknown> {
  if (!new RegExp(DNS1123_LABEL).test(String(opts.name)) || String(opts.name).length > 63) {
    throw new ConfigError(`name must be a DNS-1123 label (lowercase letters, digits, '-', at most 63), got ${JSON.stringify(opts.name)}`);
  }
  if (typeof opts.storageUri !== 'string' || !new RegExp(STORAGE_URI).test(opts.storageUri)) {
    throw new ConfigError(
      `storageUri must be an s3://, gs://, pvc://, http(s)://, hdfs://, webhdfs://, hf:// or oci:// URI, got ${JSON.stringify(opts.storageUri)}`,
    );
  }
  if (opts.modelFormat !== 'onnx' && opts.modelFormat !== 'mlflow') {
    throw new ConfigError(`modelFormat must be 'onnx' or 'mlflow', got ${JSON.stringify(opts.modelFormat)}`);
  }
  const metadata: Record<string, unknown> = { name: opts.name };
  if (opts.namespace !== undefined) metadata.namespace = opts.namespace;
  // KServe scrapes the predictor's Prometheus metrics with this annotation (its own wins if given).
  metadata.annotations = { 'serving.kserve.io/enable-prometheus-scraping': 'true', ...(opts.annotations ?? {}) };
  const model: Record<string, unknown> = {
    modelFormat: { name: opts.modelFormat, version: FORMAT_VERSION[opts.modelFormat] },
    protocolVersion: 'v2',
  };
  if (opts.runtime !== undefined) model.runtime = opts.runtime;
  model.storageUri = opts.storageUri;
  const predictor: Record<string, unknown> = {};
  if (opts.serviceAccountName !== undefined) predictor.serviceAccountName = opts.serviceAccountName;
  predictor.model = model;
  const manifest = { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata, spec: { predictor } };
  const problems = validateInferenceService(manifest);
  if (problems.length) throw new ConfigError(`InferenceService options are invalid:\n  ${problems.join('\n  ')}`);
  return manifest;
}

/** The manifest as YAML, with a comment saying what storageUri must hold. */
export function inferenceServiceYaml(opts: InferenceServiceOptions): string {
  const what =
    opts.modelFormat === 'onnx'
      ? `a Triton model repository (<storageUri>/<model>/config.pbtxt, <storageUri>/<model>/1/model.onnx)`
      : 'an MLflow model folder (<storageUri>/MLmodel, <storageUri>/model.onnx)';
  return `# KServe InferenceService written by informer-node. storageUri must hold ${what}.\n${requireLazily<typeof Yaml>('yaml', 'writing YAML').stringify(inferenceService(opts))}`;
}
