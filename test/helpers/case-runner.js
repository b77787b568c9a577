// Runs numbered test cases in child processes, so a case that crashes or aborts the process fails the
// test (naming the case) instead of killing the test runner. The child side (runCases) writes
// "start <i> <desc>" before each case and "done <i> <outcome>" after it; an outcome is 'ok', or
// 'typed <name>: <message>' / 'untyped <name>: <message>' for a thrown error.
import { spawn } from 'node:child_process';
import { writeSync } from 'node:fs';

import { InformerError } from '../../dist/index.js';

/** Child side: runs cases [from, to) made by makeCase(i) -> { desc, run, allow?(error) }. */
export async function runCases(makeCase, from, to) {
  const say = (line) => writeSync(1, `${line}\n`);
  for (let i = from; i < to; i++) {
    const { desc, run, allow } = makeCase(i);
    say(`start ${i} ${desc}`);
    let outcome = 'ok';
    try {
      await run();
    } catch (e) {
      const typed = e instanceof InformerError || allow?.(e) === true;
      outcome = `${typed ? 'typed' : 'untyped'} ${e?.name ?? typeof e}: ${String(e?.message ?? e)
        .replace(/\n/g, ' ')
        .slice(0, 200)}`;
    }
    say(`done ${i} ${outcome}`);
  }
}

function runChild(script, args) {
  return new Promise((resolve) => {
    const cp = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    cp.stdout.on('data', (d) => (out += d));
    cp.stderr.on('data', (d) => (err += d));
    cp.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

/**
 * Parent side: runs `script <...args> <from> <to>` for chunks of `total` cases, two children at a
 * time, and asserts each child survived, finished every case, and threw only typed errors.
 * Returns the outcome lines ("done <i> <outcome>").
 */
export async function runCasesInChildren(t, script, args, total, perChild = 250) {
  const chunks = [];
  for (let from = 0; from < total; from += perChild) chunks.push([from, Math.min(total, from + perChild)]);
  const outcomes = [];
  for (let i = 0; i < chunks.length; i += 2) {
    const results = await Promise.all(
      chunks.slice(i, i + 2).map(([from, to]) => runChild(script, [...args, String(from), String(to)]).then((r) => ({ ...r, from, to }))),
    );
    for (const r of results) {
      const lines = r.out.trim().split('\n');
      const started = lines.filter((l) => l.startsWith('start ')).map((l) => l.slice(6));
      const done = lines.filter((l) => l.startsWith('done '));
      outcomes.push(...done);
      const last = started.at(-1) ?? 'before the first case';
      t.ok(
        r.code === 0 && r.signal === null,
        `cases ${r.from}..${r.to - 1}: the process survived (exit ${r.code}, signal ${r.signal}${r.code === 0 ? '' : `; last case started: ${last}; ${r.err.slice(-600)}`})`,
      );
      t.equal(done.length, r.to - r.from, `cases ${r.from}..${r.to - 1}: every case finished`);
      for (const d of done.filter((l) => / untyped /.test(l))) {
        const n = Number(d.split(' ')[1]);
        t.fail(`${started.find((s) => s.startsWith(`${n} `))}: ${d}`);
      }
    }
  }
  return outcomes;
}
