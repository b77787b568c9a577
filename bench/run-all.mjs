// Runs every benchmark in its own process and prints their markdown sections (for bench/RESULTS.md).
//   node bench/run-all.mjs [name ...]     names: forward train gemm attention inference server
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['gemm', 'forward', 'train', 'attention', 'inference', 'server'];
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : all;
for (const name of chosen) {
  const file = join(here, `${name}.bench.mjs`);
  if (!existsSync(file)) {
    console.error(`no benchmark '${name}' (${all.join(', ')})`);
    process.exitCode = 1;
    continue;
  }
  const r = spawnSync(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  process.stdout.write(`${r.stdout}\n`);
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}
