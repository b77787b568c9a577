// The `informer` command end to end on a small slice of the bundled data: train (logged and
// registered), runs ls/show/compare, models ls/show, predict from a registered model, export.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'index.js');
const dir = mkdtempSync(join(tmpdir(), 'informer-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const mlruns = join(dir, 'mlruns');

function informer(...args) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// 2,000 minutes of the pod trace keep the run short.
const lines = readFileSync(join(root, 'data', 'alibaba_pod.csv'), 'utf8')
  .trim()
  .split('\n');
const data = join(dir, 'pod.csv');
writeFileSync(data, `${lines.slice(0, 2001).join('\n')}\n`);
const history = join(dir, 'history.csv');
writeFileSync(history, `${[lines[0], ...lines.slice(2001, 2041)].join('\n')}\n`);

const trainArgs = [
  'train',
  '--data',
  data,
  '--target',
  'cpu_utilization',
  '--features',
  'S',
  '--freq',
  '1min',
  '--seq-len',
  '12',
  '--label-len',
  '12',
  '--pred-len',
  '6',
  '--d-model',
  '16',
  '--n-heads',
  '2',
  '--e-layers',
  '1',
  '--d-layers',
  '1',
  '--d-ff',
  '32',
  '--train-epochs',
  '2',
  '--batch-size',
  '16',
  '--experiment',
  'cli-test',
  '--register',
  'pod',
  '--mlruns',
  mlruns,
];

t.test('train logs a finished run with params, metrics, plots and a registered model', (t) => {
  const r = informer(...trainArgs, '--run-name', 'first');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /Test metrics/);
  t.match(r.out, /naive last value/);
  t.match(r.out, /registered: models:\/pod\/1/);
  t.match(r.err, /epoch 2\/2: train/);
  const runId = r.out.match(/run ([0-9a-f]{32})/)[1];
  const show = informer('runs', 'show', runId, '--mlruns', mlruns);
  t.equal(show.code, 0, show.err);
  for (const key of [
    'seq_len',
    'd_model',
    'learning_rate',
    'mse',
    'naive_mse',
    'skill',
    'val_loss',
    'loss_curve.svg',
    'forecast.svg',
    'model/MLmodel',
    'model/model.onnx',
  ])
    t.match(show.out, key);
  const again = informer(...trainArgs, '--run-name', 'second', '--learning-rate', '0.001');
  t.equal(again.code, 0, again.err);
  t.match(again.out, /models:\/pod\/2/);
  const ls = informer('runs', 'ls', '--experiment', 'cli-test', '--mlruns', mlruns);
  t.equal(ls.out.trim().split('\n').length, 4, 'header, rule, two runs');
  const ids = [...ls.out.matchAll(/^([0-9a-f]{32})/gm)].map((m) => m[1]);
  const cmp = informer('runs', 'compare', ...ids, '--mlruns', mlruns);
  t.match(cmp.out, /params\.learning_rate \*/, 'the differing param is marked');
  const filtered = informer('runs', 'ls', '--filter', "params.learning_rate = '0.001'", '--mlruns', mlruns);
  t.equal([...filtered.out.matchAll(/^[0-9a-f]{32}/gm)].length, 1);
  const models = informer('models', 'show', 'pod', '--mlruns', mlruns);
  t.match(models.out, /^1 /m);
  t.match(models.out, /^2 /m);
  t.end();
});

t.test('predict from a registered model writes a dated forecast', (t) => {
  const r = informer('predict', 'models:/pod/latest', '--history', history, '--mlruns', mlruns);
  t.equal(r.code, 0, r.err);
  const rows = r.out.trim().split('\n');
  t.equal(rows[0], 'date,cpu_utilization');
  t.equal(rows.length, 7, 'header and predLen rows');
  const lastHistory = lines[2040].split(',')[0];
  t.ok(rows[1].split(',')[0] > lastHistory, 'forecast dates follow the history');
  t.ok(rows.slice(1).every((l) => Number.isFinite(Number(l.split(',')[1]))));
  // --device auto: the GPU when there is one, and the same forecast as the CPU either way.
  const auto = informer('predict', 'models:/pod/latest', '--history', history, '--device', 'auto', '--mlruns', mlruns);
  t.equal(auto.code, 0, auto.err);
  const cpuValues = rows.slice(1).map((l) => Number(l.split(',')[1]));
  const autoValues = auto.out
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(',')[1]));
  t.ok(autoValues.every((v, i) => Math.abs(v - cpuValues[i]) <= 1e-4 * Math.max(1, Math.abs(cpuValues[i]))));
  const out = join(dir, 'forecast.json');
  t.equal(informer('predict', 'models:/pod/1', '--history', history, '--output', out, '--mlruns', mlruns).code, 0);
  t.same(JSON.parse(readFileSync(out, 'utf8')).columns, ['cpu_utilization']);
  t.end();
});

