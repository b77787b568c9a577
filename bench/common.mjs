// Shared helpers for the benchmarks: benchmark.js runs with median reporting, configs, inputs.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Benchmark = require('benchmark');

export const SEED = {
  seqLen: 12,
  labelLen: 12,
  predLen: 6,
  encIn: 1,
  decIn: 1,
  cOut: 1,
  dModel: 32,
  nHeads: 4,
  eLayers: 1,
  dLayers: 1,
  dFf: 128,
  freq: 'h',
};
export const PAPER = {
  seqLen: 96,
  labelLen: 48,
  predLen: 24,
  encIn: 7,
  decIn: 7,
  cOut: 7,
  dModel: 512,
  nHeads: 8,
  eLayers: 2,
  dLayers: 1,
  dFf: 2048,
  freq: 'h',
};

// PyTorch 1.13 CPU (2 threads) and onnxruntime-node 1.30 figures on this machine kind (DESIGN.md 5):
// only the peak RSS is still quoted from there; times are measured in the same run (pytorchBaseline).
export const REFERENCE = {
  seed: { trainStepMs: 51, forwardB1Ms: 3.4, forwardB32Ms: 19, peakRssMiB: 291, ortB1Ms: 0.36, ortB32Ms: 2.8 },
  paper: { trainStepMs: 2580, forwardB1Ms: 59, forwardB32Ms: 988, peakRssMiB: 1340, ortB1Ms: 16.5, ortB32Ms: 427 },
};

export function machine() {
  const c = cpus();
  return `${c.length} x ${c[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
}

export function randomBatch(config, nMark, B, seed = 1) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const dec = config.labelLen + config.predLen;
  const fill = (n, lo, hi) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
  return {
    xEnc: { data: fill(B * config.seqLen * config.encIn, -1, 1), shape: [B, config.seqLen, config.encIn] },
    xMarkEnc: { data: fill(B * config.seqLen * nMark, -0.5, 0.5), shape: [B, config.seqLen, nMark] },
    xDec: { data: fill(B * dec * config.decIn, -1, 1), shape: [B, dec, config.decIn] },
    xMarkDec: { data: fill(B * dec * nMark, -0.5, 0.5), shape: [B, dec, nMark] },
  };
}

/** Median seconds per call of fn, measured by benchmark.js (sync, or async with `defer`). */
export function measure(name, fn, { async = false, minSamples = 20, maxTime = 3 } = {}) {
  return new Promise((resolve, reject) => {
    const bench = new Benchmark(name, async ? { defer: true, fn: (d) => fn().then(() => d.resolve()) } : fn, {
      minSamples,
      maxTime,
      onComplete() {
        const sample = [...this.stats.sample].sort((a, b) => a - b);
        resolve({ name, median: sample[sample.length >> 1], mean: this.stats.mean, rme: this.stats.rme, samples: sample.length });
      },
      onError(e) {
        reject(e.target?.error ?? e);
      },
    });
    bench.run({ async: false });
  });
}

export function ms(seconds) {
  return seconds * 1e3 < 1 ? `${(seconds * 1e6).toFixed(1)} µs` : `${(seconds * 1e3).toFixed(seconds * 1e3 < 10 ? 2 : 1)} ms`;
}

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * PyTorch on this machine, in this run: the reference algorithm (bench/cuda/pytorch_informer.py) on the
 * CPU with as many threads as the native pool, timing the train step (B=32) and eval forwards (B=1, 32)
 * of `config` ('seed' | 'paper'). `{ ran: false, reason }` when no python3 with torch is found
 * (Debian: apt install python3-torch); set PYTHON to choose the interpreter.
 */
export function pytorchBaseline(config) {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  const python = candidates.find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (!python) return { ran: false, reason: 'python3 with torch not found' };
  const script = join(dirname(fileURLToPath(import.meta.url)), 'cuda', 'pytorch_informer.py');
  // The seed model's steps take milliseconds: 20 repetitions gave medians from 15 to 48 ms on one quiet
  // machine; 200 (capped by the script at ~5 s per measurement) settle within a few percent.
  const reps = config === 'seed' ? '200' : '20';
  const args = [
    script,
    '--bench',
    '--device',
    'cpu',
    '--config',
    config,
    '--model-only',
    '--threads',
    String(cpus().length),
    '--reps',
    reps,
  ];
  const r = spawnSync(python, args, { encoding: 'utf8', timeout: 20 * 60_000 });
  if (r.status !== 0) return { ran: false, reason: `pytorch_informer.py failed: ${(r.stderr ?? '').trim().split('\n').pop()}` };
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  const find = (name, batch) => out.model.find((m) => m.name.startsWith(name) && m.batch === batch)?.ms;
  return {
    ran: true,
    label: `PyTorch ${out.torch.replace(/a0$/, '')} CPU, ${out.threads} threads`,
    trainStepMs: find('train step', 32),
    forwardMs: { 1: find('forward', 1), 32: find('forward', 32) },
  };
}

/** An onnxruntime-node session as every benchmark compares it: 2 intra-op threads, sequential, full graph optimisation. */
export function ortSession(ort, file) {
  return ort.InferenceSession.create(file, {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}
