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
  const m = tail.match(/# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/);
  if (m) {
    const failed = Number(m[3] ?? 0) || Number(m[1]) - Number(m[2]);
    console.log(`\njs: ${m[2]} passed, ${failed} failed`);
  }
  process.exit(code ?? 1);
});
