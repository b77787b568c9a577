// Fleet training: N seed-size models on N series (the bundled pod trace cut into 64 series of 292
// minutes; the first N), a fixed number of epochs each, timed end to end (data, model set-up,
// training, validation and test losses each epoch, test metrics). Models per minute for
//   - informer-node, one process, models one after another (each training step's batch split
//     across the cores, model_split.cc);
//   - trainMany with 1 and with 2 worker processes (one model per worker, one native thread each);
//   - PyTorch one after another (torch threads = the cores), and with 2 processes of 1 thread.
// Each configuration runs in its own process under /usr/bin/time, which also gives the CPU seconds
// per model (user + system, worker processes included): unlike wall time, that does not depend on
// what else the machine is running.
// N = 1, 8, 64 (FLEET_N overrides, e.g. FLEET_N=1,8; FLEET_EPOCHS, default 3). Writes a markdown
// table; --json FILE also.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ForecastDataset, Informer, Trainer, readTable, resolveConfig, trainMany } from '../dist/index.js';
import { machine, table } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SERIES = 64;
const EPOCHS = Number(process.env.FLEET_EPOCHS ?? 3);
const NS = (process.env.FLEET_N ?? '1,8,64').split(',').map(Number);
const DS = { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 12, predLen: 6, freq: '1min' };
const MODEL = { dModel: 32, nHeads: 4, eLayers: 1, dLayers: 1, dFf: 128 };
const TRAIN = { epochs: EPOCHS, batchSize: 32, learningRate: 1e-4, patience: EPOCHS };

const table0 = await readTable(join(here, '..', 'data', 'alibaba_pod.csv'));
const per = Math.floor(table0.length / SERIES);
const child = process.argv.includes('--one');
const dir = child ? '' : mkdtempSync(join(tmpdir(), 'informer-fleet-bench-'));
const files = [];
for (let s = 0; s < SERIES && !child; s++) {
  const lines = ['date,cpu_utilization'];
  for (let r = s * per; r < (s + 1) * per; r++) lines.push(`${new Date(table0.dates[r]).toISOString()},${table0.data.cpu_utilization[r]}`);
  const f = join(dir, `series-${String(s).padStart(2, '0')}.csv`);
  writeFileSync(f, `${lines.join('\n')}\n`);
  files.push(f);
}

async function sequential(n) {
  const t0 = performance.now();
  for (const f of files.slice(0, n)) {
    const ds = ForecastDataset.fromTable(await readTable(f), DS);
    const model = new Informer(resolveConfig({ ...MODEL, ...ds.modelConfig() }));
    await new Trainer(model, ds, TRAIN).fit();
    model.dispose();
  }
  return (performance.now() - t0) / 1000;
}

async function many(n, concurrency) {
  const t0 = performance.now();
  const r = await trainMany(
    files.slice(0, n).map((f, i) => ({ id: String(i), data: f, dataset: DS, model: MODEL, training: TRAIN })),
    { concurrency, threadsPerWorker: 1 },
  );
  if (r.some((x) => !x.ok)) throw new Error(JSON.stringify(r.find((x) => !x.ok).error));
  return (performance.now() - t0) / 1000;
}

