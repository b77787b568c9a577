// `informer pipeline compile`: the pipeline as a Kubeflow Pipelines v2 compiled pipeline (the IR
// YAML, schemaVersion 2.1.0, the ml_pipelines.PipelineSpec message in its proto3 JSON form). One
// container component per step, each running `informer pipeline step <step>` in the package's
// image; the pipeline's parameters (the pipeline file itself, the data, the tracking URI, the gate,
// the training budget, the deploy target) with types and defaults; Dataset / Model / Metrics
// artifacts passed between the steps; a retry policy and resource requests on every task. A fleet
// runs train -> evaluate -> register -> export -> deploy inside a ParallelFor over the series that
// preprocess lists, with a parallelism limit; fleet.global adds a train-global task before it.
import type * as Yaml from 'yaml';

import { requireLazily } from '../lazy.js';
import { packageVersion } from '../version.js';
import { checkPipelineSpec } from './kfp-check.js';
import { isFleet, type PipelineSpec } from './spec.js';
import { ARTIFACTS, type ArtifactKind } from './step.js';
import { STEPS } from './steps/index.js';

type Json = Record<string, unknown>;

export interface CompileOptions {
  /** The container image with informer-node installed (`informer` on the PATH). */
  image?: string;
  /** Default of the tracking_uri parameter (where every step logs; shared by all pods). */
  trackingUri?: string;
  /** Default of the data parameter (a path inside the pods; default: the pipeline file's data). */
  data?: string;
}

/** Pipeline parameters: name -> [KFP type, default]. */
function pipelineParameters(spec: PipelineSpec, raw: Json, o: CompileOptions): Record<string, [string, unknown]> {
  const d = spec.data.paths.length === 1 ? spec.data.paths[0]! : JSON.stringify(spec.data.paths);
  return {
    pipeline: ['STRING', JSON.stringify(raw)],
    data: ['STRING', o.data ?? d],
    tracking_uri: ['STRING', o.trackingUri ?? spec.tracking.uri ?? '/mnt/mlruns'],
    min_skill: ['NUMBER_DOUBLE', spec.gate.minSkill],
    epochs: ['NUMBER_INTEGER', spec.training.epochs],
    learning_rate: ['NUMBER_DOUBLE', spec.training.learningRate],
    // A local informer serve inside a pod that ends serves nobody: in KFP, local means none.
    deploy_target: ['STRING', spec.deploy.target === 'local' ? 'none' : spec.deploy.target],
    namespace: ['STRING', spec.deploy.namespace ?? 'default'],
  };
}

/** Which pipeline parameters each step's command line takes, and as which flag. */
const STEP_PARAMETERS: Record<string, [string, string][]> = {
  common: [
    ['pipeline', '--spec'],
    ['tracking_uri', '--tracking-uri'],
  ],
  preprocess: [['data', '--data']],
  train: [
    ['epochs', '--epochs'],
    ['learning_rate', '--learning-rate'],
  ],
  'train-global': [
    ['epochs', '--epochs'],
    ['learning_rate', '--learning-rate'],
  ],
  evaluate: [['min_skill', '--min-skill']],
  register: [],
  export: [['namespace', '--namespace']],
  deploy: [
    ['deploy_target', '--deploy'],
    ['namespace', '--namespace'],
  ],
};

const artifactType = (kind: ArtifactKind) => ({ artifactType: { schemaTitle: kind, schemaVersion: '0.0.1' } });

interface StepShape {
  name: string;
  inputs: string[];
  outputs: string[];
  /** Extra output parameters (preprocess: the series list). */
  outputParameters?: string[];
  /** Takes the loop's series. */
  series?: boolean;
  optionalInputs?: string[];
}

function component(step: StepShape): Json {
  const params: Json = {};
  for (const [p] of [...STEP_PARAMETERS.common!, ...STEP_PARAMETERS[step.name]!]) params[p] = { parameterType: PARAM_TYPES[p] };
  if (step.series) params.series = { parameterType: 'STRING' };
  const inArtifacts: Json = {};
  for (const a of step.inputs) inArtifacts[a] = artifactType(ARTIFACTS[a === 'global_model' ? 'model' : a]!);
  for (const a of step.optionalInputs ?? [])
    inArtifacts[a] = { ...artifactType(ARTIFACTS[a === 'global_model' ? 'model' : a]!), isOptional: true };
  const outArtifacts: Json = {};
  for (const a of step.outputs) outArtifacts[a] = artifactType(ARTIFACTS[a]!);
  const outputDefinitions: Json = { artifacts: outArtifacts };
  if (step.outputParameters)
    outputDefinitions.parameters = Object.fromEntries(step.outputParameters.map((p) => [p, { parameterType: 'LIST' }]));
  return {
    executorLabel: `exec-${step.name}`,
    inputDefinitions: { parameters: params, ...(Object.keys(inArtifacts).length ? { artifacts: inArtifacts } : {}) },
    outputDefinitions,
  };
}

