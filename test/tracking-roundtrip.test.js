// Every tracking call, read back through the reader API.
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigError, ValueError } from '../dist/errors.js';
import * as tracking from '../dist/tracking/index.js';
import * as artifact from '../dist/artifact/index.js';

const { RunStore, TrackingError, reader, registry } = tracking;

function fakeModel(tag = 'W') {
  return { save: (p) => writeFileSync(p, tag), config: { seqLen: 96, predLen: 24 } };
}

function useStore(t, options = {}) {
  const root = t.testdir();
  tracking.setTrackingUri(root, options);
  t.teardown(() => {
    while (tracking.activeRun()) tracking.endRun();
    tracking.setTrackingUri(undefined);
  });
  return { root, store: tracking.getStore() };
}

t.test('opening a store creates .trash and the Default experiment 0', async (t) => {
  const root = t.testdir();
  const store = RunStore.open(root);
  t.ok(existsSync(join(root, '.trash')));
  const def = store.getExperiment('0');
  t.equal(def.name, 'Default');
  t.equal(def.artifactLocation, `${tracking.pathToUri(root)}/0`);
  t.equal(store.listExperiments().length, 1);
  RunStore.open(root); // idempotent
  t.equal(store.listExperiments().length, 1);
  t.throws(() => RunStore.open(join(root, 'missing'), { create: false }), TrackingError);
});

t.test('tracking URIs: paths, file URIs, MLFLOW_TRACKING_URI, servers; databases are refused', async (t) => {
  const root = t.testdir();
  t.equal(RunStore.open(tracking.pathToUri(root)).root, root);
  t.equal(tracking.resolveStorePath(`file:${root}`), root);
  const saved = process.env.MLFLOW_TRACKING_URI;
  t.teardown(() => {
    if (saved === undefined) delete process.env.MLFLOW_TRACKING_URI;
    else process.env.MLFLOW_TRACKING_URI = saved;
  });
  process.env.MLFLOW_TRACKING_URI = tracking.pathToUri(join(root, 'env'));
  t.equal(RunStore.open().root, join(root, 'env'));
  for (const uri of ['sqlite:///mlflow.db', 'databricks://profile']) t.throws(() => RunStore.open(uri), ConfigError, uri);
  t.throws(() => RunStore.open('sqlite:///mlflow.db'), { message: /databases and Databricks are not/ });
  // a server: a ServerStore (nothing is asked of the server until the store is used)
  process.env.INFORMER_TRACKING_CACHE = t.testdir();
  t.teardown(() => delete process.env.INFORMER_TRACKING_CACHE);
  const server = RunStore.open('https://mlflow.example/prefix/');
  t.type(server, tracking.ServerStore);
  t.equal(server.trackingUri, 'https://mlflow.example/prefix/'.trim());
  t.ok(server.remote);
  server.remote.close();
});

t.test('experiments: create, get by name, tags, search, delete and restore', async (t) => {
  const { store } = useStore(t);
  const e = tracking.setExperiment('informer-ett');
  t.match(e.experimentId, /^\d+$/);
  t.equal(tracking.setExperiment('informer-ett').experimentId, e.experimentId, 'setExperiment reuses by name');
  t.equal(tracking.setExperiment({ experimentId: e.experimentId }).name, 'informer-ett');
  t.throws(() => tracking.createExperiment('informer-ett'), TrackingError, 'names are unique');
  const id2 = tracking.createExperiment('other', { tags: { team: 'forecast' } });
  store.setExperimentTag(id2, 'stage', 'dev');
  t.same(tracking.getExperiment(id2).tags, { team: 'forecast', stage: 'dev' });
  t.equal(tracking.getExperimentByName('other').experimentId, id2);
  t.same(
    tracking.searchExperiments({ filter: "name LIKE 'inf%'" }).map((x) => x.name),
    ['informer-ett'],
  );
  t.same(
    tracking.searchExperiments({ filter: "tags.team = 'forecast'" }).map((x) => x.name),
    ['other'],
  );
  t.equal(tracking.searchExperiments().length, 3);

  store.deleteExperiment(id2);
  t.equal(store.getExperiment(id2).lifecycleStage, 'deleted');
  t.same(
    tracking
      .searchExperiments()
      .map((x) => x.name)
      .sort(),
    ['Default', 'informer-ett'],
  );
  t.equal(tracking.searchExperiments({ view: 'deleted' }).length, 1);
  t.throws(() => tracking.setExperiment('other'), TrackingError, 'a deleted experiment cannot be made current');
  store.restoreExperiment(id2);
  t.equal(tracking.setExperiment('other').experimentId, id2);
  t.throws(() => store.deleteExperiment('0'), TrackingError);
});

