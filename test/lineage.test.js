// Lineage: a training run records its data splits as MLflow dataset inputs (digests recomputed here
// from the same rows), the code and build as tags, and its registered version the data digest and the
// config hash; MLflow's own reader sees the inputs; `informer models lineage` prints the chain, and the
// registry commands and JSON listings work.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';

import { ForecastDataset, Informer, RunStore, Trainer, ValueError, fitWithRun, readTable, tracking } from '../dist/index.js';
import { gitSourceTags } from '../dist/train/lineage.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'index.js');
const readStore = join(root, '..', 'shared', 'tools', 'mlflow-read-store');
const dir = mkdtempSync(join(tmpdir(), 'informer-lineage-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const mlruns = join(dir, 'mlruns');

// 1,500 minutes of the pod trace.
const lines = readFileSync(join(root, 'data', 'alibaba_pod.csv'), 'utf8')
  .trim()
  .split('\n');
const data = join(dir, 'pod.csv');
writeFileSync(data, `${lines.slice(0, 1501).join('\n')}\n`);
const informer = (...args) =>
  spawnSync(process.execPath, [cli, ...args, '--mlruns', mlruns], { cwd: dir, encoding: 'utf8', timeout: 120_000 });

t.test('a training run records its splits, code and build; the registered version its data digest and config hash', async (t) => {
  const ds = ForecastDataset.fromTable(await readTable(data), {
    features: 'S',
    target: 'cpu_utilization',
    seqLen: 12,
    labelLen: 6,
    predLen: 3,
    freq: '1min',
  });
  const model = new Informer({ ...ds.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32, seed: 1 });
  t.teardown(() => model.dispose());
  const store = RunStore.open(mlruns);
  const run = store.createRun({ experimentId: store.getOrCreateExperiment('lineage').experimentId });
  await fitWithRun(new Trainer(model, ds, { epochs: 1, maxStepsPerEpoch: 5 }), run, {
    registeredModelName: 'pod',
    dataset: { path: data },
  });
  run.end();

  const rec = tracking.reader.getRun(store, run.runId);
  const inputs = rec.inputs.datasetInputs;
  t.same(inputs.map((i) => i.tags['mlflow.data.context']).sort(), ['test', 'training', 'validation']);
  // A second implementation of the digest: sha256 over channel names, then the split's dates and values.
  const digest = ([start, end]) => {
    const h = createHash('sha256');
    h.update(ds.columns.join('\u0000'));
    h.update(Buffer.from(ds.dates.buffer, ds.dates.byteOffset + start * 8, (end - start) * 8));
    h.update(Buffer.from(ds.values.buffer, ds.values.byteOffset + start * ds.encIn * 4, (end - start) * ds.encIn * 4));
    h.update(JSON.stringify(ds.scaler.toJSON()));
    return h.digest('hex').slice(0, 16);
  };
  for (const [split, context] of [
    ['train', 'training'],
    ['val', 'validation'],
    ['test', 'test'],
  ]) {
    const input = inputs.find((i) => i.tags['mlflow.data.context'] === context);
    const [start, end] = ds.borders[split];
    t.equal(input.dataset.name, `pod-${split}`);
    t.equal(input.dataset.digest, digest(ds.borders[split]), `${split}: digest of its rows`);
    t.equal(input.dataset.sourceType, 'local');
    t.same(JSON.parse(input.dataset.source), { uri: pathToFileURL(data).href });
    const profile = JSON.parse(input.dataset.profile);
    t.equal(profile.num_rows, end - start);
    t.equal(profile.start, new Date(ds.dates[start]).toISOString());
    t.equal(profile.end, new Date(ds.dates[end - 1]).toISOString());
    t.same(
      JSON.parse(input.dataset.schema).mlflow_colspec.map((c) => c.name),
      ['date', 'cpu_utilization'],
    );
  }
  t.equal(rec.data.tags['informer.version'], JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  t.match(rec.data.tags['informer.native.gemm'], /avx512|avx2|portable/);
  const version = tracking.registry.getModelVersion(store, 'pod', 1);
  t.equal(version.runId, run.runId);
  t.equal(version.tags['informer.dataset_digest'], digest(ds.borders.train));
  const cfg = model.config;
  const hash = createHash('sha256')
    .update(JSON.stringify(cfg, Object.keys(cfg).sort()))
    .digest('hex')
    .slice(0, 16);
  t.equal(version.tags['informer.config_hash'], hash);

  // Logging the same dataset again adds nothing; a digest longer than MLflow's 36 characters is refused.
  const run2 = store.createRun({});
  run2.logInputs([inputs[0], inputs[0]]);
  t.equal(tracking.reader.getRun(store, run2.runId).inputs.datasetInputs.length, 1);
  t.throws(() => run2.logInputs([{ dataset: { ...inputs[0].dataset, digest: 'x'.repeat(37) } }]), ValueError);
  t.throws(() => run2.logInputs([{ dataset: { name: 'n' } }]), { name: 'ValueError', message: /digest/ });
  run2.end();
});

t.test('git tags come from the work tree the run starts in', async (t) => {
  const git = (cwd, ...args) => spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (git(dir, '--version').status !== 0) return t.skip('git is not installed');
  const repo = mkdtempSync(join(tmpdir(), 'informer-git-'));
  t.teardown(() => rmSync(repo, { recursive: true, force: true }));
  git(repo, 'init', '-q', '-b', 'feature-x');
  writeFileSync(join(repo, 'a.txt'), 'a');
  git(repo, 'add', 'a.txt');
  git(repo, '-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q', '-m', 'x');
  git(repo, 'remote', 'add', 'origin', 'https://example.com/team/forecasts.git');
  t.same(gitSourceTags(repo), {
    'mlflow.source.git.commit': git(repo, 'rev-parse', 'HEAD').stdout.trim(),
    'mlflow.source.git.branch': 'feature-x',
    'mlflow.source.git.repoURL': 'https://example.com/team/forecasts.git',
  });
  t.same(gitSourceTags(tmpdir()), {}, 'no tags outside a work tree');
});

t.test('MLflow reads the dataset inputs back', async (t) => {
  if (!existsSync(readStore)) return t.skip('MLflow reader not found (../shared/tools is absent)');
  const r = spawnSync(readStore, [mlruns, '--strict'], { encoding: 'utf8', timeout: 600_000 });
  t.equal(r.status, 0, r.stderr.slice(-2000));
  const seen = JSON.parse(r.stdout);
  const runs = seen.experiments.flatMap((e) => e.runs);
  const trained = runs.find((r) => r.inputs.length === 3);
  t.ok(trained, 'the training run has three inputs');
  t.same(trained.inputs.map((i) => i.tags['mlflow.data.context']).sort(), ['test', 'training', 'validation']);
});

t.test('informer models lineage, alias set/delete, delete-version, -o json', async (t) => {
  const text = informer('models', 'lineage', 'pod/1');
  t.equal(text.status, 0, text.stderr);
  t.match(text.stdout, /^data\n {2}training: pod-train digest [0-9a-f]{16} \(\d+ rows, /);
  t.match(text.stdout, /-> run\n {4}[0-9a-f]{32} /);
  t.match(text.stdout, /-> model version\n {4}models:\/pod\/1/);
  t.match(text.stdout, /informer.dataset_digest: [0-9a-f]{16}/);
  t.match(text.stdout, /flavors: informer_node, onnx, python_function; files: .*model\.safetensors/);

  t.equal(informer('models', 'alias', 'set', 'pod', 'champion', '1').status, 0);
  const json = JSON.parse(informer('models', 'lineage', 'pod/@champion', '--json').stdout);
  t.same(json.model.aliases, ['champion']);
  t.equal(json.datasets.length, 3);
  t.equal(json.run.runId, json.model.runId);
  t.equal(
    json.model.tags['informer.dataset_digest'],
    json.datasets.find((d) => d.tags['mlflow.data.context'] === 'training').dataset.digest,
  );
  t.equal(informer('models', 'alias', 'delete', 'pod', 'champion').status, 0);
  t.same(JSON.parse(informer('models', 'show', 'pod', '-o', 'json').stdout).versions[0].aliases, []);

  const runs = JSON.parse(informer('runs', 'ls', '-o', 'json').stdout);
  t.ok(
    runs.some((r) => r.inputs.datasetInputs.length === 3),
    'runs ls -o json carries the inputs',
  );
  t.equal(JSON.parse(informer('models', 'ls', '-o', 'json').stdout)[0].name, 'pod');
  const bad = informer('runs', 'ls', '-o', 'yaml');
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--output must be 'table' or 'json'/);

  t.equal(informer('models', 'delete-version', 'pod', '1').status, 0);
  const gone = informer('models', 'lineage', 'pod/1');
  t.not(gone.status, 0);
  t.match(gone.stderr, /not found/);
  const badRef = informer('models', 'lineage', 'pod');
  t.match(badRef.stderr, /must be <name>\/<version>/);
});