const PARAM_TYPES: Record<string, string> = {
  pipeline: 'STRING',
  data: 'STRING',
  tracking_uri: 'STRING',
  min_skill: 'NUMBER_DOUBLE',
  epochs: 'NUMBER_INTEGER',
  learning_rate: 'NUMBER_DOUBLE',
  deploy_target: 'STRING',
  namespace: 'STRING',
};

/** The container command line of a step: `informer pipeline step <name> --flag {{placeholder}} ...`. */
export function stepCommandLine(step: StepShape): { command: string[]; args: string[] } {
  const args = [step.name];
  for (const [p, flag] of [...STEP_PARAMETERS.common!, ...STEP_PARAMETERS[step.name]!]) args.push(flag, `{{$.inputs.parameters['${p}']}}`);
  args.push('--job-id', '{{$.pipeline_job_uuid}}', '--job-name', '{{$.pipeline_job_name}}');
  if (step.series) args.push('--series', "{{$.inputs.parameters['series']}}");
  for (const a of [...step.inputs, ...(step.optionalInputs ?? [])])
    args.push(`--input-${a.replace(/_/g, '-')}`, `{{$.inputs.artifacts['${a}'].path}}`);
  for (const a of step.outputs) args.push(`--output-${a.replace(/_/g, '-')}`, `{{$.outputs.artifacts['${a}'].path}}`);
  for (const p of step.outputParameters ?? [])
    args.push(`--output-${p.replace(/_/g, '-')}`, `{{$.outputs.parameters['${p}'].output_file}}`);
  return { command: ['informer', 'pipeline', 'step'], args };
}

function retryPolicy(spec: PipelineSpec): Json {
  return { maxRetryCount: spec.kfp.retries, backoffDuration: '30s', backoffFactor: 2, backoffMaxDuration: '3600s' };
}

