#!/usr/bin/env node
// Builds and runs the standalone C++ kernel tests (ctest) in build-tests/. No Node.js is needed by
// the tests themselves, so the same CMake project runs them on a GPU machine without Node.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = join(root, 'build-tests');
const cuda = (process.env.INFORMER_CUDA ?? 'OFF').toUpperCase();
const steps = [
  ['cmake', ['-S', root, '-B', build, '-DINFORMER_BUILD_TESTS=ON', `-DINFORMER_CUDA=${cuda}`, '-DCMAKE_BUILD_TYPE=Release']],
  ['cmake', ['--build', build, '--parallel', String(cpus().length)]],
  ['ctest', ['--test-dir', build, '--output-on-failure', '--parallel', String(cpus().length)]],
];
for (const [cmd, args] of steps) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`informer-node: '${cmd} ${args.join(' ')}' failed`);
    process.exit(r.status ?? 1);
  }
}
