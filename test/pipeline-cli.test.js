// The `informer pipeline` command as a user runs it: init writes a valid commented example, validate
// prints the resolved settings, run prints progress and a summary with every URI, exits 3 when the
// gate fails (and --resume then finishes it), and Ctrl-C stops the running step, leaving it resumable.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { getRun } from '../dist/tracking/reader.js';
import { RunStore } from '../dist/tracking/store.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'index.js');
const informer = (args, cwd) => spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });

function tmp(t) {
  const dir = mkdtempSync(join(tmpdir(), 'informer-pcli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeWave(dir) {
  const lines = ['date,load'];
  for (let i = 0; i < 360; i++)
    lines.push(`${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},${(10 + 3 * Math.sin(i / 9.5)).toFixed(4)}`);
  writeFileSync(join(dir, 'wave.csv'), `${lines.join('\n')}\n`);
}

const spec = (training, gate = { minSkill: -100 }) =>
  JSON.stringify({
    name: 'wave',
    data: { path: 'wave.csv', target: 'load', features: 'S', freq: '1min' },
    model: { seqLen: 12, labelLen: 6, predLen: 3, dModel: 8, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 16 },
    training,
    gate,
    export: { formats: ['onnx'] },
  });

t.test('init, validate', async (t) => {
  const dir = tmp(t);
  const r = informer(['pipeline', 'init'], dir);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /wrote pipeline\.yaml; run it with: informer pipeline run pipeline\.yaml/);
  const text = readFileSync(join(dir, 'pipeline.yaml'), 'utf8');
  t.match(text, /# An informer-node pipeline/);
  t.match(text, /fill: linear/);
  const v = informer(['pipeline', 'validate', 'pipeline.yaml'], dir);
  t.equal(v.status, 0, v.stderr);
  const resolved = JSON.parse(v.stdout);
  t.equal(resolved.name, 'pod-cpu');
  t.equal(resolved.data.paths[0], join(root, 'data', 'alibaba_pod.csv'));
  const again = informer(['pipeline', 'init'], dir);
  t.equal(again.status, 2);
  t.match(again.stderr, /informer: ConfigError: pipeline\.yaml exists; pass --force to overwrite it/);
  writeFileSync(join(dir, 'bad.yaml'), 'name: x\ndata: {path: a.csv}\ngate: {minSkil: 0}\n');
  const bad = informer(['pipeline', 'validate', 'bad.yaml'], dir);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /gate\.minSkil \(line 3\): unknown key \(allowed here: minSkill, metric\)/);
});

t.test('run: progress, summary, the gate exit code', async (t) => {
  const dir = tmp(t);
  writeWave(dir);
  writeFileSync(join(dir, 'p.json'), spec({ epochs: 1, batchSize: 16, learningRate: 0.003, maxStepsPerEpoch: 4 }, { minSkill: 5 }));
  const r = informer(['pipeline', 'run', 'p.json', '--mlruns', join(dir, 'mlruns')], dir);
  t.equal(r.status, 3, 'exit code 3: the gate failed');
  t.match(r.stderr, /\[1\/6\] preprocess .*\n.*\n\[2\/6\] train/);
  t.match(r.stdout, /pipeline FAILED in .*\n {2}preprocess FINISHED/);
  t.match(r.stdout, /step evaluate failed: GateError: gate failed: the model: skill/);
  const runId = /resume with: informer pipeline run --resume ([0-9a-f]{32})/.exec(r.stdout)?.[1];
  t.ok(runId);
  // Without the file: the settings the run started with, the flag overriding the gate.
  const ok = informer(['pipeline', 'run', '--mlruns', join(dir, 'mlruns'), '--resume', runId, '--min-skill', '-100', '--json'], dir);
  t.equal(ok.status, 0, ok.stderr);
  const result = JSON.parse(ok.stdout);
  t.same(
    result.steps.map((s) => s.status),
    ['KEPT', 'KEPT', 'FINISHED', 'FINISHED', 'FINISHED', 'FINISHED'],
  );
  t.equal(result.uris['register: registered'], 'models:/wave/1');
});

t.test('Ctrl-C stops the running step: the step and the pipeline run end KILLED, resumable', async (t) => {
  const dir = tmp(t);
  writeWave(dir);
  writeFileSync(join(dir, 'p.json'), spec({ epochs: 400, batchSize: 16, learningRate: 0.003, maxStepsPerEpoch: 2, patience: 1000 }));
  const child = spawn(process.execPath, [cli, 'pipeline', 'run', 'p.json', '--mlruns', join(dir, 'mlruns')], { cwd: dir });
  let err = '';
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const sent = new Promise((resolve) => {
    child.stderr.on('data', (d) => {
      err += d;
      if (/epoch 3\/400/.test(err) && !child.killed) {
        child.kill('SIGINT');
        resolve();
      }
    });
  });
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
  await sent;
  t.equal(code, 130, `interrupted: ${err.slice(-300)}`);
  t.match(err, /SIGINT: stopping after the current step/);
  const runId = /pipeline run ([0-9a-f]{32})/.exec(err)[1];
  const store = RunStore.open(join(dir, 'mlruns'), { create: false });
  t.equal(getRun(store, runId).info.status, 'KILLED');
  t.match(out, /train +FAILED/);
  t.ok(out.includes(`informer pipeline run --resume ${runId}`), 'the summary says how to resume');
  const train = /train +FAILED +\S+ +run ([0-9a-f]{32})/.exec(out)[1];
  t.equal(getRun(store, train).info.status, 'KILLED', 'the interrupted step run ends KILLED');
  t.match(getRun(store, train).data.tags['informer.pipeline.error'], /interrupted/);
});
