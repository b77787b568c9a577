// Errors of a pipeline run that are not bad input: a failed quality gate, a step that failed.
import { InformerError } from '../errors.js';

/** The pipeline stopped on purpose or because a step failed; `step` names the step. */
export class PipelineError extends InformerError {
  override readonly code: string = 'ERR_INFORMER_PIPELINE';
  constructor(
    message: string,
    readonly step: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The evaluate step's gate: the model does not beat the naive forecast by the required skill. */
export class GateError extends PipelineError {
  override readonly code = 'ERR_INFORMER_PIPELINE_GATE';
}

/** A deployment did not become ready, or the cluster refused it; `reason` is the cluster's own. */
export class DeployError extends PipelineError {
  override readonly code = 'ERR_INFORMER_PIPELINE_DEPLOY';
}

for (const cls of [PipelineError, GateError, DeployError])
  Object.defineProperty(cls.prototype, 'name', { value: cls.name, writable: true, enumerable: false, configurable: true });
