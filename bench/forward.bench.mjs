// Forward latency (eval, deterministic sampling) for the seed and paper configs at batch 1 and 32,
// against a full-attention model of the same size run in the same process, next to PyTorch running the
// reference algorithm in the same run (when python3 with torch is there) and the onnxruntime figure of
// DESIGN.md section 5 (inference.bench.mjs measures onnxruntime side by side).
import { Informer } from '../dist/index.js';
import { PAPER, REFERENCE, SEED, machine, measure, ms, pytorchBaseline, randomBatch, table } from './common.mjs';

const rows = [];
for (const [name, cfg] of [
  ['seed', SEED],
  ['paper', PAPER],
]) {
  const baseline = pytorchBaseline(name);
  const prob = new Informer(cfg);
  const full = Informer.fromStateDict({ ...cfg, attn: 'full' }, prob.stateDict());
  for (const B of [1, 32]) {
    const batch = randomBatch(prob.config, prob.nMark, B);
    const slow = name === 'paper' && B === 32;
    const opts = { minSamples: slow ? 5 : 30, maxTime: slow ? 8 : 3 };
    const p = await measure(`${name} B=${B} prob`, () => prob.forwardSync(batch), opts);
    const f = await measure(`${name} B=${B} full`, () => full.forwardSync(batch), opts);
    const ref = REFERENCE[name];
    const torch = baseline.ran ? baseline.forwardMs[B] : null;
    const ort = B === 1 ? ref.ortB1Ms : ref.ortB32Ms;
    rows.push([
      `${name}`,
      String(B),
      ms(p.median),
      ms(f.median),
      (f.median / p.median).toFixed(2),
      torch === null ? `not run: ${baseline.reason}` : `${torch.toFixed(torch < 10 ? 2 : 1)} ms (${(torch / 1e3 / p.median).toFixed(1)}x)`,
      `${ort} ms (${(ort / 1e3 / p.median).toFixed(1)}x)`,
    ]);
    console.error(`${name} B=${B}: prob ${ms(p.median)}, full ${ms(f.median)}`);
  }
  prob.dispose();
  full.dispose();
}
console.log(
  `### Forward latency (eval)\n\nMachine: ${machine()}. Medians of benchmark.js samples; "full" is the same model with attn 'full', run in the same process.\n`,
);
console.log(
  table(
    [
      'config',
      'batch',
      'informer-node (prob)',
      'informer-node (full)',
      'full / prob',
      'PyTorch CPU, same run (speed-up)',
      'onnxruntime-node, full attn, DESIGN.md figure (speed-up)',
    ],
    rows,
  ),
);
