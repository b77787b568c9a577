#!/usr/bin/env node
// The one list of C++ sources, shared by CMakeLists.txt and binding.gyp so the two builds cannot drift.
//   node scripts/native-sources.mjs core    -> base + CPU backend + model (no N-API; also used by the C++ tests)
//   node scripts/native-sources.mjs addon   -> the N-API binding layer
//   node scripts/native-sources.mjs cpu     -> core + addon without the *_avx2.cc / *_avx512.cc files
//                                              (binding.gyp's main target; gyp has no per-file flags)
//   node scripts/native-sources.mjs avx2    -> the *_avx2.cc files (compiled with -mavx2 -mfma)
//   node scripts/native-sources.mjs avx512  -> the *_avx512.cc files (-mavx512f -mavx2 -mfma)
// Paths are relative to the package root, separated by ';' for CMake (--cmake) or spaces for gyp.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const GROUPS = {
  // The layers of the native core, bottom up: shared types and contracts (base), the CPU backend
  // (cpu: kernels, GEMM, thread pool, CpuOps), the model written against base/ops.h (model).
  core: ['native/base', 'native/cpu', 'native/model'],
  addon: ['native/addon'],
};

function listSources(dir) {
  const out = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const full = join(root, dir, name);
    if (statSync(full).isDirectory()) continue;
    if (name.endsWith('.cc')) out.push(relative(root, full).split('\\').join('/'));
  }
  return out;
}

const isAvx2 = (f) => f.endsWith('_avx2.cc');
const isAvx512 = (f) => f.endsWith('_avx512.cc');

export function sources(group) {
  if (group === 'cpu') {
    return [...GROUPS.core, ...GROUPS.addon].flatMap(listSources).filter((f) => !isAvx2(f) && !isAvx512(f));
  }
  if (group === 'avx2') return GROUPS.core.flatMap(listSources).filter(isAvx2);
  if (group === 'avx512') return GROUPS.core.flatMap(listSources).filter(isAvx512);
  const dirs = GROUPS[group];
  if (!dirs) throw new Error(`unknown source group '${group}' (core, addon, cpu, avx2, avx512)`);
  return dirs.flatMap(listSources);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const group = process.argv[2] ?? 'cpu';
  const list = sources(group);
  process.stdout.write(process.argv.includes('--cmake') ? list.join(';') : list.join(' '));
}