t.test('params, metrics, tags round-trip through getRun and getMetricHistory', async (t) => {
  useStore(t);
  tracking.setExperiment('rt');
  const run = tracking.startRun({ runName: 'rt-run', tags: { team: 'forecast' }, description: 'first try' });
  tracking.logParam('lr', 0.001);
  tracking.logParams({ seq_len: 96, attn: 'prob', distil: true, 'opt/beta1': 0.9 });
  tracking.logParam('lr', 0.001); // same value again: allowed
  for (let step = 0; step < 5; step++) tracking.logMetric('mse', 1 / (step + 1), step);
  tracking.logMetrics({ mae: 0.3, rmse: 0.4 }, 7);
  tracking.logMetric('mse', 0.9, { step: 2, timestamp: 123 }); // an older, out-of-order point
  tracking.logMetric('weird', Infinity);
  tracking.logMetric('weird', -Infinity, 1);
  tracking.logMetric('weird', NaN, 2);
  tracking.setTag('note', 'hello world');
  tracking.setTags({ a: 1, b: false });
  tracking.deleteTag('a');
  tracking.endRun();

  const r = tracking.getRun(run.runId);
  t.equal(r.info.status, 'FINISHED');
  t.equal(r.info.runName, 'rt-run');
  t.equal(r.info.userId, tracking.getStore().user);
  t.type(r.info.endTime, 'number');
  t.same(r.data.params, { lr: '0.001', seq_len: '96', attn: 'prob', distil: 'True', 'opt/beta1': '0.9' });
  t.equal(r.data.metrics.mse, 0.2, 'latest = highest step');
  t.equal(r.data.metrics.mae, 0.3);
  t.ok(Number.isNaN(r.data.metrics.weird));
  t.equal(r.data.tags.note, 'hello world');
  t.equal(r.data.tags.b, 'False');
  t.notOk('a' in r.data.tags);
  t.equal(r.data.tags['mlflow.runName'], 'rt-run');
  t.equal(r.data.tags['mlflow.note.content'], 'first try');
  t.equal(r.data.tags['mlflow.source.type'], 'LOCAL');
  t.equal(r.data.tags['mlflow.user'], tracking.getStore().user);
  t.equal(r.data.tags.team, 'forecast');

  const hist = tracking.getMetricHistory(run.runId, 'mse');
  t.same(
    hist.map((m) => [m.step, m.value]),
    [
      [0, 1],
      [1, 0.5],
      [2, 1 / 3],
      [3, 0.25],
      [4, 0.2],
      [2, 0.9],
    ],
  );
  t.equal(hist[5].timestamp, 123);
  t.same(
    tracking.getMetricHistory(run.runId, 'weird').map((m) => m.value),
    [Infinity, -Infinity, NaN],
  );
  t.same(tracking.getMetricHistory(run.runId, 'never'), []);
  t.equal(
    readFileSync(join(run.dir, 'metrics', 'weird'), 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .join(','),
    'inf,-inf,nan,',
  );
});

t.test('renaming a run through the mlflow.runName tag updates meta.yaml', async (t) => {
  useStore(t);
  const run = tracking.startRun({ runName: 'before' });
  tracking.setTag('mlflow.runName', 'after');
  t.equal(run.info.runName, 'after');
  t.equal(tracking.getRun(run.runId).data.tags['mlflow.runName'], 'after');
  tracking.endRun();
});

t.test('artifacts: files, folders, text and dicts', async (t) => {
  const { root } = useStore(t);
  const src = join(root, '..', 'src-artifacts');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'A');
  writeFileSync(join(src, 'sub', 'b.txt'), 'B');
  const run = tracking.startRun();
  tracking.logArtifact(join(src, 'a.txt'));
  tracking.logArtifact(join(src, 'a.txt'), 'plots/x');
  tracking.logArtifacts(src, 'all');
  tracking.logArtifact(join(src, 'sub'));
  tracking.logText('# summary', 'notes/summary.md');
  tracking.logDict({ b: 1, a: [1, 2] }, 'cfg.yaml');
  tracking.logDict({ z: true }, 'cfg.json');
  const dir = run.artifactDir();
  t.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'A');
  t.equal(readFileSync(join(dir, 'plots/x/a.txt'), 'utf8'), 'A');
  t.equal(readFileSync(join(dir, 'all/sub/b.txt'), 'utf8'), 'B');
  t.equal(readFileSync(join(dir, 'sub/b.txt'), 'utf8'), 'B');
  t.equal(readFileSync(join(dir, 'notes/summary.md'), 'utf8'), '# summary');
  t.equal(readFileSync(join(dir, 'cfg.yaml'), 'utf8'), 'b: 1\na:\n- 1\n- 2\n');
  t.same(JSON.parse(readFileSync(join(dir, 'cfg.json'), 'utf8')), { z: true });
  t.equal(tracking.getArtifactUri('plots'), `${run.info.artifactUri}/plots`);
  t.equal(run.info.artifactUri, `${tracking.pathToUri(run.dir)}/artifacts`);
  tracking.endRun();
});

