#!/usr/bin/env node
// clang-format over the C++ and CUDA sources (the style is .clang-format's).
//   node scripts/lint-cpp.mjs         fails, listing the files that are not formatted
//   node scripts/lint-cpp.mjs --fix   formats them in place
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fix = process.argv.includes('--fix');
const EXTENSIONS = ['.cc', '.h', '.cu', '.cuh'];

function sources(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (EXTENSIONS.some((x) => e.name.endsWith(x))) out.push(relative(root, p));
  }
  return out.sort();
}

// The clang-format package ships the binary for each platform; its index.js finds the right one.
const clangFormat = createRequire(import.meta.url).resolve('clang-format/index.js');
const files = [...sources(join(root, 'native')), ...sources(join(root, 'bench', 'cuda'))];
const args = fix ? ['-i', ...files] : ['--dry-run', '-Werror', '--ferror-limit=1', ...files];
const r = spawnSync(process.execPath, [clangFormat, ...args], { cwd: root, encoding: 'utf8' });
if (r.status !== 0) {
  const unformatted = [...new Set([...(r.stderr ?? '').matchAll(/^([^\s:]+):\d+:\d+: error/gm)].map((m) => m[1]))];
  process.stderr.write(r.stderr.split('\n').slice(0, 20).join('\n'));
  console.error(`\nclang-format: ${unformatted.length || 'some'} file(s) not formatted; run \`npm run format\``);
  process.exit(1);
}
console.log(`clang-format: ${files.length} C++/CUDA files ${fix ? 'formatted' : 'clean'}`);
