// One step on its own, as a KFP container runs it (`informer pipeline step <step>`): its inputs and
// outputs are the folders KFP gives, its run is a child of the pipeline job's parent run (found by
// the job id tag, created by the first step), and a failure ends both runs FAILED.
import { searchRuns } from '../tracking/reader.js';
import type { RunStore } from '../tracking/store.js';
import { PipelineError } from './errors.js';
import { TAG } from './runner.js';
import { dirDigest } from './files.js';
import { isFleet, type PipelineSpec } from './spec.js';
import { STEP_NAMES, type StepContext, type StepReport } from './step.js';
import { STEPS } from './steps/index.js';
import { trainGlobalStep } from './steps/train.js';

export const JOB_TAG = 'informer.pipeline.job';

export interface SingleStepOptions {
  step: string;
  spec: PipelineSpec;
  store: RunStore;
  /** The KFP job (its uuid): the parent run carries it as a tag. */
  jobId: string;
  jobName?: string;
  series?: string;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  log?: (line: string) => void;
  /** Stops the step (KFP's SIGTERM): its run and the job's parent run end KILLED. */
  signal?: AbortSignal;
}

export async function runSingleStep(o: SingleStepOptions): Promise<StepReport> {
  const def = o.step === 'train-global' ? undefined : STEPS.find((s) => s.name === o.step);
  if (def === undefined && o.step !== 'train-global')
    throw new PipelineError(`unknown step ${JSON.stringify(o.step)}; steps: ${[...STEP_NAMES, 'train-global'].join(', ')}`, o.step);
  const exp = o.store.getOrCreateExperiment(o.spec.tracking.experiment);
  const found = searchRuns(o.store, {
    experimentIds: [exp.experimentId],
    filter: `tags."${JOB_TAG}" = '${o.jobId.replace(/'/g, "''")}'`,
  }).filter((r) => r.data.tags['mlflow.parentRunId'] === undefined);
  const parent =
    found.length > 0
      ? o.store.getRun(found[found.length - 1]!.info.runId)
      : o.store.createRun({
          experimentId: exp.experimentId,
          runName: o.jobName ?? `${o.spec.name}-${o.jobId.slice(0, 8)}`,
          tags: { [TAG.pipeline]: o.spec.name, [JOB_TAG]: o.jobId, 'informer.pipeline.fleet': isFleet(o.spec) },
        });
  const child = o.store.createRun({
    experimentId: exp.experimentId,
    parentRunId: parent.info.runId,
    runName: o.series === undefined ? o.step : `${o.step}-${o.series}`,
    tags: { [TAG.step]: o.step, ...(o.series !== undefined ? { 'informer.pipeline.series': o.series } : {}) },
  });
  const expected = def?.outputs ?? { model: 'system.Model' };
  const ctx: StepContext = {
    spec: o.spec,
    store: o.store,
    run: child,
    input: (name) => {
      const dir = o.inputs[name];
      if (dir === undefined) throw new PipelineError(`step ${o.step} needs --input-${name.replace(/_/g, '-')}`, o.step);
      return dir;
    },
    optionalInput: (name) => o.inputs[name],
    output: (name) => {
      if (!(name in expected)) throw new PipelineError(`step ${o.step} has no output ${name}`, o.step);
      const dir = o.outputs[name];
      if (dir === undefined) throw new PipelineError(`step ${o.step} needs --output-${name.replace(/_/g, '-')}`, o.step);
      return dir;
    },
    log: o.log ?? ((line) => process.stderr.write(`${line}\n`)),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    ...(o.series !== undefined ? { series: o.series } : {}),
  };
  const t0 = Date.now();
  try {
    const report = await (def?.run ?? trainGlobalStep)(ctx);
    if (o.signal?.aborted) throw new PipelineError('interrupted', o.step);
    const digests: Record<string, string> = {};
    for (const name of Object.keys(expected)) if (o.outputs[name] !== undefined) digests[name] = dirDigest(o.outputs[name]!);
    child.logDict({ step: o.step, artifacts: o.outputs, digests, report }, 'pipeline/outputs.json');
    child.logMetric('duration_seconds', (Date.now() - t0) / 1000);
    child.end('FINISHED');
    if (o.step === 'deploy') parent.end('FINISHED');
    return report;
  } catch (e) {
    child.setTag(TAG.error, `${(e as Error).name}: ${(e as Error).message}`.slice(0, 5000));
    child.logMetric('duration_seconds', (Date.now() - t0) / 1000);
    const status = o.signal?.aborted ? 'KILLED' : 'FAILED';
    child.end(status);
    parent.setTag(TAG.error, `${o.step}: ${(e as Error).message}`.slice(0, 5000));
    parent.end(status);
    throw e;
  }
}