t.test('startRun callback ends FINISHED, or FAILED on throw / rejection', async (t) => {
  useStore(t);
  const id1 = tracking.startRun({ runName: 'ok' }, (run) => run.runId);
  t.equal(tracking.getRun(id1).info.status, 'FINISHED');
  let failedId;
  t.throws(
    () =>
      tracking.startRun((run) => {
        failedId = run.runId;
        throw new Error('diverged');
      }),
    { message: 'diverged' },
  );
  t.equal(tracking.getRun(failedId).info.status, 'FAILED');
  t.equal(tracking.activeRun(), undefined, 'nothing left active');

  const asyncId = await tracking.startRun(async (run) => {
    await new Promise((r) => setTimeout(r, 5));
    tracking.logMetric('m', 1);
    return run.runId;
  });
  t.equal(tracking.getRun(asyncId).info.status, 'FINISHED');
  let rejectedId;
  await t.rejects(
    tracking.startRun(async (run) => {
      rejectedId = run.runId;
      throw new Error('nope');
    }),
  );
  t.equal(tracking.getRun(rejectedId).info.status, 'FAILED');
  const killed = tracking.startRun();
  tracking.endRun('KILLED');
  t.equal(killed.status, 'KILLED');
});

t.test('nested runs carry mlflow.parentRunId; a second top-level run is refused', async (t) => {
  useStore(t);
  const parent = tracking.startRun({ runName: 'parent' });
  t.throws(() => tracking.startRun(), TrackingError);
  const child = tracking.startRun({ nested: true, runName: 'child' });
  t.equal(tracking.activeRun(), child);
  tracking.logParam('depth', 3);
  tracking.endRun();
  t.equal(tracking.activeRun(), parent);
  tracking.logParam('depth', 5); // different run: no conflict
  tracking.endRun();
  t.equal(tracking.getRun(child.runId).data.tags['mlflow.parentRunId'], parent.runId);
  const children = tracking.searchRuns({ filter: `tags.mlflow.parentRunId = '${parent.runId}'` });
  t.same(
    children.map((r) => r.info.runName),
    ['child'],
  );
});

t.test('resuming a run by id, and logging with no active run starts one', async (t) => {
  useStore(t);
  const first = tracking.startRun({ runName: 'resumable' });
  tracking.endRun();
  t.equal(first.status, 'FINISHED');
  const again = tracking.startRun({ runId: first.runId });
  t.equal(again.status, 'RUNNING');
  t.equal(again.info.endTime, null);
  tracking.logMetric('m', 2);
  tracking.endRun();
  t.equal(tracking.getRun(first.runId).data.metrics.m, 2);

  tracking.logParam('auto', 1);
  const auto = tracking.activeRun();
  t.ok(auto, 'a run was started');
  t.equal(tracking.getRun(auto.runId).data.params.auto, '1');
  tracking.endRun();
});