function pytorch(n, procs, threads, from = dir) {
  const python = [process.env.PYTHON, 'python3', '/usr/bin/python3']
    .filter(Boolean)
    .find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (!python) return null;
  const r = spawnSync(
    python,
    [
      join(here, 'pytorch_fleet.py'),
      '--csv-dir',
      from,
      '--n',
      String(n),
      '--epochs',
      String(EPOCHS),
      '--procs',
      String(procs),
      '--threads',
      String(threads),
    ],
    { encoding: 'utf8', timeout: 60 * 60_000 },
  );
  if (r.status !== 0) throw new Error(`pytorch_fleet.py: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return { seconds: out.seconds, torch: out.torch };
}

const cores = cpus().length;

/** Runs one configuration in its own process under /usr/bin/time: wall seconds and CPU seconds (user + system, workers included). */
function measured(how, n) {
  const time = ['/usr/bin/time', '/bin/time'].find((p) => spawnSync(p, ['-f', '%U', 'true'], { stdio: 'ignore' }).status === 0);
  const cmd = [process.execPath, fileURLToPath(import.meta.url), '--one', how, String(n), dir];
  const r = time
    ? spawnSync(time, ['-f', 'CPU %U %S', ...cmd], { encoding: 'utf8', timeout: 60 * 60_000 })
    : spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 60 * 60_000 });
  if (r.status !== 0) throw new Error(`${how} N=${n}: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  return { ...out, cpu: cpu ? Number(cpu[1]) + Number(cpu[2]) : null };
}

const oneAt = process.argv.indexOf('--one');
if (oneAt > 0) {
  // A child: one configuration, timed here (wall), CPU by the parent's /usr/bin/time.
  const [how, n, from] = process.argv.slice(oneAt + 1);
  files.length = 0;
  for (let s = 0; s < SERIES; s++) files.push(join(from, `series-${String(s).padStart(2, '0')}.csv`));
  let seconds;
  let extra = {};
  if (how === 'sequential') seconds = await sequential(Number(n));
  else if (how === 'many1') seconds = await many(Number(n), 1);
  else if (how === 'many') seconds = await many(Number(n), cores);
  else {
    const pt = pytorch(Number(n), how === 'torch1' ? 1 : cores, how === 'torch1' ? cores : 1, from);
    if (pt === null) {
      console.log(JSON.stringify({ skipped: true }));
      process.exit(0);
    }
    seconds = pt.seconds;
    extra = { torch: pt.torch };
  }
  console.log(JSON.stringify({ seconds, ...extra }));
  process.exit(0);
}

const HOW = [
  ['sequential', 'informer-node, 1 process, one model after another'],
  ['many1', 'informer-node trainMany, 1 worker (1 thread)'],
  ['many', `informer-node trainMany, ${cores} workers (1 thread each)`],
  ['torch1', `PyTorch, 1 process (${cores} threads), one after another`],
  ['torch', `PyTorch, ${cores} processes (1 thread each)`],
];
const rows = [];
const results = [];
let torchVersion = null;
for (const n of NS) {
  for (const [how, what] of HOW) {
    // PyTorch one model after another is slow (its thread pool on tiny ops): skipped above FLEET_PT_SEQ_MAX models.
    if (how === 'torch1' && n > Number(process.env.FLEET_PT_SEQ_MAX ?? 8)) continue;
    const m = measured(how, n);
    if (m.skipped) continue;
    torchVersion = m.torch ?? torchVersion;
    const cpuPer = m.cpu === null ? '' : (m.cpu / n).toFixed(3);
    rows.push([String(n), what, m.seconds.toFixed(2), ((60 * n) / m.seconds).toFixed(1), cpuPer]);
    results.push({
      n,
      what,
      seconds: m.seconds,
      modelsPerMinute: (60 * n) / m.seconds,
      cpuSecondsPerModel: m.cpu === null ? null : m.cpu / n,
    });
    process.stderr.write(`N=${n} ${what}: ${m.seconds.toFixed(2)} s, CPU ${m.cpu?.toFixed(2)} s\n`);
  }
}
rmSync(dir, { recursive: true, force: true });
const head = `Fleet training: ${EPOCHS} epochs per model, seed configuration, series of ${per} minutes (${machine()}${torchVersion ? `; torch ${torchVersion}` : ''}; load average at the start ${loadavg()[0].toFixed(2)})`;
console.log(`${head}\n\n${table(['N', 'how', 'seconds', 'models/min', 'CPU s / model'], rows)}`);
const jsonAt = process.argv.indexOf('--json');
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify({ machine: machine(), epochs: EPOCHS, results }, null, 2));
