#!/usr/bin/env node
// What a user gets from `npm install informer-node`: packs this package and the prebuilt addon package
// for this platform, installs both into an empty project with install scripts off (no compiler used),
// then imports it from ESM and CommonJS, runs a forward pass, checks that the addon came from the
// prebuilt package, that the onnx backend without onnxruntime-node is a clear error, and runs
// `npx informer train` on the bundled data. Prints the install time and the node_modules size.
//   node scripts/consumer-test.mjs [--keep]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build-prebuild');
const say = (msg) => console.log(`consumer test: ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    throw new Error(
      `'${cmd} ${args.join(' ')}' failed (exit ${r.status}):\n${(r.stdout ?? '').slice(-2000)}\n${(r.stderr ?? '').slice(-4000)}`,
    );
  }
  return r.stdout ?? '';
}
function sizeOf(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += sizeOf(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

// 1. The two tarballs: the platform package (built here) and the package itself (prepack compiles dist/).
run(process.execPath, [join(root, 'scripts', 'prebuild.mjs'), '--pack'], { stdio: 'inherit' });
const { platformId, prebuiltPackage } = await import(pathToFileURL(join(root, 'dist', 'platform.js')).href);
const id = platformId();
const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], { stdio: ['ignore', 'pipe', 'inherit'] }));
const mainTgz = join(out, packed[0].filename);
const platformTgz = join(
  out,
  readdirSync(out).find((f) => f.startsWith(prebuiltPackage(id).replace('@', '').replace('/', '-')) && f.endsWith('.tgz')),
);
say(
  `packed ${packed[0].filename} (${(packed[0].size / 1e6).toFixed(1)} MB, ${packed[0].entryCount} files) and ${platformTgz.split('/').pop()}`,
);
const shipped = packed[0].files.map((f) => f.path);
for (const unwanted of [/^native\/tests\//, /^native\/cuda\/emu\//, /^bench\//, /^test\//, /^data\/ETTh1\.csv$/, /^lib\//]) {
  const hit = shipped.find((p) => unwanted.test(p));
  if (hit) throw new Error(`the tarball ships ${hit}, which users do not need`);
}

// 2. An empty project; install scripts off, so nothing is compiled.
// Node looks for packages in every ancestor's node_modules: the project must have none above it, or
// a stray package there (say onnxruntime-node in /tmp/node_modules) would hide a missing dependency.
const hasAncestorModules = (dir) => {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return true;
    if (dirname(d) === d) return false;
  }
};
const base = [tmpdir(), '/var/tmp', homedir()].find((d) => existsSync(d) && !hasAncestorModules(d));
if (!base) throw new Error(`no temporary folder without a node_modules above it (checked ${tmpdir()}, /var/tmp, ${homedir()})`);
const project = mkdtempSync(join(base, 'informer-consumer-'));
writeFileSync(join(project, 'package.json'), '{ "name": "consumer", "version": "1.0.0", "private": true }\n');
const t0 = Date.now();
const install = spawnSync('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', mainTgz, platformTgz], {
  cwd: project,
  encoding: 'utf8',
});
if (install.status !== 0) throw new Error(`npm install failed:\n${install.stderr.slice(-4000)}`);
// engines must hold for every dependency on the Node versions this package supports.
if (/EBADENGINE/.test(install.stderr)) throw new Error(`a dependency's engines exclude Node ${process.version}:\n${install.stderr}`);
const seconds = (Date.now() - t0) / 1000;
const mb = sizeOf(join(project, 'node_modules')) / 2 ** 20;
say(`installed with --ignore-scripts in ${seconds.toFixed(1)} s; node_modules ${mb.toFixed(0)} MiB`);

// 3. ESM and CommonJS, a forward pass each; the addon is the prebuilt one.
const forward = `const m = new Informer({ seqLen: 12, labelLen: 6, predLen: 3, encIn: 1, decIn: 1, cOut: 1, dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32, freq: 't' });
const z = (n) => new Float32Array(n).map((_, i) => Math.sin(i));
const y = m.forwardSync({ xEnc: { data: z(12), shape: [1, 12, 1] }, xMarkEnc: { data: z(12 * m.nMark), shape: [1, 12, m.nMark] },
  xDec: { data: z(9), shape: [1, 9, 1] }, xMarkDec: { data: z(9 * m.nMark), shape: [1, 9, m.nMark] } });
if (y.shape.join() !== '1,3,1' || !y.data.every(Number.isFinite)) throw new Error('bad forecast');
console.log(nativeInfo().addon);`;
const esm = run(process.execPath, ['--input-type=module', '-e', `import { Informer, nativeInfo } from 'informer-node';\n${forward}`], {
  cwd: project,
});
const cjs = run(process.execPath, ['-e', `const { Informer, nativeInfo } = require('informer-node');\n${forward}`], { cwd: project });
for (const [how, text] of [
  ['import', esm],
  ['require', cjs],
]) {
  if (!text.includes(`the prebuilt package ${prebuiltPackage(id)}`))
    throw new Error(`${how}: the addon did not come from the prebuilt package: ${text}`);
}
say(`import and require both forecast, with the addon from ${prebuiltPackage(id)}`);

// 4. The optional onnxruntime-node peer is not installed: its backend says what to install.
const onnx = spawnSync(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import { Informer, Predictor } from 'informer-node';
const m = new Informer({ seqLen: 12, labelLen: 6, predLen: 3, encIn: 1, decIn: 1, cOut: 1, dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32, freq: 't' });
await Predictor.create(m, { columns: ['y'], target: 'y', features: 'S', freq: 't', embed: 'timeF', scaler: null }, { backend: 'onnx' });`,
  ],
  { cwd: project, encoding: 'utf8' },
);
if (onnx.status === 0 || !/needs the package 'onnxruntime-node'.*npm install onnxruntime-node/.test(onnx.stderr)) {
  throw new Error(`the onnx backend without onnxruntime-node should say what to install; got: ${onnx.stderr.slice(-1500)}`);
}
say('the onnx backend without onnxruntime-node asks for it by name');

// 5. The CLI on the bundled data.
const train = run('npx', ['informer', 'train', '--train-epochs', '1', '--mlruns', join(project, 'mlruns')], { cwd: project });
if (!/registered: models:\/alibaba-pod-cpu\/1/.test(train)) throw new Error(`npx informer train did not register a model:\n${train}`);
say('npx informer train ran on the bundled data and registered its model');

if (!process.argv.includes('--keep')) rmSync(project, { recursive: true, force: true });
say(`passed (${id}; install ${seconds.toFixed(1)} s, node_modules ${mb.toFixed(0)} MiB)`);
