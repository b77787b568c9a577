// The six steps in order: what each consumes and produces, whether it may be reused, and which part
// of the pipeline settings its result depends on.
import type { PipelineSpec } from '../spec.js';
import type { StepDefinition, StepFn, StepName } from '../step.js';
import { deployStep } from './deploy.js';
import { evaluateStep } from './evaluate.js';
import { exportStep } from './export.js';
import { preprocessStep } from './preprocess.js';
import { registerStep } from './register.js';
import { trainStep } from './train.js';

export const STEPS: readonly (StepDefinition & { run: StepFn })[] = [
  {
    name: 'preprocess',
    description: 'read and check the data, write a Parquet dataset and the model arguments',
    inputs: [],
    outputs: { dataset: 'system.Dataset' },
    reusable: true,
    settings: (s: PipelineSpec) => ({ data: { ...s.data, paths: undefined }, model: s.model }),
    sources: (s: PipelineSpec) => s.data.paths,
    run: preprocessStep,
  },
  {
    name: 'train',
    description: 'train the model(s) with autologging',
    inputs: ['dataset'],
    outputs: { model: 'system.Model' },
    reusable: true,
    settings: (s: PipelineSpec) => ({ model: s.model, training: s.training, fleet: { global: s.fleet.global } }),
    run: trainStep,
  },
  {
    name: 'evaluate',
    description: 'test metrics next to the naive forecast, and the gate',
    inputs: ['dataset', 'model'],
    outputs: { metrics: 'system.Metrics' },
    reusable: true,
    settings: (s: PipelineSpec) => ({ gate: s.gate, batchSize: s.training.batchSize }),
    run: evaluateStep,
  },
  {
    name: 'register',
    description: 'register a new version; move the alias if it beats the champion',
    inputs: ['dataset', 'model', 'metrics'],
    outputs: { registration: 'system.Artifact' },
    reusable: true,
    settings: (s: PipelineSpec) => ({ register: s.register, metric: s.gate.metric }),
    run: registerStep,
  },
  {
    name: 'export',
    description: 'write the KServe / Triton / MLflow folders',
    inputs: ['model', 'registration'],
    outputs: { export: 'system.Artifact' },
    reusable: true,
    settings: (s: PipelineSpec) => ({ export: s.export, serviceName: s.deploy.serviceName, namespace: s.deploy.namespace }),
    run: exportStep,
  },
  {
    name: 'deploy',
    description: 'serve the champion: none, a local informer serve, or a KServe InferenceService',
    inputs: ['registration', 'export'],
    outputs: { deployment: 'system.Artifact' },
    reusable: false,
    settings: (s: PipelineSpec) => ({ deploy: s.deploy }),
    run: deployStep,
  },
];

export function stepDefinition(name: string): (typeof STEPS)[number] {
  const s = STEPS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`unknown step ${name}`);
  return s;
}

export type { StepName };
