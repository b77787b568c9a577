#!/usr/bin/env node
// Runs the JavaScript tests with tap and ends with a plain "N passed, N failed" line, which CI
// systems that do not parse TAP summaries understand.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const pkg = require.resolve('tap/package.json');
const tap = join(dirname(pkg), require(pkg).bin.tap);
const child = spawn(process.execPath, [tap, ...process.argv.slice(2)], { stdio: ['inherit', 'pipe', 'inherit'] });
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4096);
});
child.on('close', (code) => {
  const m = tail.match(/# \{ total: (\d+)[^}]*\}/);
  if (m) {
    // tap's summary lists only the non-zero counts: { total, pass, fail?, skip?, todo? }.
    const count = (key) => Number(m[0].match(new RegExp(`${key}: (\\d+)`))?.[1] ?? 0);
    const pass = count('pass'),
      skip = count('skip') + count('todo');
    const failed = count('fail') || count('total') - pass - skip;
    console.log(`\njs: ${pass} passed, ${failed} failed${skip ? `, ${skip} skipped` : ''}`);
  }
  process.exit(code ?? 1);
});
