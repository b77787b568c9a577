// Start-up cost: how long `import 'informer-node'` and `informer --help` take in a fresh process
// (median of 15), and which heavy packages each loads. Heavy optional dependencies (plots, Parquet,
// onnxruntime, the HTTP server, YAML/JSON-schema, protobuf) should load on first use only.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { LAZY_DEPENDENCIES } from '../dist/lazy.js';
import { machine, table } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HEAVY = LAZY_DEPENDENCIES;
const dir = mkdtempSync(join(tmpdir(), 'informer-import-'));
const register = join(dir, 'register.mjs');
writeFileSync(
  register,
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(root, 'scripts', 'import-trace-hook.mjs')).href)});\n`,
);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function measureCase(name, args) {
  const times = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
  }
  const log = join(dir, `${name.replace(/\W+/g, '-')}.log`);
  spawnSync(process.execPath, ['--import', register, ...args], { cwd: root, env: { ...process.env, INFORMER_IMPORT_LOG: log } });
  let loaded = [];
  try {
    loaded = [...new Set(readFileSync(log, 'utf8').trim().split('\n'))];
  } catch {
    // nothing from node_modules was resolved
  }
  return { name, ms: median(times), heavy: HEAVY.filter((p) => loaded.includes(p)) };
}

const baseline = measureCase('node -e ""', ['-e', '']);
const rows = [
  measureCase("import 'informer-node'", [
    '--input-type=module',
    '-e',
    `await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)})`,
  ]),
  measureCase('informer --help', [join(root, 'dist', 'cli', 'index.js'), '--help']),
];
rmSync(dir, { recursive: true, force: true });
console.log(`\n### Start-up (${machine()}), median of 15 fresh processes\n`);
console.log(
  table(
    ['what', 'wall time', 'over an empty node process', 'heavy packages loaded'],
    [
      [baseline.name, `${baseline.ms.toFixed(0)} ms`, '–', '–'],
      ...rows.map((r) => [r.name, `${r.ms.toFixed(0)} ms`, `+${(r.ms - baseline.ms).toFixed(0)} ms`, r.heavy.join(', ') || 'none']),
    ],
  ),
);
