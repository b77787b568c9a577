// The store recovers from what crashed or foreign writers leave behind: incomplete record folders,
// staging leftovers of dead processes, locks of dead or slow holders, runs whose process was killed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import * as tracking from '../../dist/tracking/index.js';

const { RunStore, TrackingError, registry } = tracking;
const here = dirname(fileURLToPath(import.meta.url));
const readStore = join(here, '..', '..', '..', 'shared', 'tools', 'mlflow-read-store');
const DIST = new URL('../../dist/tracking/index.js', import.meta.url).href;

const longAgo = new Date(Date.now() - 3_600_000);
function age(path) {
  utimesSync(path, longAgo, longAgo);
}

// A model folder the registry can point at.
function loggedModel(store) {
  const run = store.createRun();
  run.logText('weights', 'model/model.safetensors');
  run.end();
  return run.runId;
}

function strictRead(t, root) {
  if (!existsSync(readStore)) return t.comment('MLflow reader checks skipped: ../shared/tools is absent');
  const r = spawnSync(readStore, [root, '--strict'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status === 3 || r.status === null || r.status > 3) return t.comment(`MLflow reader unusable here (exit ${r.status})`);
  t.equal(r.status, 0, `MLflow's reader reads the store strictly ${r.status === 0 ? '' : r.stdout.slice(-1200)}`);
}

// A live process whose pid can hold a lock or own a run; killed with SIGKILL by the test.
function sleeper() {
  const cp = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return cp;
}

t.test('an incomplete version folder left by an older writer does not block registration', async (t) => {
  const root = t.testdir();
  const store = RunStore.open(root);
  const runId = loggedModel(store);
  registry.registerModel(store, `runs:/${runId}/model`, 'pod');
  // What an older informer-node left when killed just after `mkdir version-2`: a folder, tags, no meta.yaml.
  const stray = join(root, 'models', 'pod', 'version-2');
  mkdirSync(join(stray, 'tags'), { recursive: true });
  writeFileSync(join(stray, 'tags', 'k'), 'v');
  // A fresh one may still be being written by such a writer: its number is skipped, it is left alone.
  let mv = registry.registerModel(store, `runs:/${runId}/model`, 'pod');
  t.equal(mv.version, 3, 'the next free number while the stray is fresh');
  t.ok(existsSync(stray), 'a fresh stray is left for its writer');
  // Once it has not changed for a minute, the next registration removes it.
  age(join(stray, 'tags'));
  age(stray);
  mv = registry.registerModel(store, `runs:/${runId}/model`, 'pod');
  t.equal(mv.version, 4);
  t.notOk(existsSync(stray), 'an old stray is removed');
  t.same(
    registry.searchModelVersions(store, "name = 'pod'").map((v) => v.version),
    [1, 3, 4],
  );
  strictRead(t, root);
});

t.test('an incomplete registered-model folder is replaced when it is old, refused while fresh', async (t) => {
  const root = t.testdir();
  const store = RunStore.open(root);
  const stray = join(root, 'models', 'half');
  mkdirSync(join(stray, 'tags'), { recursive: true });
  t.throws(() => registry.createRegisteredModel(store, 'half'), { name: 'TrackingError', message: /exists without a meta.yaml/ });
  age(join(stray, 'tags'));
  age(stray);
  t.equal(registry.createRegisteredModel(store, 'half').name, 'half');
  t.throws(() => registry.createRegisteredModel(store, 'half'), { name: 'TrackingError', message: /already exists/ });
  strictRead(t, root);
});

t.test('registering a source that does not exist is refused', async (t) => {
  const root = t.testdir();
  const store = RunStore.open(root);
  const runId = loggedModel(store);
  t.throws(() => registry.registerModel(store, `runs:/${runId}/missing`, 'm'), { name: 'TrackingError', message: /nothing exists/ });
  t.throws(() => registry.registerModel(store, join(root, 'no-such-folder'), 'm'), TrackingError);
  t.same(registry.searchModelVersions(store), [], 'no version was created');
});

t.test('staging leftovers of a dead process are removed by the next writer', async (t) => {
  const root = t.testdir();
  RunStore.open(root).createRun().end();
  const staging = join(root, '0', 'datasets', '.informer-staging');
  const tag = createHash('sha1').update(hostname()).digest('hex').slice(0, 8);
  const dead = spawnSync(process.execPath, ['-e', '0']).pid; // a pid that has exited
  const leftover = join(staging, `.informer-tmp-${tag}-${dead}-abcdef`);
  mkdirSync(join(leftover, 'tags'), { recursive: true });
  const tempAtRoot = join(root, `.informer-tmp-${tag}-${dead}-123456`);
  writeFileSync(tempAtRoot, 'half a meta.yaml');
  RunStore.open(root).createRun().end();
  t.notOk(existsSync(leftover), 'staging folder of the dead writer removed');
  t.notOk(existsSync(tempAtRoot), 'temp file of the dead writer removed');
  t.same(existsSync(staging) ? readdirSync(staging) : [], []);
  strictRead(t, root);
});

t.test('locks: a dead holder is broken at once, a slow live holder keeps its lock', async (t) => {
  const root = t.testdir();
  RunStore.open(root);
  const lock = join(root, '.informer-lock-experiments');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  writeFileSync(lock, JSON.stringify({ pid: dead, host: hostname(), token: 'x' })); // fresh mtime
  const store = RunStore.open(root, { lock: { staleMs: 60_000, timeoutMs: 5_000 } });
  const t0 = Date.now();
  t.match(store.createExperiment('after-crash'), /^\d+$/);
  t.ok(Date.now() - t0 < 2_000, 'no waiting for a dead holder');

  const live = sleeper();
  t.teardown(() => live.kill('SIGKILL'));
  await new Promise((r) => live.once('spawn', r));
  writeFileSync(lock, JSON.stringify({ pid: live.pid, host: hostname(), token: 'y' }));
  age(lock); // far older than staleMs: still its holder's, because that process is alive
  const impatient = RunStore.open(root, { lock: { staleMs: 1_000, timeoutMs: 300 } });
  t.throws(() => impatient.createExperiment('blocked'), { name: 'TrackingError', message: new RegExp(`held by pid ${live.pid}`) });
  t.ok(existsSync(lock), 'the live holder keeps its lock');

  // The async form waits on timers: the event loop keeps turning while it waits.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  await t.rejects(impatient.createExperimentAsync('blocked-async'), TrackingError);
  clearInterval(timer);
  t.ok(ticks >= 10, `timers ran ${ticks} times while waiting for the lock`);

  live.kill('SIGKILL');
  await new Promise((r) => live.once('exit', r));
  t.match(await impatient.createExperimentAsync('after-holder-died'), /^\d+$/, 'taken once the holder died');
  t.notOk(existsSync(lock), 'released');
});

t.test('a run whose process was killed can be told from a live one and ended as FAILED', async (t) => {
  const root = t.testdir();
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import * as tracking from ${JSON.stringify(DIST)}; const r = tracking.RunStore.open(process.env.ROOT).createRun(); console.log(r.runId); setInterval(() => {}, 1000);`,
    ],
    { env: { ...process.env, ROOT: root }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const runId = await new Promise((r) => child.stdout.once('data', (d) => r(String(d).trim())));
  const store = RunStore.open(root);
  t.notOk(store.isOrphaned(runId), 'its process is alive');
  t.throws(() => store.markFailed(runId), { name: 'TrackingError', message: /live process/ });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.ok(store.isOrphaned(runId), 'its process is gone');
  t.same(store.orphanedRuns(), [runId]);
  t.equal(store.markFailed(runId).status, 'FAILED');
  t.type(store.getRun(runId).info.endTime, 'number');
  t.same(store.orphanedRuns(), []);
  t.throws(() => store.markFailed(runId), { message: /is FAILED, not RUNNING/ });

  const mine = store.createRun();
  t.notOk(store.isOrphaned(mine.runId), 'a run of this live process is not orphaned');
  t.equal(store.markFailed(mine.runId, { force: true }).status, 'FAILED', 'force ends it anyway');
});
