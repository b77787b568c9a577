// What tracking costs a training loop, side by side in one process: the seed model's train step
// (B=32) followed by logMetric of its loss, with no tracking (the baseline), a local FileStore,
// MLflow's tracking server (../shared/tools/mlflow-server, when present) and that server stopped
// (every point spooled). Also the bare cost of one logMetric call in each case.
//
//   node bench/tracking.bench.mjs [--steps 400]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import os from 'node:os';
import { join } from 'node:path';

import { Adam, Informer } from '../dist/index.js';
import { openStore } from '../dist/tracking/index.js';
import { HAVE_MLFLOW_SERVER, freePort, startMlflowServer } from '../test/helpers/mlflow-server.js';
import { SEED, machine, measure, ms, randomBatch, table } from './common.mjs';

const steps = Number(process.argv[process.argv.indexOf('--steps') + 1]) || 400;
const work = mkdtempSync(join(tmpdir(), 'informer-tracking-bench-'));
process.env.INFORMER_TRACKING_CACHE = join(work, 'cache');
process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES = '0';
process.noDeprecation = true;
process.on('warning', () => {}); // the spooling warning is expected here

const model = new Informer({ ...SEED, seed: 1 });
const batch = randomBatch(model.config, model.nMark, 32);
const target = { data: new Float32Array(32 * SEED.predLen * SEED.cOut), shape: [32, SEED.predLen, SEED.cOut] };
const adam = new Adam();

function loop(run) {
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const loss = model.trainStepSync(batch, target, adam);
    run?.logMetric('train_step_loss', loss, i);
  }
  return (performance.now() - t0) / steps / 1e3;
}

let server;
const cases = [['no tracking', () => undefined]];
cases.push(['local FileStore', () => openStore(join(work, 'mlruns')).createRun()]);
if (HAVE_MLFLOW_SERVER) {
  const port = await freePort();
  server = await startMlflowServer(port, join(work, 'server'));
  const up = openStore(server.uri);
  cases.push(['MLflow server', () => up.createRun()]);
  cases.push([
    'MLflow server, stopped after the run started',
    async () => {
      const r = up.createRun();
      await server.stop();
      return r;
    },
  ]);
}

loop(undefined); // warm up
// Rounds in alternation (A B C D, A B C D, ...), the median of each: the machine's load changes
// during a run, and alternation spreads it over every case alike.
const runs = [];
for (const [name, make] of cases.slice(0, cases.length - (HAVE_MLFLOW_SERVER ? 1 : 0))) runs.push([name, await make()]);
const rounds = 5;
const times = runs.map(() => []);
for (let r = 0; r < rounds; r++) runs.forEach(([, run], i) => times[i].push(loop(run)));
// the stopped server last: it cannot be restarted in alternation
if (HAVE_MLFLOW_SERVER) {
  const [name, make] = cases[cases.length - 1];
  const run = await make();
  runs.push([name, run]);
  times.push(Array.from({ length: rounds }, () => loop(run)));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = median(times[0]);
const rows = [];
for (const [i, [name, run]] of runs.entries()) {
  const perStep = median(times[i]);
  const call = run ? await measure(`${name} logMetric`, () => run.logMetric('m', 1, 0), { maxTime: 1 }) : null;
  rows.push([name, ms(perStep), `${(perStep / base).toFixed(3)}x`, call ? ms(call.median) : '–']);
}
console.log(
  `tracking cost in a training loop: seed train step (B=32) + logMetric per step, ${steps} steps x ${rounds} rounds in alternation, median; load ${os.loadavg()[0].toFixed(1)}; ${machine()}\n`,
);
console.log(table(['tracking', 'step + log', 'vs no tracking', 'one logMetric call'], rows));
if (!HAVE_MLFLOW_SERVER) console.log('\n(MLflow server rows not run: ../shared/tools/mlflow-server is absent)');
model.dispose();
await server?.stop();
rmSync(work, { recursive: true, force: true });
process.exit(0);