/** The compiled pipeline as a PipelineSpec object (proto3 JSON field names). */
export function compilePipeline(spec: PipelineSpec, raw: Json, options: CompileOptions = {}): Json {
  const fleet = isFleet(spec);
  const image = options.image ?? spec.kfp.image;
  const shapes: StepShape[] = STEPS.map((s) => ({
    name: s.name,
    inputs: [...s.inputs],
    outputs: Object.keys(s.outputs),
    ...(s.name === 'preprocess' ? { outputParameters: ['series_list'] } : {}),
    ...(fleet && s.name !== 'preprocess' ? { series: true } : {}),
    ...(s.name === 'evaluate' && fleet && spec.fleet.global ? { optionalInputs: ['global_model'] } : {}),
  }));
  if (fleet && spec.fleet.global) shapes.push({ name: 'train-global', inputs: ['dataset'], outputs: ['model'] });
  const components: Json = {};
  const executors: Json = {};
  const resources = {
    resourceCpuRequest: String(spec.kfp.cpu),
    resourceCpuLimit: String(spec.kfp.cpu),
    resourceMemoryRequest: spec.kfp.memory,
    resourceMemoryLimit: spec.kfp.memory,
  };
  for (const s of shapes) {
    components[`comp-${s.name}`] = component(s);
    executors[`exec-${s.name}`] = {
      container: {
        image,
        ...stepCommandLine(s),
        env: [{ name: 'INFORMER_NUM_THREADS', value: String(Math.max(1, Math.round(spec.kfp.cpu))) }],
        resources,
      },
    };
  }
  const params = pipelineParameters(spec, raw, options);
  const taskParams = (s: StepShape, fromLoop: boolean): Json => {
    const out: Json = {};
    for (const [p] of [...STEP_PARAMETERS.common!, ...STEP_PARAMETERS[s.name]!])
      out[p] = { componentInputParameter: fromLoop ? `pipelinechannel--${p}` : p };
    if (s.series) out.series = { componentInputParameter: 'pipelinechannel--preprocess-series_list-loop-item' };
    return out;
  };
  const task = (s: StepShape, producers: Record<string, string>, fromLoop: boolean, dependentTasks: string[]): Json => {
    const artifacts: Json = {};
    for (const a of [...s.inputs, ...(s.optionalInputs ?? [])]) {
      const producer = producers[a]!;
      artifacts[a] = producer.startsWith('pipelinechannel--')
        ? { componentInputArtifact: producer }
        : { taskOutputArtifact: { producerTask: producer, outputArtifactKey: a === 'global_model' ? 'model' : a } };
    }
    return {
      taskInfo: { name: s.name },
      componentRef: { name: `comp-${s.name}` },
      inputs: { parameters: taskParams(s, fromLoop), ...(Object.keys(artifacts).length ? { artifacts } : {}) },
      ...(dependentTasks.length ? { dependentTasks } : {}),
      cachingOptions: { enableCache: s.name !== 'deploy' },
      retryPolicy: retryPolicy(spec),
    };
  };
  const by = (n: string) => shapes.find((s) => s.name === n)!;
  const rootTasks: Json = {};
  if (!fleet) {
    const producers: Record<string, string> = {};
    let previous: string[] = [];
    for (const s of shapes) {
      const deps = [...new Set(s.inputs.map((a) => producers[a]!))];
      rootTasks[s.name] = task(s, producers, false, deps.length ? deps : previous);
      for (const a of s.outputs) producers[a] = s.name;
      previous = [s.name];
    }
  } else {
    rootTasks.preprocess = task(by('preprocess'), {}, false, []);
    const loopInputsArtifacts: Json = { 'pipelinechannel--preprocess-dataset': artifactType('system.Dataset') };
    const loopTaskArtifacts: Json = {
      'pipelinechannel--preprocess-dataset': { taskOutputArtifact: { producerTask: 'preprocess', outputArtifactKey: 'dataset' } },
    };
    const loopDeps = ['preprocess'];
    if (spec.fleet.global) {
      rootTasks['train-global'] = task(by('train-global'), { dataset: 'preprocess' }, false, ['preprocess']);
      loopInputsArtifacts['pipelinechannel--train-global-model'] = artifactType('system.Model');
      loopTaskArtifacts['pipelinechannel--train-global-model'] = {
        taskOutputArtifact: { producerTask: 'train-global', outputArtifactKey: 'model' },
      };
      loopDeps.push('train-global');
    }
    const inner: Json = {};
    const producers: Record<string, string> = {
      dataset: 'pipelinechannel--preprocess-dataset',
      global_model: 'pipelinechannel--train-global-model',
    };
    for (const s of shapes.filter((x) => x.name !== 'preprocess' && x.name !== 'train-global')) {
      const deps = [...new Set(s.inputs.map((a) => producers[a]!).filter((p) => !p.startsWith('pipelinechannel--')))];
      inner[s.name] = task(s, producers, true, deps);
      for (const a of s.outputs) producers[a] = s.name;
    }
    const loopParams: Json = {
      'pipelinechannel--preprocess-series_list': { parameterType: 'LIST' },
      'pipelinechannel--preprocess-series_list-loop-item': { parameterType: 'STRING' },
    };
    const loopTaskParams: Json = {
      'pipelinechannel--preprocess-series_list': { taskOutputParameter: { producerTask: 'preprocess', outputParameterKey: 'series_list' } },
    };
    for (const p of Object.keys(params)) {
      if (p === 'data') continue;
      loopParams[`pipelinechannel--${p}`] = { parameterType: params[p]![0] };
      loopTaskParams[`pipelinechannel--${p}`] = { componentInputParameter: p };
    }
    components['comp-for-loop-1'] = {
      dag: { tasks: inner },
      inputDefinitions: { artifacts: loopInputsArtifacts, parameters: loopParams },
    };
    rootTasks['for-loop-1'] = {
      taskInfo: { name: 'for-loop-1' },
      componentRef: { name: 'comp-for-loop-1' },
      dependentTasks: loopDeps,
      inputs: { artifacts: loopTaskArtifacts, parameters: loopTaskParams },
      parameterIterator: {
        itemInput: 'pipelinechannel--preprocess-series_list-loop-item',
        items: { inputParameter: 'pipelinechannel--preprocess-series_list' },
      },
      iteratorPolicy: { parallelismLimit: spec.fleet.parallelism },
    };
  }
  const compiled: Json = {
    pipelineInfo: { name: spec.name, ...(spec.description ? { description: spec.description } : {}), displayName: spec.name },
    sdkVersion: `informer-node-${packageVersion()}`,
    schemaVersion: '2.1.0',
    components,
    deploymentSpec: { executors },
    root: {
      dag: { tasks: rootTasks },
      inputDefinitions: {
        parameters: Object.fromEntries(
          Object.entries(params).map(([p, [type, def]]) => [p, { parameterType: type, defaultValue: def, isOptional: true }]),
        ),
      },
    },
  };
  checkPipelineSpec(compiled);
  return compiled;
}

/** The compiled pipeline as the YAML file KFP uploads (with the SDK's leading comment block). */
export function compiledYaml(compiled: Json): string {
  const yaml = requireLazily<typeof Yaml>('yaml', 'writing KFP pipelines');
  const params = (compiled.root as { inputDefinitions: { parameters: Record<string, { parameterType: string; defaultValue: unknown }> } })
    .inputDefinitions.parameters;
  const typeName: Record<string, string> = { STRING: 'str', NUMBER_DOUBLE: 'float', NUMBER_INTEGER: 'int', LIST: 'list', BOOLEAN: 'bool' };
  const header = [
    '# PIPELINE DEFINITION',
    `# Name: ${(compiled.pipelineInfo as { name: string }).name}`,
    '# Inputs:',
    ...Object.entries(params).map(
      ([n, p]) =>
        `#    ${n}: ${typeName[p.parameterType] ?? p.parameterType}${p.parameterType === 'STRING' && n === 'pipeline' ? '' : ` [Default: ${JSON.stringify(p.defaultValue)}]`}`,
    ),
  ];
  return `${header.join('\n')}\n${yaml.stringify(compiled, { lineWidth: 0 })}`;
}
