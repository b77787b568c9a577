// In-process forward latency: the native addon (forwardSync on the calling thread, forward off it) vs
// onnxruntime-node (2 intra-op threads) on the SAME model exported with exportOnnx, batch 1 and 32,
// seed and paper configs (untrained weights: timing does not depend on them). Timed with benchmark.js.
//
//   node bench/inference.bench.mjs [--configs seed,paper] [--max-time 3]
import Benchmark from 'benchmark';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

import { Informer } from '../dist/index.js';
import { exportOnnx } from '../dist/artifact/onnx.js';
import { ortSession, PAPER, SEED } from './common.mjs';

const CONFIGS = { seed: { ...SEED, freq: 't' }, paper: PAPER };
const BATCHES = [1, 32];

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

function randomBatch(model, B) {
  const c = model.config;
  const T = model.nMark;
  const Ld = c.labelLen + c.predLen;
  let s = 12345;
  const r = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
  const t = (...shape) => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, r), shape });
  return { xEnc: t(B, c.seqLen, c.encIn), xMarkEnc: t(B, c.seqLen, T), xDec: t(B, Ld, c.decIn), xMarkDec: t(B, Ld, T) };
}

function run(suite) {
  return new Promise((resolve) => {
    suite.on('cycle', (e) => console.error(`  ${String(e.target)}`));
    suite.on('complete', () => resolve(suite));
    suite.run({ async: true });
  });
}

const maxTime = Number(arg('max-time', '3'));
const names = arg('configs', 'seed,paper').split(',');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'informer-bench-'));
const rows = [];
try {
  for (const name of names) {
    const model = new Informer(CONFIGS[name]);
    const file = path.join(dir, `${name}.onnx`);
    exportOnnx(model, file);
    const session = await ortSession(ort, file);
    for (const B of BATCHES) {
      const batch = randomBatch(model, B);
      const feeds = {
        x_enc: new ort.Tensor('float32', batch.xEnc.data, batch.xEnc.shape),
        x_mark_enc: new ort.Tensor('float32', batch.xMarkEnc.data, batch.xMarkEnc.shape),
        x_dec: new ort.Tensor('float32', batch.xDec.data, batch.xDec.shape),
        x_mark_dec: new ort.Tensor('float32', batch.xMarkDec.data, batch.xMarkDec.shape),
      };
      const a = model.forwardSync(batch).data;
      const b = (await session.run(feeds)).forecast.data;
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
      console.error(`${name} B=${B}: native vs onnxruntime max |diff| ${diff.toExponential(2)}`);
      const opts = { maxTime, minSamples: 5 };
      const suite = new Benchmark.Suite(`${name} B=${B}`)
        .add('native forwardSync', () => model.forwardSync(batch), opts)
        .add('native forward (async)', { ...opts, defer: true, fn: (d) => model.forward(batch).then(() => d.resolve()) })
        .add('onnxruntime', { ...opts, defer: true, fn: (d) => session.run(feeds).then(() => d.resolve()) });
      await run(suite);
      // Medians: on a shared machine a few slow samples move the mean far more.
      const ms = (i) => {
        const x = [...suite[i].stats.sample].sort((p, q) => p - q);
        return x[x.length >> 1] * 1e3;
      };
      const rme = (i) => suite[i].stats.rme;
      rows.push({ name, B, sync: ms(0), syncRme: rme(0), async: ms(1), asyncRme: rme(1), onnx: ms(2), onnxRme: rme(2), diff });
    }
    await session.release();
    model.dispose();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

const cpu = os.cpus();
console.log(
  `\nInference latency: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? ''} (2 intra-op threads), ` +
    `INFORMER_NUM_THREADS=${process.env.INFORMER_NUM_THREADS ?? 'default'}, ${new Date().toISOString().slice(0, 10)}; median of benchmark.js samples ± relative margin of error of the mean\n`,
);
console.log(
  '| config | batch | native forwardSync ms | native forward (async) ms | onnxruntime ms | native/onnx time | native speed-up | max abs diff |',
);
console.log('|---|---|---|---|---|---|---|---|');
const f = (v, r) => `${v < 1 ? v.toFixed(3) : v.toFixed(2)} ±${r.toFixed(1)}%`;
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.B} | ${f(r.sync, r.syncRme)} | ${f(r.async, r.asyncRme)} | ${f(r.onnx, r.onnxRme)} | ${(r.sync / r.onnx).toFixed(2)} | ${(r.onnx / r.sync).toFixed(1)}x | ${r.diff.toExponential(1)} |`,
  );
}
