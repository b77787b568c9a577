// The JavaScript API on a real GPU, for machines with Node.js and a CUDA build of the addon but without
// the dev dependencies (scripts/gpu-check.sh runs it when `node` is there; INFORMER_ADDON_PATH may
// point at the addon). Runs the same checks as test/device.test.js's GPU tests (test/helpers/
// gpu-checks.js) with a minimal checker; exits 1 on any failed check, 2 when no GPU is usable.
import { backends, nativeInfo } from '../dist/index.js';
import { gpuForecastsMatchCpu, gpuTrainingFollowsCpu } from '../test/helpers/gpu-checks.js';

const info = nativeInfo();
console.log(`addon: ${info.addon}; cudaBuilt ${info.cudaBuilt}; device: ${info.cudaDevice}; gemm: ${info.gpuGemm}`);
if (!backends().includes('cuda')) {
  console.error(`gpu-js-check: no usable GPU (backends() is [${backends().join(', ')}])`);
  process.exit(2);
}

let failed = 0;
let passed = 0;
function checker(name) {
  const cleanups = [];
  const t = {
    ok(cond, msg) {
      if (cond) passed++;
      else {
        failed++;
        console.log(`not ok: ${name}: ${msg}`);
      }
    },
    equal(a, b, msg) {
      t.ok(Object.is(a, b), `${msg} (${String(a)} !== ${String(b)})`);
    },
    teardown(fn) {
      cleanups.push(fn);
    },
  };
  return { t, cleanups };
}

for (const [name, check] of [
  ['GPU forecasts match the CPU on every fixture', gpuForecastsMatchCpu],
  ['training on the GPU follows the CPU and the round trip keeps everything', gpuTrainingFollowsCpu],
]) {
  const { t, cleanups } = checker(name);
  const before = failed;
  try {
    await check(t);
  } catch (e) {
    failed++;
    console.log(`not ok: ${name}: threw ${e?.stack ?? e}`);
  }
  for (const fn of cleanups.reverse()) fn();
  console.log(`${failed === before ? 'ok' : 'FAILED'}: ${name}`);
}
console.log(`gpu-js-check: ${passed} checks passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