t.test('searchRuns: MLflow filter strings, order and views', async (t) => {
  const { store } = useStore(t);
  const exp = tracking.setExperiment('search');
  const mk = (name, lr, mse, extra = {}) =>
    tracking.startRun({ runName: name, tags: { kind: extra.kind ?? 'base' } }, () => {
      tracking.logParam('lr', lr);
      tracking.logParam('layers', extra.layers ?? 2);
      tracking.logMetric('mse', mse);
    });
  mk('a', 0.001, 0.4);
  mk('b', 0.01, 0.6, { layers: 10 });
  mk('c', 0.001, 0.2, { kind: 'long run' });
  const names = (opts) => tracking.searchRuns(opts).map((r) => r.info.runName);
  t.same(names({ filter: "params.lr = '0.001' and metrics.mse < 0.5", orderBy: ['metrics.mse ASC'] }), ['c', 'a']);
  t.same(names({ filter: 'metrics.mse >= 0.4', orderBy: ['metrics.mse DESC'] }), ['b', 'a']);
  t.same(names({ filter: "param.lr != '0.001'" }), ['b']);
  t.same(names({ filter: 'params.layers > 5' }), ['b'], 'numeric ordering on numeric params');
  t.same(names({ filter: "tags.kind LIKE '%run'" }), ['c']);
  t.same(names({ filter: "tags.kind ILIKE 'LONG%'" }), ['c']);
  t.same(names({ filter: 'tags."kind" = \'base\'', orderBy: ['attributes.run_name'] }), ['a', 'b']);
  t.same(names({ filter: "attributes.run_name IN ('a', 'c')", orderBy: ['run_name DESC'] }), ['c', 'a']);
  t.same(names({ filter: "status = 'FINISHED' AND metrics.mse <= 0.2" }), ['c']);
  t.same(names({ filter: 'metrics.missing > 0' }), [], 'a missing metric never matches');
  t.same(names({ experimentNames: ['search'], orderBy: ['params.lr DESC', 'metrics.mse'] }), ['b', 'c', 'a']);
  t.equal(names({ maxResults: 2 }).length, 2);
  t.same(names({ experimentIds: ['0'] }), []);
  t.throws(() => names({ filter: 'metrics.mse < abc' }), ValueError);
  t.throws(() => names({ filter: "params.lr = '1' or params.lr = '2'" }), ValueError);
  t.throws(() => names({ filter: "foo.bar = '1'" }), ValueError);

  const b = tracking.searchRuns({ filter: "attributes.run_name = 'b'" })[0];
  store.deleteRun(b.info.runId);
  t.same(names({}).sort(), ['a', 'c']);
  t.same(names({ view: 'deleted' }), ['b']);
  t.equal(names({ view: 'all' }).length, 3);
  store.restoreRun(b.info.runId);
  t.equal(reader.listRuns(store, exp.experimentId).length, 3);
});

t.test('compareRuns lines up params and latest metrics', async (t) => {
  useStore(t);
  const a = tracking.startRun(
    { runName: 'a' },
    (r) => (tracking.logParams({ lr: 0.1, layers: 2 }), tracking.logMetric('mse', 0.5), r.runId),
  );
  const b = tracking.startRun(
    { runName: 'b' },
    (r) => (tracking.logParams({ lr: 0.01, layers: 2 }), tracking.logMetric('mae', 0.1), r.runId),
  );
  const cmp = tracking.compareRuns([a, b]);
  t.same(cmp.runNames, ['a', 'b']);
  t.same(cmp.params, { layers: ['2', '2'], lr: ['0.1', '0.01'] });
  t.same(cmp.metrics, { mae: [null, 0.1], mse: [0.5, null] });
  t.same(cmp.differingParams, ['lr']);
});

