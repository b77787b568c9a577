// kill -9 a real `informer train` at many points of model logging and registration (the moments are
// picked from the store's own file events), and after every kill: MLflow's own reader reads the store
// strictly, `informer runs ls` and `informer models show` work, and the next `informer train` is not
// stopped by anything the killed one left behind. INFORMER_KILL_POINTS sets how many kills (default 8).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, watch } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'index.js');
const readStore = join(root, '..', 'shared', 'tools', 'mlflow-read-store');
const points = Number(process.env.INFORMER_KILL_POINTS ?? 8);
const dir = t.testdir();
const mlruns = join(dir, 'mlruns');
mkdirSync(mlruns);
// The bundled main job, cut to a few steps: what is under test is everything after training.
const trainArgs = ['train', '--mlruns', mlruns, '--train-epochs', '1', '--max-steps-per-epoch', '2'];
const LOGGING = /artifacts|models|version-/;

function informer(...args) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Runs `informer train`; with `killAt` (n), SIGKILLs it at the n-th store event of the logging phase. */
function train(killAt) {
  return new Promise((resolve) => {
    let logging = 0;
    let killed = false;
    const cp = spawn(process.execPath, [cli, ...trainArgs], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    cp.stderr.on('data', (d) => (stderr += d));
    const watcher = watch(mlruns, { recursive: true }, (_event, file) => {
      if (file === null || !LOGGING.test(file)) return;
      logging++;
      if (killAt !== undefined && logging === killAt && !killed) {
        killed = true;
        cp.kill('SIGKILL');
      }
    });
    // Node's recursive watcher rescans folders as they appear; one that vanished first (a staging
    // folder renamed into place) is an error event, not a failure of the run under test.
    watcher.on('error', () => {});
    cp.on('close', (code, signal) => {
      watcher.close();
      resolve({ code, signal, stderr, logging });
    });
  });
}

function readerAvailable() {
  if (!existsSync(readStore)) return 'MLflow reader not found (../shared/tools is absent)';
  const r = spawnSync(readStore, [mlruns, '--strict'], { encoding: 'utf8', timeout: 600_000 });
  return r.status === 0 || r.status === 1 || r.status === 2
    ? null
    : `MLflow reader unusable here (exit ${r.status}): ${r.stderr.slice(-300)}`;
}

const first = await train();
t.equal(first.code, 0, `an uninterrupted train succeeds ${first.code === 0 ? '' : first.stderr}`);
const phase = first.logging;
t.ok(phase >= 5, `the logging phase has store events to kill at (${phase})`);
const noReader = readerAvailable();
if (noReader) t.comment(`skipping MLflow reader checks: ${noReader}`);

function checkStore(t, what) {
  if (!noReader) {
    const r = spawnSync(readStore, [mlruns, '--strict'], { encoding: 'utf8', timeout: 120_000 });
    t.equal(
      r.status,
      0,
      `${what}: MLflow's reader reads the store strictly ${r.status === 0 ? '' : r.stdout.slice(-1500) + r.stderr.slice(-500)}`,
    );
  }
  const ls = informer('runs', 'ls', '--mlruns', mlruns, '--max', '1000');
  t.equal(ls.code, 0, `${what}: informer runs ls ${ls.code === 0 ? '' : ls.err}`);
  const show = informer('models', 'show', 'alibaba-pod-cpu', '--mlruns', mlruns);
  t.equal(show.code, 0, `${what}: informer models show ${show.code === 0 ? '' : show.err}`);
  return { ls: ls.out, show: show.out };
}

// Kill points spread over the logging phase of the first run (its event count varies a little).
const killAts = [...new Set(Array.from({ length: points }, (_, i) => 1 + Math.round((i * (phase - 1)) / Math.max(1, points - 1))))];
let killedCount = 0;
for (const at of killAts) {
  const r = await train(at);
  // The child either died of our SIGKILL, or had already finished: it never failed by itself.
  if (r.signal === 'SIGKILL') killedCount++;
  else t.equal(r.code, 0, `kill at event ${at}: the run was not stopped by an earlier kill's leftovers ${r.code === 0 ? '' : r.stderr}`);
  checkStore(t, `after the kill at logging event ${at}`);
}
t.ok(killedCount >= Math.min(killAts.length, 3), `${killedCount} of ${killAts.length} runs were killed mid-logging`);

const last = await train();
t.equal(last.code, 0, `a train after all the kills succeeds ${last.code === 0 ? '' : last.stderr}`);
const after = checkStore(t, 'after the last train');
const versions = [...after.show.matchAll(/^(\d+)\s/gm)].map((m) => Number(m[1]));
t.ok(versions.length >= 2, `models show lists the registered versions (${versions.join(', ')})`);
t.same(
  versions,
  [...versions].sort((a, b) => a - b),
  'versions in order',
);
t.equal(new Set(versions).size, versions.length, 'no version listed twice');

// Runs of the killed processes are RUNNING with their owner gone; mark-failed ends them.
// (A kill that landed after the run had ended leaves it FINISHED.)
const orphans = (after.ls.match(/RUNNING \(process gone\)/g) ?? []).length;
t.ok(orphans >= 1 && orphans <= killedCount, `runs ls shows the runs killed before they ended (${orphans})`);
const statuses = (ls) =>
  ls
    .split('\n')
    .filter((l) => /^[0-9a-f]{32} /.test(l))
    .join('\n');
t.notMatch(statuses(after.ls).replace(/RUNNING \(process gone\)/g, ''), /RUNNING/, 'and no other run as RUNNING');
const mf = informer('runs', 'mark-failed', '--mlruns', mlruns);
t.equal(mf.code, 0, mf.err);
t.equal((mf.out.match(/: FAILED/g) ?? []).length, orphans, 'each of them is marked FAILED');
const final = checkStore(t, 'after mark-failed');
t.notMatch(statuses(final.ls), /RUNNING/, 'no run is left RUNNING');

// What the killed writers left in the staging folder was swept by the later writers.
const staging = join(mlruns, '0', 'datasets', '.informer-staging');
t.same(existsSync(staging) ? readdirSync(staging) : [], [], 'no staging leftovers');
