// Trainer autologging: a run gets every config value as a param, per-epoch metrics with steps, the
// final test metrics with the naive baseline, both plots, and a model that loads back unchanged
// through runs:/ and models:/ URIs.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import {
  ForecastDataset,
  Informer,
  Trainer,
  fitWithRun,
  getMetricHistory,
  getRun,
  loadModel,
  parseCsv,
  setExperiment,
  setTrackingUri,
  startRun,
} from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const text = readFileSync(join(root, 'data', 'alibaba_pod.csv'), 'utf8')
  .split('\n')
  .slice(0, 1501)
  .join('\n');

t.test('a Trainer given a run autologs it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-autolog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  setTrackingUri(join(dir, 'mlruns'));
  setExperiment('autolog');
  const data = ForecastDataset.fromTable(parseCsv(text), {
    features: 'S',
    target: 'cpu_utilization',
    seqLen: 12,
    labelLen: 6,
    predLen: 4,
    freq: '1min',
  });
  const model = new Informer({ ...data.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 16, seed: 2 });
  t.teardown(() => model.dispose());
  const result = await startRun({ runName: 'autolog-test' }, (run) =>
    fitWithRun(new Trainer(model, data, { epochs: 2, batchSize: 16 }), run, { registeredModelName: 'tiny', logEveryNSteps: 5 }),
  );
  const record = getRun(result.model.runId);
  t.equal(record.info.status, 'FINISHED');
  t.equal(record.data.params.seq_len, '12');
  t.equal(record.data.params.d_model, '16');
  t.equal(record.data.params.learning_rate, '0.0001');
  for (const k of ['mae', 'mse', 'rmse', 'r2', 'mape', 'mspe', 'naive_mse', 'skill']) t.ok(k in record.data.metrics, `metric ${k}`);
  t.equal(record.data.metrics.mse, result.test.mse);
  t.same(
    getMetricHistory(result.model.runId, 'val_loss').map((m) => m.step),
    [1, 2],
  );
  t.same(
    getMetricHistory(result.model.runId, 'lr').map((m) => m.value),
    [1e-4, 1e-4],
  );
  t.ok(getMetricHistory(result.model.runId, 'train_step_loss').length > 0);
  for (const p of result.plots) t.ok(existsSync(p) && readFileSync(p, 'utf8').startsWith('<svg'), p);
  t.equal(result.model.registeredModelVersion, 1);
  const { batch } = data.split('test').batch([0, 1, 2]);
  const want = Array.from(model.forwardSync(batch).data);
  for (const uri of [result.model.modelUri, 'models:/tiny/1', 'models:/tiny/latest']) {
    const back = loadModel(uri);
    t.same(Array.from(back.forwardSync(batch).data), want, `${uri} forecasts like the trained model`);
    back.dispose();
  }
});
