#!/usr/bin/env node
// The one list of C++ sources, shared by CMakeLists.txt and binding.gyp so the two builds cannot drift.
//   node scripts/native-sources.mjs core    -> core + CPU kernels (no N-API; also used by the C++ tests)
//   node scripts/native-sources.mjs addon   -> the N-API binding layer
//   node scripts/native-sources.mjs cpu     -> core + addon (what binding.gyp compiles)
// Paths are relative to the package root, separated by ';' for CMake (--cmake) or spaces for gyp.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const GROUPS = {
  core: ['native/core', 'native/kernels/cpu'],
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

export function sources(group) {
  const dirs = group === 'cpu' ? [...GROUPS.core, ...GROUPS.addon] : GROUPS[group];
  if (!dirs) throw new Error(`unknown source group '${group}' (core, addon, cpu)`);
  return dirs.flatMap(listSources);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const group = process.argv[2] ?? 'cpu';
  const list = sources(group);
  process.stdout.write(process.argv.includes('--cmake') ? list.join(';') : list.join(' '));
}
