// Bad keys and values are refused with a clear error before anything touches the disk.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ValueError } from '../dist/errors.js';
import * as tracking from '../dist/tracking/index.js';
import * as artifact from '../dist/artifact/index.js';

const { RunStore, TrackingError } = tracking;

function freshRun(t) {
  const root = t.testdir();
  const store = RunStore.open(root);
  return { root, store, run: store.createRun({ runName: 'v' }) };
}

function listAll(dir) {
  const out = [];
  const walk = (d, pre) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${pre}${e.name}/`);
      else out.push(pre + e.name);
    }
  };
  walk(dir, '');
  return out.sort();
}

const BAD_KEYS = [
  '../x',
  '../../../../tmp/evil',
  '/etc/passwd',
  'a/../../b',
  'a//b',
  'a/./b',
  './a',
  'a/',
  '.',
  '..',
  '',
  'semi;colon',
  'tab\tkey',
  'back\\slash',
  'x'.repeat(251),
  'nul\0byte',
  'ümlaut',
];

t.test('path traversal and bad characters in keys are refused for params, metrics and tags', async (t) => {
  const { root, run } = freshRun(t);
  const before = listAll(root);
  for (const key of BAD_KEYS) {
    t.throws(() => run.logParam(key, 1), ValueError, `param ${JSON.stringify(key.slice(0, 30))}`);
    t.throws(() => run.logMetric(key, 1), ValueError, `metric ${JSON.stringify(key.slice(0, 30))}`);
    t.throws(() => run.setTag(key, 'v'), ValueError, `tag ${JSON.stringify(key.slice(0, 30))}`);
  }
  t.same(listAll(root), before, 'nothing was written in the store');
  for (const escaped of [join(root, '..', 'x'), join(root, '..', 'b'), join(run.dir, 'x'), join(run.dir, 'b')]) {
    t.notOk(existsSync(escaped), `nothing at ${escaped}`);
  }
  try {
    run.logParam('../x', 1);
  } catch (e) {
    t.equal(e.code, 'ERR_INFORMER_VALUE');
    t.match(e.message, /invalid param key '\.\.\/x'.*no '\.' or '\.\.' segments/);
  }
  // what MLflow allows is fine, including nested keys
  for (const key of ['a', 'A-b_c.d e', 'opt/lr', 'x'.repeat(250)]) {
    run.logParam(key, 1);
    run.logMetric(key, 1);
    run.setTag(key, 'v');
  }
  t.ok(existsSync(join(run.dir, 'params', 'opt', 'lr')));
});

t.test('too-long values are refused at the MLflow limits', async (t) => {
  const { run } = freshRun(t);
  run.logParam('ok', 'p'.repeat(6000));
  t.throws(() => run.logParam('long', 'p'.repeat(6001)), { name: 'ValueError', message: /6001 characters long; the limit is 6000/ });
  run.setTag('ok', 't'.repeat(8000));
  t.throws(() => run.setTag('long', 't'.repeat(8001)), { name: 'ValueError', message: /limit is 8000/ });
  t.notOk(existsSync(join(run.dir, 'params', 'long')));
  t.throws(() => run.store.createExperiment('e'.repeat(501)), ValueError);
  t.throws(() => run.store.createExperiment(''), ValueError);
});

t.test('a param re-logged with another value is refused; the same value is fine', async (t) => {
  const { run } = freshRun(t);
  run.logParam('lr', 0.001);
  run.logParam('lr', '0.001');
  t.throws(() => run.logParam('lr', 0.01), {
    name: 'ValueError',
    message: /param 'lr' was already logged with value '0\.001'.*new value '0\.01'/,
  });
  t.equal(readFileSync(join(run.dir, 'params', 'lr'), 'utf8'), '0.001', 'the stored value is unchanged, no trailing newline');
  t.same(tracking.reader.getRun(run.store, run.runId).data.params, { lr: '0.001' });
});

t.test('keys that clash with an existing key path are refused clearly', async (t) => {
  const { run } = freshRun(t);
  run.logParam('a', 1);
  t.throws(() => run.logParam('a/b', 1), { name: 'ValueError', message: /clashes/ });
  run.logMetric('m/x', 1);
  t.throws(() => run.logMetric('m', 1), { name: 'ValueError', message: /clashes/ });
  run.setTag('t/x', 1);
  t.throws(() => run.setTag('t', 1), { name: 'ValueError', message: /clashes/ });
});

t.test('metric values must be numbers (NaN and Infinity allowed), steps integers', async (t) => {
  const { run } = freshRun(t);
  for (const bad of ['1', true, null, undefined, 1n, {}]) t.throws(() => run.logMetric('m', bad), ValueError, String(bad));
  for (const step of [1.5, '1', NaN, Infinity]) t.throws(() => run.logMetric('m', 1, step), ValueError, `step ${step}`);
  t.throws(() => run.logMetric('m', 1, { timestamp: -1 }), ValueError);
  t.throws(() => run.logMetric('m', 1, { timestamp: 1.5 }), ValueError);
  run.logMetric('m', NaN, 0);
  run.logMetric('m', Infinity, 1);
  run.logMetric('m', -Infinity, -2);
  run.logMetric('m', -0, 3);
  run.logMetric('m', 1e300, 4);
  t.same(
    readFileSync(join(run.dir, 'metrics', 'm'), 'utf8')
      .split('\n')
      .slice(0, 5)
      .map((l) => l.split(' ').slice(1).join(' ')),
    ['nan 0', 'inf 1', '-inf -2', '-0.0 3', '1e+300 4'],
  );
});

t.test('ids, names, aliases and artifact paths are checked before use as paths', async (t) => {
  const { root, store, run } = freshRun(t);
  for (const id of ['../0', '..', 'a/b', '', '.trash']) {
    t.throws(() => store.getRun(id), ValueError, `run id ${JSON.stringify(id)}`);
    t.throws(() => store.getExperiment(id), ValueError, `experiment id ${JSON.stringify(id)}`);
  }
  for (const name of ['a/b', 'a\\b', '..', '.', '50%', '', 'new\nline']) {
    t.throws(() => tracking.registry.createRegisteredModel(store, name), ValueError, `model name ${JSON.stringify(name)}`);
  }
  t.notOk(existsSync(join(root, 'models', '..', 'meta.yaml')));
  tracking.registry.createRegisteredModel(store, 'ok model');
  const src = join(root, '..', 'm');
  const info = artifact.logModelToRun(run, 'model', { save: (p) => writeFileSync(p, 'w') });
  tracking.registry.registerModel(store, info.modelUri, 'ok model');
  for (const alias of ['latest', 'Latest', 'v1', 'V12', 'has space', '../x', '']) {
    t.throws(() => tracking.registry.setRegisteredModelAlias(store, 'ok model', alias, 1), ValueError, `alias ${JSON.stringify(alias)}`);
  }
  t.throws(() => tracking.registry.setRegisteredModelAlias(store, 'ok model', 'prod', 7), TrackingError, 'unknown version');
  t.throws(() => tracking.registry.getModelVersion(store, 'ok model', 'x'), ValueError);
  writeFileSync(src, 'data');
  for (const p of ['../escape', '/abs', 'a/../../b', 'a\\b']) {
    t.throws(() => run.logArtifact(src, p), ValueError, `artifact path ${p}`);
    t.throws(() => artifact.logModelToRun(run, p, { save: () => {} }), ValueError, `model path ${p}`);
  }
  t.throws(() => artifact.logModelToRun(run, 'm2', {}), TypeError, 'a model needs save()');
  t.throws(() => run.end('RUNNING'), ValueError);
});

t.test('unsupported tracking URIs are a ConfigError that says why', async (t) => {
  for (const uri of ['sqlite:///mlflow.db', 'databricks://profile', 'postgresql://db/mlflow']) {
    tracking.setTrackingUri(uri);
    t.throws(() => tracking.getStore(), { name: 'ConfigError', message: /http\(s\):\/\/ MLflow tracking server/ }, uri);
  }
  tracking.setTrackingUri(undefined);
});

t.test('deleted runs and experiments refuse new data', async (t) => {
  const { store, run } = freshRun(t);
  store.deleteRun(run.runId);
  t.throws(() => run.logParam('p', 1), TrackingError);
  t.throws(() => run.setTag('t', 1), TrackingError);
  t.throws(() => run.end(), TrackingError);
  const id = store.createExperiment('gone');
  store.deleteExperiment(id);
  t.throws(() => store.createRun({ experimentId: id }), TrackingError);
  t.throws(() => store.createExperiment('gone'), { message: /deleted state/ });
});
