#!/usr/bin/env node
// `npm run test:sanitize`: builds the standalone C++ tests (CPU kernels, thread pool, and the CUDA
// kernels through the CPU emulator) with AddressSanitizer and UndefinedBehaviorSanitizer in
// build-sanitize/, and runs them. Any sanitizer report fails the run.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = join(root, 'build-sanitize');
const sanitize = '-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer';
const env = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};
const steps = [
  [
    'cmake',
    [
      '-S',
      root,
      '-B',
      build,
      '-DINFORMER_BUILD_TESTS=ON',
      '-DINFORMER_CUDA=OFF',
      '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
      `-DCMAKE_CXX_FLAGS=${sanitize}`,
      `-DCMAKE_EXE_LINKER_FLAGS=${sanitize}`,
      `-DCMAKE_SHARED_LINKER_FLAGS=${sanitize}`,
    ],
  ],
  ['cmake', ['--build', build, '--parallel', String(cpus().length)]],
  ['ctest', ['--test-dir', build, '--output-on-failure', '--parallel', String(cpus().length)]],
];
for (const [cmd, args] of steps) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`informer-node: '${cmd} ${args.join(' ')}' failed`);
    process.exit(r.status ?? 1);
  }
}
