// The JSON schema of a pipeline file (YAML or JSON): data, columns, model and training settings,
// the gate, registration, export and the deploy target. Every object is closed
// (additionalProperties: false) so a misspelt key is an error that names it. Also written to
// schemas/pipeline.schema.json (test/pipeline-spec.test.js checks the two agree) for editors.
import { CONFIG_KEYS } from '../config.js';

const int = (minimum: number) => ({ type: 'integer', minimum });
const str = { type: 'string', minLength: 1 };

/** InformerConfig keys a pipeline may set (the data's channel counts and freq come from the data). */
export const MODEL_KEYS: readonly string[] = CONFIG_KEYS.filter((k) => !['encIn', 'decIn', 'cOut', 'freq'].includes(k));

export const PIPELINE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://github.com/informer-node/informer-node/schemas/pipeline.schema.json',
  title: 'informer-node pipeline',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'data'],
  properties: {
    name: {
      type: 'string',
      pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
      description: 'pipeline name: lower-case letters, digits and -, at most 63 characters (a KFP and Kubernetes name)',
    },
    description: { type: 'string' },
    data: {
      type: 'object',
      additionalProperties: false,
      properties: {
        path: { ...str, description: 'CSV or Parquet file (relative to the pipeline file)' },
        paths: { type: 'array', minItems: 1, items: str, description: 'several files: one series per file (a fleet)' },
        seriesColumn: { ...str, description: 'long format: the column naming the series (a fleet, one model per series)' },
        dateColumn: str,
        target: str,
        features: { enum: ['S', 'M', 'MS'] },
        columns: { type: 'array', minItems: 1, items: str },
        freq: { ...str, description: "data frequency ('1min', 'h', ...); default: inferred from the dates" },
        fill: {
          enum: ['none', 'ffill', 'linear', 'zero'],
          description: 'how to fill missing steps (gaps beyond the frequency); none: a gap is an error',
        },
        split: {
          oneOf: [
            { enum: ['ett-hour', 'ett-minute'] },
            { type: 'array', items: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }, minItems: 3, maxItems: 3 },
          ],
        },
      },
    },
    model: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(
        MODEL_KEYS.map((k) => [
          k,
          ['attn', 'embed', 'activation', 'model', 'normalize'].includes(k)
            ? { type: 'string' }
            : k === 'sLayers'
              ? { type: 'array', items: int(1) }
              : ['distil', 'mix'].includes(k)
                ? { type: 'boolean' }
                : k === 'dropout'
                  ? { type: 'number', minimum: 0, exclusiveMaximum: 1 }
                  : int(k === 'padding' || k === 'seed' ? 0 : 1),
        ]),
      ),
    },
    training: {
      type: 'object',
      additionalProperties: false,
      properties: {
        epochs: int(1),
        batchSize: int(1),
        learningRate: { type: 'number', exclusiveMinimum: 0 },
        weightDecay: { type: 'number', minimum: 0 },
        patience: int(1),
        lradj: { enum: ['type1', 'type2', 'none'] },
        seed: int(0),
        maxStepsPerEpoch: int(1),
      },
    },
    gate: {
      type: 'object',
      additionalProperties: false,
      properties: {
        minSkill: { type: 'number', description: 'fail the pipeline unless test skill vs the naive forecast exceeds this (default 0)' },
        metric: { enum: ['mse', 'mae'], description: 'what the champion comparison uses (default mse)' },
      },
    },
    register: {
      type: 'object',
      additionalProperties: false,
      properties: {
        name: { ...str, description: "registered model name; in a fleet a pattern with '{series}'" },
        alias: { ...str, description: 'alias that moves to a better version (default champion)' },
      },
    },
    export: {
      type: 'object',
      additionalProperties: false,
      properties: {
        formats: { type: 'array', uniqueItems: true, items: { enum: ['kserve', 'triton', 'mlflow', 'onnx'] } },
        storageUri: { ...str, description: 'where the model folder will be uploaded (the InferenceService storageUri)' },
        runtime: { enum: ['triton', 'mlserver'] },
      },
    },
    deploy: {
      type: 'object',
      additionalProperties: false,
      properties: {
        target: { enum: ['none', 'local', 'kubernetes'] },
        url: { ...str, description: 'local: URL of a running `informer serve` (default http://127.0.0.1:8080)' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        namespace: str,
        serviceName: { type: 'string', pattern: '^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$' },
        timeoutSeconds: { type: 'number', exclusiveMinimum: 0 },
        pollSeconds: { type: 'number', exclusiveMinimum: 0, description: 'kubernetes: how often to check for Ready (default 2)' },
        kubeconfig: str,
      },
    },
    fleet: {
      type: 'object',
      additionalProperties: false,
      properties: {
        concurrency: { ...int(1), description: 'models trained at once on this machine (default: the CPUs)' },
        parallelism: { ...int(1), description: 'KFP ParallelFor parallelism (default 4)' },
        global: { type: 'boolean', description: 'also train one global model on the pooled windows of every series' },
      },
    },
    kfp: {
      type: 'object',
      additionalProperties: false,
      properties: {
        image: str,
        retries: int(0),
        cpu: { type: 'number', exclusiveMinimum: 0 },
        memory: str,
      },
    },
    tracking: {
      type: 'object',
      additionalProperties: false,
      properties: { uri: str, experiment: str },
    },
  },
} as const;
