#!/usr/bin/env node
// `npm install` step. In a checkout it compiles the TypeScript (a published package ships dist/). Then
// the native addon: nothing to do when the prebuilt package for this platform is installed and loads;
// otherwise (or when asked) a source build, with cmake-js, or node-gyp when CMake is missing.
//   INFORMER_BUILD_FROM_SOURCE=1 or `npm install --build-from-source`: build even if a prebuilt fits
//   INFORMER_CUDA=OFF|AUTO|ON (default AUTO: the CUDA backend when nvcc *and* an NVIDIA driver are present)
//   --force: clean rebuild (npm run build)
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const force = process.argv.includes('--force');
const say = (msg) => console.log(`informer-node: ${msg}`);
const fail = (msg) => {
  console.error(`informer-node: ${msg}`);
  process.exit(1);
};

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env, ...opts });
  return r.status === 0;
}
const works = (cmd, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

// ---- TypeScript (checkouts only) ----
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
    if (!existsSync(distIndex)) fail('dist/ is missing and TypeScript is not installed; run `npm install --include=dev`');
  }
  if (tsc) {
    say('compiling TypeScript');
    // tsc never deletes outputs of removed sources; a stale dist/ file would let an import of a moved
    // module keep working here and fail on a clean clone.
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    if (!run(process.execPath, [tsc, '-p', 'tsconfig.json'])) process.exit(1);
  }
}
// The `informer` bin must be executable for npx / npm's bin links.
const cli = join(root, 'dist', 'cli', 'index.js');
if (existsSync(cli)) chmodSync(cli, 0o755);

// ---- the native addon ----
const { platformId, prebuiltPackage } = await import(pathToFileURL(join(root, 'dist', 'platform.js')).href);
const fromSource = force || process.env.INFORMER_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true';

function prebuiltLoads() {
  let file;
  try {
    file = require.resolve(`${prebuiltPackage()}/informer.node`);
  } catch {
    return false;
  }
  // In a child process: a binary that does not load must not take the installer down with it.
  return spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { stdio: 'ignore' }).status === 0;
}

if (!fromSource && prebuiltLoads()) {
  say(`using the prebuilt addon ${prebuiltPackage()}`);
  process.exit(0);
}

const cudaMode = (process.env.INFORMER_CUDA ?? 'AUTO').toUpperCase();
if (!['OFF', 'AUTO', 'ON'].includes(cudaMode)) fail(`INFORMER_CUDA must be OFF, AUTO or ON, got '${process.env.INFORMER_CUDA}'`);
// AUTO builds the CUDA backend only where it can run: nvcc alone (a build box, a CI runner) is not enough.
const driver = existsSync('/proc/driver/nvidia/version') || works('nvidia-smi', ['-L']);
const cuda = cudaMode === 'AUTO' ? (driver ? 'AUTO' : 'OFF') : cudaMode;
if (cudaMode === 'AUTO' && !driver && works('nvcc'))
  say('nvcc found but no NVIDIA driver: building CPU-only (INFORMER_CUDA=ON forces CUDA)');

const compiler = ['c++', 'g++', 'clang++'].find((c) => works(c)) ?? (process.platform === 'win32' ? 'msvc' : undefined);
if (!compiler) {
  fail(
    `no prebuilt addon for ${platformId()} ${fromSource ? '(a source build was asked for)' : `(${prebuiltPackage()} is not installed)`}, ` +
      'and no C++ compiler (c++, g++ or clang++) to build one. Install a C++17 compiler (Debian/Ubuntu: apt install g++ cmake), ' +
      'or install on a platform with a prebuilt binary (linux-x64, linux-arm64).',
  );
}
const jobs = String(Math.max(1, cpus().length));
if (works('cmake')) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const build = (mode) =>
    run(process.execPath, [cmakeJs, force ? 'rebuild' : 'build', '--parallel', jobs, `--CDINFORMER_CUDA=${mode}`, '--log-level', 'warn']);
  say(`building the native addon from source with cmake-js (INFORMER_CUDA=${cuda})`);
  if (!build(cuda)) {
    if (cuda === 'OFF') fail('the source build failed (see the compiler output above)');
    say('the CUDA-enabled build failed; building CPU-only instead');
    if (!build('OFF')) fail('the source build failed (see the compiler output above)');
  }
} else {
  // node-gyp ships with npm; it builds the same CPU sources (binding.gyp reads scripts/native-sources.mjs).
  const gyp = process.env.npm_config_node_gyp;
  if (!gyp || !existsSync(gyp)) {
    fail('CMake was not found and node-gyp is not available (it ships with npm); install CMake 3.18+ (apt install cmake)');
  }
  if (cudaMode === 'ON') fail('INFORMER_CUDA=ON needs CMake (node-gyp builds CPU-only); install CMake 3.18+');
  say('CMake not found: building the CPU addon with node-gyp');
  if (!run(process.execPath, [gyp, 'rebuild', `--jobs=${jobs}`]))
    fail('the node-gyp build failed (see the output above; it needs Python 3)');
}
