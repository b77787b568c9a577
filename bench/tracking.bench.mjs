// What tracking costs a training loop, side by side in one process: the seed model's train step
// (B=32) followed by logMetric of its loss, with no tracking (the baseline), a local FileStore,
// MLflow's tracking server (../shared/tools/mlflow-server, when present) and that server stopped
// (every point spooled). Also the bare cost of one logMetric call in each case.
//
//   node bench/tracking.bench.mjs [--steps 400]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const rows = [];
let base;
for (const [name, make] of cases) {
  const run = await make();
  // three rounds each, the median: the loop is short and this machine is shared
  const times = [loop(run), loop(run), loop(run)].sort((a, b) => a - b);
  const perStep = times[1];
  base ??= perStep;
  const call = run ? await measure(`${name} logMetric`, () => run.logMetric('m', 1, 0), { maxTime: 1 }) : null;
  rows.push([name, ms(perStep), `${(perStep / base).toFixed(3)}x`, call ? ms(call.median) : '–']);
}
console.log(`tracking cost in a training loop: seed train step (B=32) + logMetric per step, ${steps} steps x 3, median; ${machine()}\n`);
console.log(table(['tracking', 'step + log', 'vs no tracking', 'one logMetric call'], rows));
if (!HAVE_MLFLOW_SERVER) console.log('\n(MLflow server rows not run: ../shared/tools/mlflow-server is absent)');
model.dispose();
await server?.stop();
rmSync(work, { recursive: true, force: true });
process.exit(0);
