// Fleet training: N seed-size models on N series (the bundled pod trace cut into 64 series of 292
// minutes; the first N), a fixed number of epochs each, timed end to end (data, model set-up,
// training, validation and test losses each epoch, test metrics). Models per minute for
//   - informer-node, one process, models one after another (the native pool splits each tiny
//     GEMM across the cores);
//   - trainMany with 1 and with 2 worker processes (one model per worker, one native thread each);
//   - PyTorch one after another (torch threads = the cores), and with 2 processes of 1 thread.
// N = 1, 8, 64 (FLEET_N overrides, e.g. FLEET_N=1,8; FLEET_EPOCHS, default 3). Writes a markdown
// table; --json FILE also.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
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
const dir = mkdtempSync(join(tmpdir(), 'informer-fleet-bench-'));
const files = [];
for (let s = 0; s < SERIES; s++) {
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

function pytorch(n, procs, threads) {
  const python = [process.env.PYTHON, 'python3', '/usr/bin/python3']
    .filter(Boolean)
    .find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (!python) return null;
  const r = spawnSync(
    python,
    [
      join(here, 'pytorch_fleet.py'),
      '--csv-dir',
      dir,
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
const rows = [];
const results = [];
let torchVersion = null;
for (const n of NS) {
  const runs = [
    ['informer-node, 1 process, one model after another', await sequential(n)],
    ['informer-node trainMany, 1 worker (1 thread)', await many(n, 1)],
    [`informer-node trainMany, ${cores} workers (1 thread each)`, await many(n, cores)],
  ];
  // PyTorch one model after another is slow (its thread pool on tiny ops): skipped above FLEET_PT_SEQ_MAX models.
  const pt1 = n <= Number(process.env.FLEET_PT_SEQ_MAX ?? 8) ? pytorch(n, 1, cores) : null;
  const pt2 = pytorch(n, cores, 1);
  if (pt1) runs.push([`PyTorch, 1 process (${cores} threads), one after another`, pt1.seconds]);
  if (pt2) runs.push([`PyTorch, ${cores} processes (1 thread each)`, pt2.seconds]);
  torchVersion = pt1?.torch ?? torchVersion;
  for (const [what, s] of runs) {
    rows.push([String(n), what, s.toFixed(2), ((60 * n) / s).toFixed(1)]);
    results.push({ n, what, seconds: s, modelsPerMinute: (60 * n) / s });
    process.stderr.write(`N=${n} ${what}: ${s.toFixed(2)} s\n`);
  }
}
rmSync(dir, { recursive: true, force: true });
const head = `Fleet training: ${EPOCHS} epochs per model, seed configuration, series of ${per} minutes (${machine()}${torchVersion ? `; torch ${torchVersion}` : ''})`;
console.log(`${head}\n\n${table(['N', 'how', 'seconds', 'models/min'], rows)}`);
const jsonAt = process.argv.indexOf('--json');
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], JSON.stringify({ machine: machine(), epochs: EPOCHS, results }, null, 2));