t.test('export writes a checked deployment folder', (t) => {
  const out = join(dir, 'deploy');
  const r = informer(
    'export',
    'models:/pod/1',
    '--format',
    'kserve',
    '--out',
    out,
    '--storage-uri',
    's3://bucket/pod',
    '--name',
    'pod',
    '--mlruns',
    mlruns,
  );
  t.equal(r.code, 0, r.err);
  t.ok(existsSync(join(out, 'inferenceservice.yaml')));
  t.ok(existsSync(join(out, 'model', 'pod', '1', 'model.onnx')));
  t.end();
});

t.test('mistakes give one clear line and exit code 2', (t) => {
  const unknown = informer('train', '--data', data, '--target', 'gpu', '--mlruns', mlruns);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /gpu/);
  const missing = informer('predict', 'models:/nope/1', '--history', history, '--mlruns', mlruns);
  t.not(missing.code, 0);
  t.match(missing.err, /nope/);
  const badNumber = informer('train', '--data', data, '--seq-len', 'twelve', '--mlruns', mlruns);
  t.not(badNumber.code, 0);
  t.match(badNumber.err, /seq-len/);
  const badDevice = informer('predict', 'models:/pod/1', '--history', history, '--device', 'gpu', '--mlruns', mlruns);
  t.not(badDevice.code, 0);
  t.match(badDevice.err, /--device.*gpu/);
  for (const cmd of ['train', 'predict', 'export', 'serve', 'runs', 'models']) {
    const h = informer(cmd, '--help');
    t.equal(h.code, 0, `${cmd} --help`);
    t.match(h.out, /Usage: informer/);
  }
  t.end();
});

t.test('tune searches, resumes by run id, and rejects a bad search space naming it', (t) => {
  const space = join(dir, 'space.yaml');
  writeFileSync(space, 'd_model: [8, 16]\nlearning_rate: {loguniform: [3e-4, 3e-3]}\nnormalize: [none, revin, last]\n');
  const args = [
    'tune',
    '--data',
    data,
    '--target',
    'cpu_utilization',
    '--features',
    'S',
    '--freq',
    '1min',
    '--seq-len',
    '12',
    '--label-len',
    '6',
    '--pred-len',
    '3',
    '--space',
    space,
    '--n-heads',
    '2',
    '--d-ff',
    '16',
    '--e-layers',
    '1',
    '--d-layers',
    '1',
    '--min-epochs',
    '1',
    '--max-epochs',
    '2',
    '--eta',
    '2',
    '--max-steps-per-epoch',
    '4',
    '--parallel',
    '0',
    '--no-onnx',
    '--experiment',
    'cli-tune',
    '--mlruns',
    mlruns,
  ];
  const r = informer(...args, '--trials', '3');
  t.equal(r.code, 0, r.err);
  t.match(r.out, /Best: trial \d+ \(validation loss [0-9.]+/);
  t.match(r.out, /skill vs naive/);
  const runId = r.out.match(/parent run ([0-9a-f]{32})/)[1];
  t.match(r.out, /3 child runs/);
  // Resume with a larger budget: the three trials stay, two more run.
  const more = informer('tune', '--resume', runId, '--trials', '5', '--parallel', '0', '--no-onnx', '--mlruns', mlruns);
  t.equal(more.code, 0, more.err);
  t.match(more.out, new RegExp(`parent run ${runId}`));
  t.match(more.out, /5 child runs/);
  const ls = informer('runs', 'ls', '--experiment', 'cli-tune', '--mlruns', mlruns);
  t.equal([...ls.out.matchAll(/^[0-9a-f]{32}/gm)].length, 6, 'one parent and five trials');
  writeFileSync(space, 'd_modle: [8, 16]\n');
  const bad = informer(...args, '--trials', '2');
  t.not(bad.code, 0);
  t.match(bad.err, /unknown setting 'd_modle'/);
  t.end();
});