t.test('logModel writes an MLflow model folder; the registry and model URIs find it', async (t) => {
  useStore(t);
  tracking.setExperiment('models');
  const info = tracking.startRun({ runName: 'train' }, () =>
    artifact.logModel(fakeModel('weights-1'), 'model', {
      signature: {
        inputs: [{ name: 'x_enc', type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 96, 7] } }],
        outputs: [{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 24, 7] } }],
      },
      writeOnnx: (p) => writeFileSync(p, 'onnx-bytes'),
      metadata: { dataset: 'ETTh1' },
    }),
  );
  t.equal(info.modelUri, `runs:/${info.runId}/model`);
  const dir = artifact.resolveModelUri(info.modelUri);
  t.equal(dir, info.modelDir);
  const mlmodel = artifact.readMLmodel(dir);
  t.same(Object.keys(mlmodel.flavors).sort(), ['informer_node', 'onnx', 'python_function']);
  t.equal(mlmodel.flavors.python_function.loader_module, 'mlflow.onnx');
  t.equal(mlmodel.flavors.onnx.data, 'model.onnx');
  t.equal(mlmodel.run_id, info.runId);
  t.match(mlmodel.model_uuid, /^[0-9a-f]{32}$/);
  t.match(mlmodel.utc_time_created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  t.same(JSON.parse(mlmodel.signature.inputs)[0]['tensor-spec'].shape, [-1, 96, 7]);
  t.same(mlmodel.metadata, { dataset: 'ETTh1' });
  for (const f of ['MLmodel', 'model.safetensors', 'config.json', 'model.onnx', 'conda.yaml', 'python_env.yaml', 'requirements.txt']) {
    t.ok(existsSync(join(dir, f)), f);
  }
  t.same(artifact.modelFiles(dir), {
    weights: join(dir, 'model.safetensors'),
    config: join(dir, 'config.json'),
    onnx: join(dir, 'model.onnx'),
  });
  const history = JSON.parse(tracking.getRun(info.runId).data.tags['mlflow.log-model.history']);
  t.equal(history.length, 1);
  t.equal(history[0].artifact_path, 'model');
  t.equal(history[0].model_uuid, mlmodel.model_uuid);

  // logging twice at the same path is refused; a second path is fine and extends the history
  const run = tracking.startRun({ runId: info.runId });
  t.throws(() => artifact.logModel(fakeModel(), 'model'), TrackingError);
  artifact.logModel(fakeModel('weights-2'), 'model2');
  tracking.endRun();
  t.equal(JSON.parse(tracking.getRun(run.runId).data.tags['mlflow.log-model.history']).length, 2);

  const v1 = tracking.registerModel(info.modelUri, 'informer');
  const v2 = tracking.registerModel(`runs:/${info.runId}/model2`, 'informer', { tags: { data: 'ETTh1' } });
  t.equal(v1.version, 1);
  t.equal(v2.version, 2);
  t.equal(v1.runId, info.runId);
  t.equal(v1.source, `${tracking.getRun(info.runId).info.artifactUri}/model`);
  t.equal(v1.currentStage, 'None');
  t.equal(v1.status, 'READY');
  t.same(v2.tags, { data: 'ETTh1' });

  tracking.setAlias('informer', 'champion', 1);
  t.same(tracking.getModelVersion('informer', 1).aliases, ['champion']);
  t.equal(tracking.getModelVersionByAlias('informer', 'champion').version, 1);
  tracking.setAlias('informer', 'champion', 2); // moving an alias
  t.equal(tracking.getModelVersionByAlias('informer', 'champion').version, 2);
  t.same(tracking.getRegisteredModel('informer').aliases, { champion: 2 });
  tracking.setRegisteredModelTag('informer', 'owner', 'ada');
  tracking.setModelVersionTag('informer', 1, 'validated', true);
  t.equal(tracking.getRegisteredModel('informer').tags.owner, 'ada');
  t.equal(tracking.getModelVersion('informer', 1).tags.validated, 'True');
  t.equal(tracking.getModelLatestVersion('informer').version, 2);
  t.equal(tracking.getModelUri('informer', 1), v1.source);

  const load = (uri) => readFileSync(join(artifact.resolveModelUri(uri), 'model.safetensors'), 'utf8');
  t.equal(load('models:/informer/1'), 'weights-1');
  t.equal(load('models:/informer/@champion'), 'weights-2');
  t.equal(load('models:/informer/latest'), 'weights-2');
  t.equal(load(`runs:/${info.runId}/model`), 'weights-1');
  t.equal(load(v1.source), 'weights-1');
  tracking.transitionModelVersionStage('informer', 1, 'production');
  t.equal(load('models:/informer/Production'), 'weights-1');
  tracking.transitionModelVersionStage('informer', 2, 'Production', true);
  t.equal(tracking.getModelVersion('informer', 1).currentStage, 'Archived');
  t.throws(() => load('models:/informer/Staging'), TrackingError);
  t.throws(() => load('models:/informer/9'), TrackingError);
  t.throws(() => load('models:/nope/1'), TrackingError);

  t.same(
    tracking
      .searchModelVersions("name = 'informer'")
      .map((v) => v.version)
      .sort(),
    [1, 2],
  );
  t.same(
    tracking.searchModelVersions(`run_id = '${info.runId}' and tags.data = 'ETTh1'`).map((v) => v.version),
    [2],
  );
  t.same(
    tracking.searchRegisteredModels("name LIKE 'inf%'").map((m) => m.name),
    ['informer'],
  );

  tracking.deleteAlias('informer', 'champion');
  t.throws(() => tracking.getModelVersionByAlias('informer', 'champion'), TrackingError);
  registry.deleteModelVersion(tracking.getStore(), 'informer', 2);
  t.equal(tracking.getModelLatestVersion('informer').version, 1);
  t.throws(() => tracking.getModelVersion('informer', 2), TrackingError);
  t.equal(tracking.registerModel(info.modelUri, 'informer').version, 3, 'version numbers are never reused');
  t.throws(() => tracking.createRegisteredModel('informer'), TrackingError);
  tracking.deleteRegisteredModel('informer');
  t.same(tracking.searchRegisteredModels(), []);
});

