// Pipelines: preprocess -> train -> evaluate -> register -> export -> deploy, run here (runPipeline)
// or compiled for Kubeflow Pipelines v2 (compilePipeline), for one series or a fleet.
export { DeployError, GateError, PipelineError } from './errors.js';
export { compiledYaml, compilePipeline } from './kfp.js';
export type { CompileOptions } from './kfp.js';
export { checkPipelineSpec, pipelineSpecProblems } from './kfp-check.js';
export { runPipeline } from './runner.js';
export type { PipelineEvent, PipelineResult, PipelineRunOptions, StepRecord, StepStatus } from './runner.js';
export { PIPELINE_SCHEMA } from './schema.js';
export { isFleet, readPipeline, readPipelineObject, resolvePipeline, validatePipelineObject } from './spec.js';
export type { PipelineSpec } from './spec.js';
export { examplePipeline } from './init.js';
export { STEP_NAMES } from './step.js';
export type { StepName } from './step.js';
