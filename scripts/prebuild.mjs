#!/usr/bin/env node
// Builds the prebuilt addon package for one platform: build-prebuild/npm/<id>/ holds package.json
// (`@informer-node/<id>`, selected by npm through os/cpu/libc), informer.node (CPU backend, with the
// run-time AVX2/AVX-512 dispatch on x86-64; one Node-API binary for every Node version) and a README.
//   node scripts/prebuild.mjs                            this machine's platform
//   node scripts/prebuild.mjs --target linux-arm64-gnu   cross-compiled with Debian's aarch64 toolchain,
//                                                        then checked under qemu-user: the C++ kernel
//                                                        tests, and a model forward pass compared with
//                                                        the x86-64 build's
//   --pack   also `npm pack` the package into build-prebuild/
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { platformId, prebuiltPackage } = await import(pathToFileURL(join(root, 'dist', 'platform.js')).href);
const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const host = platformId();
const target = arg('target') ?? host;
const TARGETS = {
  'linux-x64-gnu': { os: 'linux', cpu: 'x64', libc: 'glibc', arch: 'x64' },
  'linux-arm64-gnu': { os: 'linux', cpu: 'arm64', libc: 'glibc', arch: 'arm64', toolchain: 'linux-arm64-gnu.cmake', qemu: 'qemu-aarch64' },
};
const spec = TARGETS[target];
if (!spec) throw new Error(`--target must be one of ${Object.keys(TARGETS).join(', ')}, got ${target}`);
const cross = target !== host;
if (cross && !spec.toolchain) throw new Error(`no cross toolchain for ${target} on ${host}`);
const jobs = String(cpus().length);
const out = join(root, 'build-prebuild');
const say = (msg) => console.log(`prebuild ${target}: ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`'${cmd} ${args.join(' ')}' failed (exit ${r.status})`);
}

// 1. The addon, CPU-only (the CUDA variant is a source build: README, "Install").
const buildDir = join(out, 'cmake', target);
const toolchain = spec.toolchain ? [`--CDCMAKE_TOOLCHAIN_FILE=${join(root, 'scripts', 'toolchains', spec.toolchain)}`] : [];
say('building the addon');
run(process.execPath, [
  require.resolve('cmake-js/bin/cmake-js'),
  'build',
  '--out',
  buildDir,
  '--arch',
  spec.arch,
  '--parallel',
  jobs,
  '--CDINFORMER_CUDA=OFF',
  '--CDCMAKE_BUILD_TYPE=Release',
  ...toolchain,
  '--log-level',
  'warn',
]);
const binary = join(buildDir, 'Release', 'informer.node');

// 2. The package folder.
const pkgDir = join(out, 'npm', target);
rmSync(pkgDir, { recursive: true, force: true });
mkdirSync(pkgDir, { recursive: true });
copyFileSync(binary, join(pkgDir, 'informer.node'));
const main = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const name = prebuiltPackage(target);
writeFileSync(
  join(pkgDir, 'package.json'),
  `${JSON.stringify(
    {
      name,
      version: main.version,
      description: `The ${target} native addon of informer-node (CPU backend, Node-API ${main.binary.napi_versions[0]})`,
      os: [spec.os],
      cpu: [spec.cpu],
      libc: [spec.libc],
      main: 'informer.node',
      files: ['informer.node', 'README.md'],
      engines: main.engines,
      license: main.license,
    },
    null,
    2,
  )}\n`,
);
writeFileSync(
  join(pkgDir, 'README.md'),
  `# ${name}\n\nThe prebuilt ${target} binary of [informer-node](https://www.npmjs.com/package/informer-node), installed by it as an optional dependency. Do not install it directly.\n`,
);
say(`package in ${pkgDir}`);

// 3. Checks.
if (!cross) {
  const r = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(binary)}); console.log(a.info().gemmKernel)`], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`the addon does not load: ${r.stderr}`);
  say(`loads in Node ${process.version} (GEMM kernel ${r.stdout.trim()})`);
} else {
  // The C++ kernel tests and a forward pass, cross-built and run under qemu-user; the forward pass must
  // match this machine's native build of the same test.
  const testsDir = join(out, 'tests', target);
  const hostDir = join(out, 'tests', host);
  const cpuTests = readdirSync(join(root, 'native', 'tests'))
    .filter((f) => /^test_.*\.cc$/.test(f))
    .map((f) => f.replace(/\.cc$/, ''));
  for (const [dir, extra] of [
    [hostDir, []],
    [testsDir, [`-DCMAKE_TOOLCHAIN_FILE=${join(root, 'scripts', 'toolchains', spec.toolchain)}`]],
  ]) {
    run('cmake', ['-S', root, '-B', dir, '-DINFORMER_BUILD_TESTS=ON', '-DINFORMER_CUDA=OFF', '-DCMAKE_BUILD_TYPE=Release', ...extra], {
      stdio: 'ignore',
    });
    run('cmake', ['--build', dir, '--parallel', jobs, '--target', ...(dir === hostDir ? ['test_model_forward'] : cpuTests)]);
  }
  const reference = join(hostDir, 'forecast.txt');
  run(join(hostDir, 'native', 'tests', 'test_model_forward'), ['--write', reference]);
  const qemu = [spec.qemu, '-L', '/usr/aarch64-linux-gnu'];
  for (const t of cpuTests) {
    say(`${t} under ${spec.qemu}`);
    const args = t === 'test_model_forward' ? ['--compare', reference] : [];
    run(qemu[0], [...qemu.slice(1), join(testsDir, 'native', 'tests', t), ...args]);
  }
  const file = spawnSync('file', [binary], { encoding: 'utf8' }).stdout ?? '';
  if (file && !/aarch64|ARM aarch64/.test(file)) throw new Error(`${binary} is not an arm64 binary: ${file}`);
  say(`C++ tests and the forward pass pass under qemu-user; ${file.trim() || 'informer.node built'}`);
}

if (process.argv.includes('--pack')) {
  run('npm', ['pack', '--pack-destination', out, '--silent'], { cwd: pkgDir });
  say(`packed into ${out}`);
}
if (!existsSync(join(pkgDir, 'informer.node'))) process.exit(1);
