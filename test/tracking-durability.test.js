// Durability across processes: concurrent writers lose nothing, a SIGKILLed trainer leaves a store
// that opens with every metric it logged, whole-file writes are never seen half done, and runs end
// with the status they really ended with.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tracking from '../dist/tracking/index.js';
import * as artifact from '../dist/artifact/index.js';

const { RunStore, TrackingError, reader } = tracking;
const DIST = new URL('../dist/tracking/index.js', import.meta.url).href;

// A child node process running `code` (ESM) with `tracking` imported; env carries the paths.
// Under tap the children also get signal-exit's handlers injected, so the signal cases below check
// that our exit hooks and signal-exit let the process die (neither waits for the other).
function child(code, env = {}) {
  const cp = spawn(process.execPath, ['--input-type=module', '-e', `import * as tracking from ${JSON.stringify(DIST)};\n${code}`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cp.stdoutText = '';
  cp.stderrText = '';
  cp.stdout.on('data', (d) => (cp.stdoutText += d));
  cp.stderr.on('data', (d) => (cp.stderrText += d));
  cp.done = new Promise((resolve) =>
    cp.on('close', (code, signal) => resolve({ code, signal, stdout: cp.stdoutText, stderr: cp.stderrText })),
  );
  return cp;
}

// Children wait for this file so they really run at the same time.
const BARRIER = `
import { existsSync as __ex } from 'node:fs';
const __sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
while (!__ex(process.env.GO)) __sleep(1);
`;

async function releaseWhenStarted(children, go) {
  await new Promise((r) => setTimeout(r, 300)); // let every child reach the barrier
  writeFileSync(go, 'go');
  return Promise.all(children.map((c) => c.done));
}

t.test('two processes logging 200 metric points each to one run lose nothing', async (t) => {
  const root = t.testdir();
  const run = RunStore.open(root).createRun({ runName: 'shared' });
  const go = join(root, 'go');
  const workers = [1, 2].map((w) =>
    child(
      `${BARRIER}
       const run = tracking.RunStore.open(process.env.ROOT).getRun(process.env.RUN);
       for (let i = 0; i < 200; i++) {
         run.logMetric('loss', ${w} * 1000 + i, i);
         run.logMetric('w${w}', i, i);
       }`,
      { ROOT: root, RUN: run.runId, GO: go },
    ),
  );
  const results = await releaseWhenStarted(workers, go);
  for (const r of results) t.equal(r.code, 0, r.stderr);
  const text = readFileSync(join(run.dir, 'metrics', 'loss'), 'utf8');
  const lines = text.split('\n');
  t.equal(lines.pop(), '', 'ends with a newline');
  t.equal(lines.length, 400, 'all 400 lines are there');
  t.ok(
    lines.every((l) => /^\d+ \d+\.0 \d+$/.test(l)),
    'every line is whole',
  );
  const values = lines.map((l) => Number(l.split(' ')[1])).sort((a, b) => a - b);
  const expected = [...Array(200).keys()].flatMap((i) => [1000 + i, 2000 + i]).sort((a, b) => a - b);
  t.same(values, expected, 'each point exactly once');
  t.equal(reader.getMetricHistory(RunStore.open(root), run.runId, 'loss').length, 400);
  t.equal(reader.getMetricHistory(RunStore.open(root), run.runId, 'w2').length, 200);
});

t.test('processes creating the same experiments and model versions at once', async (t) => {
  const root = t.testdir();
  const store = RunStore.open(root);
  const run = store.createRun();
  artifact.logModelToRun(run, 'model', { save: (p) => writeFileSync(p, 'w') });
  const go = join(root, 'go');
  const workers = [0, 1, 2, 3].map(() =>
    child(
      `${BARRIER}
       tracking.setTrackingUri(process.env.ROOT);
       const ids = [];
       for (let k = 0; k < 8; k++) ids.push(tracking.setExperiment('shared-' + k).experimentId);
       const v = tracking.registerModel('runs:/' + process.env.RUN + '/model', 'shared-model').version;
       console.log(JSON.stringify({ ids, v }));`,
      { ROOT: root, RUN: run.runId, GO: go },
    ),
  );
  const results = await releaseWhenStarted(workers, go);
  for (const r of results) t.equal(r.code, 0, r.stderr);
  const outs = results.map((r) => JSON.parse(r.stdout));
  for (const o of outs) t.same(o.ids, outs[0].ids, 'every process got the same experiment ids');
  const names = store
    .listExperiments()
    .map((e) => e.name)
    .filter((n) => n.startsWith('shared-'))
    .sort();
  t.same(
    names,
    [...Array(8).keys()].map((k) => `shared-${k}`),
    'exactly one experiment per name',
  );
  t.same(outs.map((o) => o.v).sort(), [1, 2, 3, 4], 'distinct version numbers');
  t.same(
    tracking.registry
      .searchModelVersions(store)
      .map((v) => v.version)
      .sort(),
    [1, 2, 3, 4],
  );
  t.notOk(
    readdirSync(root).some((n) => n.startsWith('.informer-lock')),
    'no lock left behind',
  );
});

t.test('a trainer killed with SIGKILL leaves a store that opens with every metric it logged', async (t) => {
  const root = t.testdir();
  const trainer = child(
    `import { writeSync } from 'node:fs';
     tracking.setTrackingUri(process.env.ROOT);
     tracking.setExperiment('doomed');
     const run = tracking.startRun({ runName: 'doomed' });
     writeSync(1, 'RUN ' + run.runId + '\\n');
     for (let i = 0; ; i++) {
       tracking.logMetric('loss', 1 / (i + 1), i);
       tracking.logParam('p' + i, i);
       tracking.setTag('progress', i);
       writeSync(1, i + '\\n'); // reported only once the writes above have returned
     }`,
    { ROOT: root },
  );
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`trainer too slow: ${trainer.stderrText}`)), 60_000);
    trainer.stdout.on('data', () => {
      const lines = trainer.stdoutText.split('\n');
      if (lines.length > 302) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  trainer.kill('SIGKILL');
  const { signal } = await trainer.done;
  t.equal(signal, 'SIGKILL');
  const lines = trainer.stdoutText.split('\n').filter((l) => l !== '');
  const runId = lines[0].slice(4);
  const reported = lines.slice(1).map(Number);
  const last = reported.at(-1);
  t.ok(last >= 299, `the trainer logged ${last + 1} steps before the kill`);

  const store = RunStore.open(root);
  const history = reader.getMetricHistory(store, runId, 'loss');
  t.ok(history.length >= last + 1, 'at least every reported point');
  const steps = new Set(history.map((m) => m.step));
  t.ok(
    reported.every((i) => steps.has(i)),
    'every metric point reported before the kill is on disk',
  );
  t.ok(
    history.every((m, i) => m.step === i && m.value === 1 / (i + 1)),
    'in order, with exact values',
  );
  const r = reader.getRun(store, runId);
  t.equal(r.info.status, 'RUNNING', 'a killed run stays RUNNING, as in MLflow');
  t.equal(r.info.endTime, null);
  t.ok(
    reported.every((i) => r.data.params[`p${i}`] === String(i)),
    'every reported param is there',
  );
  t.ok(Number(r.data.tags.progress) >= last, 'the last tag write is whole');
  t.equal(reader.searchRuns(store, { experimentNames: ['doomed'] }).length, 1);
});

t.test('whole-file writes are atomic: a concurrent reader never sees a partial file', async (t) => {
  const root = t.testdir();
  const store = RunStore.open(root);
  const run = store.createRun({ runName: 'r0' });
  const doneFile = join(root, 'writer-done');
  const writer = child(
    `import { writeFileSync } from 'node:fs';
     const store = tracking.RunStore.open(process.env.ROOT);
     const run = store.getRun(process.env.RUN);
     for (let i = 0; i < 300; i++) {
       run.setTag('big', 'x'.repeat(1000 + ((i * 7919) % 7000)));
       store.updateRunInfo(process.env.RUN, { runName: 'r' + i });
     }
     writeFileSync(process.env.DONE, 'done');`,
    { ROOT: root, RUN: run.runId, DONE: doneFile },
  );
  let reads = 0,
    bad = 0;
  const tagFile = join(run.dir, 'tags', 'big');
  while (!existsSync(doneFile)) {
    try {
      const v = readFileSync(tagFile, 'utf8');
      if (v.length < 1000 || !/^x+$/.test(v)) bad++;
      const info = store.readRunInfo(run.dir);
      if (info.runId !== run.runId || !/^r\d+$/.test(info.runName)) bad++;
      reads++;
    } catch (e) {
      if (e.code !== 'ENOENT') bad++; // the tag may not exist yet at the very start
    }
    if (reads > 200000) break;
  }
  const r = await writer.done;
  t.equal(r.code, 0, r.stderr);
  t.ok(reads > 0, `${reads} reads`);
  t.equal(bad, 0, 'no partial tag or meta.yaml was ever read');
  t.equal(run.info.runName, 'r299');
});

t.test('runs end FINISHED, FAILED or KILLED as the process really ended', async (t) => {
  const root = t.testdir();
  const cases = {
    clean: { code: 'tracking.startRun(); tracking.logMetric("m", 1);', status: 'FINISHED', exit: 0 },
    uncaught: { code: 'tracking.startRun(); throw new Error("boom");', status: 'FAILED', exit: 1 },
    rejection: { code: 'tracking.startRun(); await Promise.reject(new Error("async boom"));', status: 'FAILED', exit: 1 },
    exitCode: { code: 'tracking.startRun(); process.exit(3);', status: 'FAILED', exit: 3 },
    nestedThrow: {
      code: 'tracking.startRun(); tracking.startRun({ nested: true }); throw new Error("deep");',
      status: 'FAILED',
      exit: 1,
      runs: 2,
    },
    sigterm: { code: 'tracking.startRun(); console.log("READY"); setInterval(() => {}, 1000);', status: 'KILLED', signal: 'SIGTERM' },
    sigint: { code: 'tracking.startRun(); console.log("READY"); setInterval(() => {}, 1000);', status: 'KILLED', signal: 'SIGINT' },
    ownHandler: {
      code: 'process.on("SIGINT", () => { tracking.endRun(); process.exit(0); }); tracking.startRun(); console.log("READY"); setInterval(() => {}, 1000);',
      status: 'FINISHED',
      exit: 0,
      send: 'SIGINT',
    },
    sigkill: { code: 'tracking.startRun(); console.log("READY"); setInterval(() => {}, 1000);', status: 'RUNNING', signal: 'SIGKILL' },
  };
  await Promise.all(
    Object.entries(cases).map(async ([name, c]) => {
      // endRunsOnExit is opt-in, except in the ownHandler case, which handles its signal itself.
      const hooks = name === 'ownHandler' ? '' : 'tracking.endRunsOnExit();';
      const cp = child(`tracking.setTrackingUri(process.env.ROOT); tracking.setExperiment(${JSON.stringify(name)}); ${hooks}\n${c.code}`, {
        ROOT: root,
      });
      const sig = c.signal ?? c.send;
      if (sig !== undefined) {
        await new Promise((r) => cp.stdout.on('data', () => cp.stdoutText.includes('READY') && r()));
        cp.kill(sig);
      }
      const res = await cp.done;
      if (c.exit !== undefined) t.equal(res.code, c.exit, `${name}: exit code`);
      if (c.signal !== undefined) t.equal(res.signal, c.signal, `${name}: died of ${c.signal}`);
      const runs = reader.searchRuns(RunStore.open(root), { experimentNames: [name] });
      t.equal(runs.length, c.runs ?? 1, `${name}: runs`);
      for (const r of runs) {
        t.equal(r.info.status, c.status, `${name}: ${c.status}`);
        if (c.status !== 'RUNNING') t.type(r.info.endTime, 'number', `${name}: end time`);
      }
    }),
  );
});

t.test('locks: a stale lock left by a dead process is broken, a live one times out', async (t) => {
  const root = t.testdir();
  const lock = join(root, '.informer-lock-experiments');
  RunStore.open(root);
  writeFileSync(lock, '99999 deadbeef');
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  const store = RunStore.open(root, { lock: { staleMs: 5_000, timeoutMs: 10_000 } });
  t.match(store.createExperiment('after-crash'), /^\d+$/);
  t.notOk(existsSync(lock), 'the stale lock is gone');

  writeFileSync(lock, 'live holder');
  const impatient = RunStore.open(root, { lock: { staleMs: 60_000, timeoutMs: 200 } });
  t.throws(() => impatient.createExperiment('blocked'), TrackingError);
  t.equal(readFileSync(lock, 'utf8'), 'live holder', 'a live lock is left alone');
});
