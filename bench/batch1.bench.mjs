// Batch-1 latency of the paper config: native forwardSync and onnxruntime-node (2 intra-op threads, the
// same model exported with exportOnnx) timed in alternating rounds in one process, so that both see the
// same machine load (on a shared machine, running one after the other can favour either). Medians;
// the ratio is the median of the rounds' ratios.
//
//   node bench/batch1.bench.mjs [rounds 15] [calls per round 20]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

import { exportOnnx } from '../dist/artifact/onnx.js';
import { Informer } from '../dist/index.js';
import { machine, ortSession, PAPER } from './common.mjs';

const rounds = Number(process.argv[2] ?? 15),
  per = Number(process.argv[3] ?? 20);
const model = new Informer(PAPER);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'informer-batch1-'));
const file = path.join(dir, 'paper.onnx');
exportOnnx(model, file);
const session = await ortSession(ort, file);
const c = model.config,
  T = model.nMark,
  Ld = c.labelLen + c.predLen;
let s = 12345;
const r = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
const t = (...shape) => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, r), shape });
const batch = { xEnc: t(1, c.seqLen, c.encIn), xMarkEnc: t(1, c.seqLen, T), xDec: t(1, Ld, c.decIn), xMarkDec: t(1, Ld, T) };
const feeds = {
  x_enc: new ort.Tensor('float32', batch.xEnc.data, batch.xEnc.shape),
  x_mark_enc: new ort.Tensor('float32', batch.xMarkEnc.data, batch.xMarkEnc.shape),
  x_dec: new ort.Tensor('float32', batch.xDec.data, batch.xDec.shape),
  x_mark_dec: new ort.Tensor('float32', batch.xMarkDec.data, batch.xMarkDec.shape),
};
for (let i = 0; i < 10; i++) {
  model.forwardSync(batch);
  await session.run(feeds);
}
const nat = [],
  onx = [],
  ratios = [];
const med = (x) => {
  const y = [...x].sort((a, b) => a - b);
  return y[y.length >> 1];
};
// Between rounds both engines' threads are let go idle (onnxruntime's intra-op threads spin for a while
// after a run, as the native pool's worker does): without the pause each engine's first calls of a
// round ran beside the other's spinning threads on the same two cores.
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
for (let k = 0; k < rounds; k++) {
  const n = [],
    o = [];
  await settle();
  for (let i = 0; i < per; i++) {
    const t0 = performance.now();
    model.forwardSync(batch);
    n.push(performance.now() - t0);
  }
  await settle();
  for (let i = 0; i < per; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    o.push(performance.now() - t0);
  }
  nat.push(...n);
  onx.push(...o);
  // The host's speed drifts by tens of percent within minutes; a round's two medians are a second
  // apart, so their ratio is the steadier measure.
  ratios.push(med(o) / med(n));
}
console.log(
  `${machine()}, ${new Date().toISOString().slice(0, 10)}: paper B=1 native forwardSync median ${med(nat).toFixed(2)} ms, onnxruntime median ${med(onx).toFixed(2)} ms, ratio ${med(ratios).toFixed(2)}x (median of ${rounds} rounds' ratios, ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}; ${per} calls per engine per round, alternating)`,
);
await session.release();
fs.rmSync(dir, { recursive: true, force: true });
