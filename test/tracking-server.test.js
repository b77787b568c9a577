// The tracking API, the registry, artifacts and the CLI main job against MLflow 2.12.2's own
// tracking server (../shared/tools/mlflow-server: REST API, SQLite backend, artifact proxy), read
// back both through informer-node and through the REST API directly, compared with the same job on
// a local store, and with the server stopped mid-run: nothing may be lost after it comes back.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Informer } from '../dist/index.js';
import * as tracking from '../dist/tracking/index.js';
import * as artifact from '../dist/artifact/index.js';
import { TrackingServerError } from '../dist/tracking/errors.js';
import { HAVE_MLFLOW_SERVER, freePort, startMlflowServer } from './helpers/mlflow-server.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'index.js');

if (!HAVE_MLFLOW_SERVER) {
  t.plan(0, 'skip: ../shared/tools/mlflow-server is absent (MLflow tracking server integration tests)');
} else {
  t.test('tracking server', { timeout: 900_000 }, async (t) => {
    const port = await freePort();
    const data = t.testdir();
    let server = await startMlflowServer(port, data);
    t.teardown(() => server.stop());
    const uri = server.uri;
    const cache = join(data, 'cache');
    const saved = { cache: process.env.INFORMER_TRACKING_CACHE, retries: process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES };
    process.env.INFORMER_TRACKING_CACHE = cache;
    t.teardown(() => {
      for (const [k, v] of [
        ['INFORMER_TRACKING_CACHE', saved.cache],
        ['MLFLOW_HTTP_REQUEST_MAX_RETRIES', saved.retries],
      ]) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      tracking.setTrackingUri(undefined);
    });
    const rest = async (endpoint, query) => {
      const res = await fetch(`${uri}/api/2.0/mlflow/${endpoint}?${new URLSearchParams(query)}`);
      return res.json();
    };

    await t.test('experiments, nested runs, params, metrics, tags, inputs and artifacts', async (t) => {
      tracking.setTrackingUri(uri);
      t.equal(tracking.getTrackingUri(), uri);
      const exp = tracking.setExperiment('informer-api');
      t.match(exp, { name: 'informer-api', lifecycleStage: 'active', artifactLocation: /^mlflow-artifacts:/ });
      t.equal(tracking.setExperiment('informer-api').experimentId, exp.experimentId, 'setExperiment reuses by name');
      tracking.getStore().setExperimentTag(exp.experimentId, 'team', 'forecast');
      t.same(tracking.getExperiment(exp.experimentId).tags, { team: 'forecast' });
      t.same(
        tracking.searchExperiments({ filter: "name LIKE 'informer%'" }).map((e) => e.name),
        ['informer-api'],
      );
      const dup = (() => {
        try {
          tracking.createExperiment('informer-api');
        } catch (e) {
          return e;
        }
      })();
      t.type(dup, TrackingServerError);
      t.equal(dup.errorCode, 'RESOURCE_ALREADY_EXISTS');

      const parent = tracking.startRun({ runName: 'parent' });
      const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, i]));
      parent.logParams(params);
      for (let step = 0; step < 2100; step++) parent.logMetric('loss', 1 / (step + 1), { step, timestamp: 1_700_000_000_000 + step });
      parent.logMetric('not_a_number', Number.NaN);
      parent.logMetric('infinite', Number.POSITIVE_INFINITY);
      parent.setTags({ team: 'forecast', gone: 'soon' });
      parent.deleteTag('gone');
      const dataset = {
        name: 'etth1-train',
        digest: 'd41d8cd98f00b204',
        sourceType: 'local',
        source: '{"uri": "file:///data/ETTh1.csv"}',
        schema: '{"mlflow_colspec": []}',
        profile: '{"num_rows": 8640}',
      };
      parent.logInputs([{ dataset, tags: { 'mlflow.data.context': 'training' } }]);
      const big = join(t.testdir(), 'series.bin');
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      writeFileSync(big, bytes);
      parent.logArtifact(big, 'data');
      const child = tracking.startRun({ runName: 'child', nested: true });
      child.logMetric('x', 2);
      tracking.endRun();
      tracking.endRun();

      const r = tracking.getRun(parent.runId);
      t.equal(r.info.status, 'FINISHED');
      t.equal(r.info.runName, 'parent');
      t.equal(Object.keys(r.data.params).length, 150);
      t.equal(r.data.params.p42, '42');
      t.equal(r.data.metrics.loss, 1 / 2100);
      t.ok(Number.isNaN(r.data.metrics.not_a_number));
      // MLflow's SQL store keeps +inf as the largest double (its FileStore, like ours, keeps 'inf')
      t.equal(r.data.metrics.infinite, Number.MAX_VALUE);
      t.equal(r.data.tags.team, 'forecast');
      t.notOk('gone' in r.data.tags, 'deleted tag is gone on the server');
      t.same(r.inputs.datasetInputs, [{ dataset, tags: { 'mlflow.data.context': 'training' } }]);
      const history = tracking.getMetricHistory(parent.runId, 'loss');
      t.equal(history.length, 2100);
      t.same(
        history.map((m) => m.step),
        Array.from({ length: 2100 }, (_, i) => i),
      );
      t.equal(history[7].value, 1 / 8);
      t.equal(history[7].timestamp, 1_700_000_000_007);

      // the same run read by MLflow's REST API directly
      const raw = (await rest('runs/get', { run_id: parent.runId })).run;
      t.equal(raw.info.status, 'FINISHED');
      t.equal(raw.data.params.length, 150);
      t.same(Object.fromEntries(raw.data.tags.map((x) => [x.key, x.value])), r.data.tags);
      t.equal(raw.data.metrics.find((m) => m.key === 'loss').value, 1 / 2100);
      t.equal(raw.inputs.dataset_inputs[0].dataset.digest, dataset.digest);

      const c = tracking.getRun(child.runId);
      t.equal(c.data.tags['mlflow.parentRunId'], parent.runId);
      t.same(
        tracking
          .searchRuns({ experimentIds: [exp.experimentId], filter: "params.p0 = '0' and metrics.loss < 0.01" })
          .map((x) => x.info.runId),
        [parent.runId],
      );
      t.same(
        tracking
          .searchRuns({ experimentNames: ['informer-api'], filter: `tags.mlflow.parentRunId = '${parent.runId}'` })
          .map((x) => x.info.runName),
        ['child'],
      );
      t.same(
        tracking.searchRuns({ experimentIds: [exp.experimentId], orderBy: ['attributes.run_name DESC'] }).map((x) => x.info.runName),
        ['parent', 'child'],
      );

      // artifacts: streamed up through the proxy, and down again into a fresh cache
      process.env.INFORMER_TRACKING_CACHE = join(data, 'fresh-cache');
      tracking.setTrackingUri(uri);
      const dir = artifact.resolveModelUri(`runs:/${parent.runId}/data`);
      t.ok(dir.startsWith(join(data, 'fresh-cache')));
      t.ok(readFileSync(join(dir, 'series.bin')).equals(bytes), 'the 3 MB file came back byte for byte');
      process.env.INFORMER_TRACKING_CACHE = cache;
      tracking.setTrackingUri(uri);
    });

    await t.test('registry: a logged Informer registered, aliased, staged and loaded back by models:/ URI', async (t) => {
      tracking.setTrackingUri(uri);
      tracking.setExperiment('informer-registry');
      const model = new Informer({
        seqLen: 16,
        labelLen: 8,
        predLen: 4,
        encIn: 1,
        decIn: 1,
        cOut: 1,
        dModel: 8,
        nHeads: 2,
        dFf: 16,
        dropout: 0,
        seed: 3,
      });
      t.teardown(() => model.dispose());
      const r = tracking.startRun({ runName: 'model' });
      const info = artifact.logModel(model, 'model', { registeredModelName: 'informer-remote' });
      tracking.endRun();
      t.equal(info.registeredModelVersion, 1);
      const mv = tracking.getModelVersion('informer-remote', 1);
      t.equal(mv.runId, r.runId);
      t.equal(mv.source, `${r.info.artifactUri}/model`);
      t.equal(mv.status, 'READY');
      tracking.setAlias('informer-remote', 'champion', 1);
      t.equal(tracking.getModelVersionByAlias('informer-remote', 'champion').version, 1);
      t.same(tracking.getRegisteredModel('informer-remote').aliases, { champion: 1 });
      tracking.setModelVersionTag('informer-remote', 1, 'validated', 'yes');
      tracking.transitionModelVersionStage('informer-remote', 1, 'Staging');
      const found = tracking.searchModelVersions("name = 'informer-remote'");
      t.equal(found.length, 1);
      t.match(found[0], { version: 1, currentStage: 'Staging', tags: { validated: 'yes' }, aliases: ['champion'] });
      t.same(
        tracking.searchRegisteredModels("name LIKE 'informer-re%'").map((m) => [m.name, m.latestVersion]),
        [['informer-remote', 1]],
      );
      // loaded from a cache that has never seen it: downloaded through the proxy
      process.env.INFORMER_TRACKING_CACHE = join(data, 'load-cache');
      tracking.setTrackingUri(uri);
      const loaded = artifact.loadModel('models:/informer-remote/@champion');
      t.teardown(() => loaded.dispose());
      t.same(loaded.config, model.config);
      const sd = model.stateDict();
      const back = loaded.stateDict();
      for (const [k, v] of Object.entries(sd)) t.same(Array.from(back[k].data), Array.from(v.data), k);
      process.env.INFORMER_TRACKING_CACHE = cache;
      tracking.setTrackingUri(uri);
      tracking.deleteAlias('informer-remote', 'champion');
      t.throws(() => tracking.getModelVersionByAlias('informer-remote', 'champion'), { name: 'TrackingError', message: /champion/ });
      const v2 = tracking.registerModel(`runs:/${r.runId}/model`, 'informer-remote');
      t.equal(v2.version, 2);
      tracking.deleteModelVersion('informer-remote', 2);
      t.throws(() => tracking.getModelVersion('informer-remote', 2), { name: 'TrackingError', message: /not found/ });
      t.equal(tracking.getModelLatestVersion('informer-remote').version, 1);
    });

    await t.test('the CLI main job on the server matches the same job on a local store', async (t) => {
      const work = t.testdir();
      const env = { ...process.env, INFORMER_TRACKING_CACHE: cache, MLFLOW_TRACKING_URI: '' };
      const args = ['train', '--train-epochs', '2', '--max-steps-per-epoch', '40', '--no-onnx'];
      const remote = await run(process.execPath, [cli, ...args, '--tracking-uri', uri], { cwd: work, env, maxBuffer: 1 << 26 });
      const local = await run(process.execPath, [cli, ...args, '--mlruns', join(work, 'mlruns')], { cwd: work, env, maxBuffer: 1 << 26 });
      t.match(remote.stdout, /tracking server: http:\/\/127\.0\.0\.1/);
      t.match(remote.stdout, /registered: models:\/alibaba-pod-cpu\/1/);
      const idOf = (out) => /^run ([0-9a-f]{32}) /m.exec(out)[1];
      tracking.setTrackingUri(uri);
      const onServer = tracking.getRun(idOf(remote.stdout));
      tracking.setTrackingUri(join(work, 'mlruns'));
      const onDisk = tracking.getRun(idOf(local.stdout));
      tracking.setTrackingUri(uri);
      t.same(onServer.data.params, onDisk.data.params, 'same params');
      t.same(Object.keys(onServer.data.metrics).sort(), Object.keys(onDisk.data.metrics).sort(), 'same metrics');
      for (const k of ['mse', 'mae', 'naive_mse', 'train_loss', 'val_loss']) {
        t.ok(Math.abs(onServer.data.metrics[k] - onDisk.data.metrics[k]) <= 1e-6 * Math.abs(onDisk.data.metrics[k]), `${k} equal`);
      }
      const informerTags = (r) =>
        Object.keys(r.data.tags)
          .filter((k) => k.startsWith('informer.') || k.startsWith('mlflow.source.'))
          .sort();
      t.same(informerTags(onServer), informerTags(onDisk), 'same lineage tags');
      const inputs = (r) => r.inputs.datasetInputs.map((d) => [d.dataset.name, d.dataset.digest, d.tags['mlflow.data.context']]).sort();
      t.same(inputs(onServer), inputs(onDisk), 'same dataset inputs');
      t.same(
        tracking.getMetricHistory(onServer.info.runId, 'train_loss').map((m) => m.step),
        tracking.reader.getMetricHistory(tracking.RunStore.open(join(work, 'mlruns')), onDisk.info.runId, 'train_loss').map((m) => m.step),
      );
      const lsRemote = await run(process.execPath, [cli, 'runs', 'show', onServer.info.runId, '--tracking-uri', uri], { env });
      const files = (out) => out.split('\n').filter((l) => /^ {2}(model|plots)\//.test(l));
      const lsLocal = await run(process.execPath, [cli, 'runs', 'show', onDisk.info.runId, '--mlruns', join(work, 'mlruns')], { env });
      t.same(files(lsRemote.stdout), files(lsLocal.stdout), 'same artifact files');
      t.ok(files(lsRemote.stdout).includes('  model/model.safetensors'));
      const history = join(root, 'data', 'alibaba_pod.csv');
      const fresh = { ...env, INFORMER_TRACKING_CACHE: join(work, 'predict-cache') };
      const p1 = await run(process.execPath, [cli, 'predict', 'models:/alibaba-pod-cpu/1', '--history', history, '--tracking-uri', uri], {
        env: fresh,
      });
      const p2 = await run(
        process.execPath,
        [cli, 'predict', `runs:/${onServer.info.runId}/model`, '--history', history, '--tracking-uri', uri],
        { env },
      );
      t.equal(p1.stdout, p2.stdout, 'models:/ and runs:/ on the server give the same forecast');
      const rows = p1.stdout.trim().split('\n').slice(-6);
      t.ok(
        rows.every((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,-?\d/.test(l)),
        'six forecast rows',
      );
      const lineage = JSON.parse(
        (await run(process.execPath, [cli, 'models', 'lineage', 'alibaba-pod-cpu/1', '--json', '--tracking-uri', uri], { env })).stdout,
      );
      t.equal(lineage.run.runId, onServer.info.runId);
      t.equal(lineage.model.tags['informer.dataset_digest'], onServer.inputs.datasetInputs[0].dataset.digest);
    });

    await t.test('the server stops mid-run: logging goes on, nothing is lost, `informer runs sync` sends it', async (t) => {
      process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES = '0';
      tracking.setTrackingUri(uri);
      tracking.setExperiment('informer-outage');
      const r = tracking.startRun({ runName: 'outage' });
      r.logParam('before', 1);
      for (let step = 0; step < 50; step++) r.logMetric('loss', step, step);
      tracking.getRun(r.runId); // flushes what was logged so far
      await server.stop();
      const warnings = [];
      const onWarning = (w) => warnings.push(w);
      process.on('warning', onWarning);
      t.teardown(() => process.off('warning', onWarning));
      for (let step = 50; step < 200; step++) r.logMetric('loss', step, step);
      r.logParam('after', 2);
      r.setTag('phase', 'offline');
      r.logText('written while the server was down', 'notes/offline.txt');
      tracking.endRun();
      await new Promise((res) => setTimeout(res, 50));
      t.ok(
        warnings.some((w) => w.name === 'InformerTrackingWarning' && /spooling/.test(w.message)),
        'says it is spooling',
      );
      const spool = tracking.getStore().remote.spool;
      t.same(spool.pendingRuns(), [r.runId], 'the run is spooled');

      // this process's worker would replay by itself once the server is back: stop it, so that the
      // replay is `informer runs sync`'s (a separate process, as after a crash)
      await tracking.getStore().remote.close();
      server = await startMlflowServer(port, data);
      const sync = await run(process.execPath, [cli, 'runs', 'sync', '--tracking-uri', uri], { env: { ...process.env } });
      t.match(sync.stdout, new RegExp(`${r.runId}: sent`));
      t.same(spool.pendingRuns(), []);
      delete process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES;
      tracking.setTrackingUri(uri);
      const back = tracking.getRun(r.runId);
      t.equal(back.info.status, 'FINISHED');
      t.same(back.data.params, { before: '1', after: '2' });
      t.equal(back.data.tags.phase, 'offline');
      t.same(
        tracking.getMetricHistory(r.runId, 'loss').map((m) => m.value),
        Array.from({ length: 200 }, (_, i) => i),
        'all 200 points, in order, each once',
      );
      process.env.INFORMER_TRACKING_CACHE = join(data, 'after-cache');
      tracking.setTrackingUri(uri);
      const notes = artifact.resolveModelUri(`runs:/${r.runId}/notes`);
      t.equal(readFileSync(join(notes, 'offline.txt'), 'utf8'), 'written while the server was down');
      process.env.INFORMER_TRACKING_CACHE = cache;
    });

    await t.test('the server stops during `informer train`: training goes on, the run and model arrive when it is back', async (t) => {
      const work = t.testdir();
      const env = { ...process.env, INFORMER_TRACKING_CACHE: join(work, 'cache'), MLFLOW_TRACKING_URI: uri };
      delete env.MLFLOW_HTTP_REQUEST_MAX_RETRIES; // MLflow's default: 5 retries, 2 s .. 32 s apart
      const child = spawn(
        process.execPath,
        [
          cli,
          'train',
          '--train-epochs',
          '4',
          '--max-steps-per-epoch',
          '150',
          '--no-onnx',
          '--register',
          'outage-model',
          '--experiment',
          'outage-train',
        ],
        {
          cwd: work,
          env,
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => {
        out += c;
      });
      const exited = new Promise((res) => child.once('exit', res));
      // progress and epoch lines are on stderr
      await new Promise((res) => {
        child.stderr.on('data', (c) => {
          err += c;
          if (/epoch 1\/4: train/.test(err)) res();
        });
      });
      await server.stop(); // down after the first epoch ...
      server = await startMlflowServer(port, data); // ... and back a few seconds later
      const code = await exited;
      t.equal(code, 0, `informer train finished (stderr: ${err.slice(-500)})`);
      t.match(err, /InformerTrackingWarning: .*unreachable; spooling/, 'it said it was spooling');
      t.match(err, /epoch 4\/4: train/);
      const runId = /^run ([0-9a-f]{32}) /m.exec(out)[1];
      tracking.setTrackingUri(uri);
      const r = tracking.getRun(runId);
      t.equal(r.info.status, 'FINISHED');
      t.same(
        tracking.getMetricHistory(runId, 'train_loss').map((m) => m.step),
        [1, 2, 3, 4],
        'every epoch arrived',
      );
      t.ok(r.data.metrics.mse > 0);
      const mv = tracking.getModelVersion('outage-model', 1);
      t.equal(mv.runId, runId);
      process.env.INFORMER_TRACKING_CACHE = join(work, 'load-cache');
      tracking.setTrackingUri(uri);
      const loaded = artifact.loadModel('models:/outage-model/1');
      t.equal(loaded.config.seqLen, 12);
      loaded.dispose();
      process.env.INFORMER_TRACKING_CACHE = cache;
    });

    await t.test('a pipeline run on the server: a parent run, one child per step, the champion registered', async (t) => {
      const work = t.testdir();
      const env = { ...process.env, INFORMER_TRACKING_CACHE: join(work, 'cache'), MLFLOW_TRACKING_URI: '' };
      await run(process.execPath, [cli, 'pipeline', 'init'], { cwd: work, env });
      const yaml = readFileSync(join(work, 'pipeline.yaml'), 'utf8').replace(/epochs: \d+/, 'epochs: 1');
      writeFileSync(join(work, 'pipeline.yaml'), yaml);
      const out = await run(process.execPath, [cli, 'pipeline', 'run', 'pipeline.yaml', '--deploy', 'none', '--tracking-uri', uri], {
        cwd: work,
        env,
        maxBuffer: 1 << 26,
      });
      const parentId = /pipeline FINISHED in .*: run ([0-9a-f]{32})/.exec(out.stdout)[1];
      tracking.setTrackingUri(uri);
      const parent = tracking.getRun(parentId);
      t.equal(parent.info.status, 'FINISHED');
      const steps = tracking.searchRuns({ experimentIds: [parent.info.experimentId], filter: `tags.mlflow.parentRunId = '${parentId}'` });
      t.same(
        steps.map((r) => r.info.status),
        steps.map(() => 'FINISHED'),
      );
      t.equal(steps.length, 6, 'one child run per step');
      const name = /registered: models:\/([^/\s]+)\/(\d+)/.exec(out.stdout);
      t.ok(name, 'the summary names the registered version');
      const champion = tracking.getModelVersionByAlias(name[1], 'champion');
      t.equal(String(champion.version), name[2]);
    });
  });
}
