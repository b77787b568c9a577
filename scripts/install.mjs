#!/usr/bin/env node
// `npm install` step: builds the native addon with cmake-js (CPU-only unless CUDA is found and
// INFORMER_CUDA allows it) and compiles the TypeScript when the sources are present.
//   INFORMER_CUDA=OFF|AUTO|ON   (default AUTO)   --force: clean rebuild
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const force = process.argv.includes('--force');
const cudaMode = (process.env.INFORMER_CUDA ?? 'AUTO').toUpperCase();
if (!['OFF', 'AUTO', 'ON'].includes(cudaMode)) {
  console.error(`informer-node: INFORMER_CUDA must be OFF, AUTO or ON, got '${process.env.INFORMER_CUDA}'`);
  process.exit(1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  return r.status === 0;
}

function buildNative(cuda) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const jobs = String(Math.max(1, cpus().length));
  const args = [cmakeJs, force ? 'rebuild' : 'build', '--parallel', jobs, `--CDINFORMER_CUDA=${cuda}`, '--log-level', 'warn'];
  return run(process.execPath, args);
}

console.log(`informer-node: building the native addon (INFORMER_CUDA=${cudaMode})`);
if (!buildNative(cudaMode)) {
  if (cudaMode !== 'AUTO') process.exit(1);
  console.warn('informer-node: the CUDA-enabled build failed; building CPU-only instead');
  if (!buildNative('OFF')) process.exit(1);
}

// TypeScript: compiled in a checkout (typescript is a dev dependency); a published package ships dist/.
function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}
const distIndex = join(root, 'dist', 'index.js');
const libDir = join(root, 'lib');
const stale = !existsSync(distIndex) || (existsSync(libDir) && newestMtime(libDir) > statSync(distIndex).mtimeMs);
if (force || stale) {
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc');
  } catch {
    if (!existsSync(distIndex)) {
      console.error('informer-node: dist/ is missing and TypeScript is not installed; run `npm install --include=dev`');
      process.exit(1);
    }
  }
  if (tsc) {
    console.log('informer-node: compiling TypeScript');
    // tsc never deletes outputs of removed sources; a stale dist/ file would let an import of a moved
    // module keep working here and fail on a clean clone.
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    if (!run(process.execPath, [tsc, '-p', 'tsconfig.json'])) process.exit(1);
  }
}
// The `informer` bin must be executable for npx / npm's bin links.
const cli = join(root, 'dist', 'cli', 'index.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
