// One trainMany job: read its data, build the dataset and model, train with the Trainer (logging to
// the job's run when it names one), save the weights. Run in a worker process (many-worker.ts), or
// in the caller's process with trainMany's `inProcess`.
import { savePredictorModel } from '../artifact/preprocessing.js';
import { resolveConfig } from '../config.js';
import { ForecastDataset } from '../data/dataset.js';
import { readTable } from '../data/table.js';
import { Informer } from '../model.js';
import { openStore } from '../tracking/open.js';
import { fitWithRun } from './autolog.js';
import type { TrainJob, TrainJobResult } from './many.js';
import { type EpochEvent, Trainer } from './trainer.js';

export async function runTrainJob(job: TrainJob, signal: AbortSignal, emit: (e: EpochEvent) => void): Promise<TrainJobResult> {
  const started = Date.now();
  const table = typeof job.data === 'string' ? await readTable(job.data) : job.data;
  const dataset = ForecastDataset.fromTable(table, job.dataset);
  const model = new Informer(resolveConfig({ ...(job.model ?? {}), ...dataset.modelConfig() }));
  try {
    const trainer = new Trainer(model, dataset, { ...(job.training ?? {}), signal, onEpoch: emit });
    const logged =
      job.run === undefined
        ? null
        : await fitWithRun(trainer, openStore(job.run.storeUri, { create: false }).getRun(job.run.runId), {
            registeredModelName: job.run.registeredModelName,
            onnx: job.run.onnx,
            params: job.run.params,
            plots: job.run.plots,
            dataset: typeof job.data === 'string' ? { path: job.data } : undefined,
          });
    const r = logged ?? (await trainer.fit());
    const out: TrainJobResult = {
      id: job.id,
      ok: true,
      test: r.test,
      epochs: r.epochs,
      bestEpoch: r.bestEpoch,
      ...(logged?.model
        ? { modelUri: logged.model.modelUri, modelDir: logged.model.modelDir, registeredModelVersion: logged.model.registeredModelVersion }
        : {}),
      parameters: model.parameterCount(),
      seconds: 0,
    };
    if (job.saveTo !== undefined) savePredictorModel(model, dataset, job.saveTo);
    out.seconds = (Date.now() - started) / 1000;
    return out;
  } finally {
    model.dispose();
  }
}