t.test('logModel with registeredModelName registers in one call', async (t) => {
  useStore(t);
  const info = tracking.startRun(() => artifact.logModel(fakeModel(), 'model', { registeredModelName: 'auto-reg' }));
  t.equal(info.registeredModelVersion, 1);
  t.equal(tracking.getModelVersion('auto-reg', 1).runId, info.runId);
  t.same(Object.keys(artifact.readMLmodel(info.modelDir).flavors), ['informer_node'], 'no ONNX flavors without an ONNX file');
});

t.test('store-level API: explicit store, createRun, getRun handles', async (t) => {
  const root = t.testdir();
  let clock = 1000;
  const store = RunStore.open(root, { now: () => clock, user: 'bob' });
  const expId = store.createExperiment('explicit');
  const run = store.createRun({ experimentId: expId, runName: 'r1', startTime: 500 });
  run.logMetric('m', 1, { step: 3, timestamp: 42 });
  clock = 2000;
  store.getRun(run.runId).end('FAILED');
  const r = reader.getRun(store, run.runId);
  t.equal(r.info.startTime, 500);
  t.equal(r.info.endTime, 2000);
  t.equal(r.info.status, 'FAILED');
  t.equal(r.info.userId, 'bob');
  t.same(reader.getMetricHistory(store, run.runId, 'm'), [{ key: 'm', value: 1, timestamp: 42, step: 3 }]);
  const named = store.createRun({ experimentId: expId });
  t.match(named.info.runName, /^[a-z]+-[a-z]+-\d+$/, 'a random adjective-noun-number name');
  t.throws(() => store.createRun({ runName: 'x', tags: { 'mlflow.runName': 'y' } }), ValueError);
  t.throws(() => store.getRun('0123456789abcdef0123456789abcdef'), TrackingError);
});

t.test('reads stores written by MLflow itself (legacy metric lines, int ids, missing fields)', async (t) => {
  const root = t.testdir({
    0: { 'meta.yaml': "artifact_location: ./mlruns/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n" },
    5: {
      'meta.yaml': 'artifact_location: file:///tmp/x/5\nexperiment_id: 5\nlifecycle_stage: active\nname: legacy\n',
      abc123: {
        'meta.yaml':
          'artifact_uri: file:///tmp/x/5/abc123/artifacts\nend_time: null\nexperiment_id: 5\nrun_id: abc123\nrun_uuid: abc123\nstart_time: 10\nuser_id: old\n',
        metrics: { loss: '100 0.5\n200 NaN 1\n' },
        params: { p: 'v' },
        tags: { 'mlflow.runName': 'from-tag' },
      },
      notarun: {},
    },
    7: { 'meta.yaml': "artifact_location: x\nexperiment_id: '8'\nname: mismatched\n" },
  });
  const store = RunStore.open(root, { create: false });
  t.same(
    store
      .listExperiments()
      .map((e) => e.name)
      .sort(),
    ['Default', 'legacy'],
    'id mismatch is ignored, as MLflow does',
  );
  const r = reader.getRun(store, 'abc123');
  t.equal(r.info.status, 'RUNNING', 'missing status means RUNNING');
  t.equal(r.info.runName, 'from-tag');
  t.equal(r.info.experimentId, '5');
  t.same(
    reader.getMetricHistory(store, 'abc123', 'loss').map((m) => [m.step, m.value]),
    [
      [0, 0.5],
      [1, NaN],
    ],
  );
  t.equal(reader.searchRuns(store).length, 1);
});
