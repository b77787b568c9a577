// Golden fixtures made with the reference PyTorch code: the copies in test/fixtures, plus any other
// fixture of the same format found in ../shared/fixtures (or $INFORMER_FIXTURES) when present.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { configFromReference, readSafetensors } from '../../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dirs = [process.env.INFORMER_FIXTURES, join(here, '..', 'fixtures'), join(here, '..', '..', '..', 'shared', 'fixtures')].filter(
  (d) => d && existsSync(d),
);

export function fixturePaths() {
  const byName = new Map();
  for (const dir of dirs)
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.safetensors') && !byName.has(f)) byName.set(f, join(dir, f));
  return [...byName.values()];
}

export function loadFixture(path) {
  const { tensors, metadata } = readSafetensors(path);
  const reference = JSON.parse(metadata.config);
  const params = {};
  for (const [k, v] of Object.entries(tensors)) if (k.startsWith('param.')) params[k.slice(6)] = v;
  const samples = Object.keys(tensors)
    .filter((k) => k.startsWith('sample.'))
    .sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)))
    .map((k) => tensors[k]);
  return {
    name: basename(path, '.safetensors'),
    tensors,
    metadata,
    config: configFromReference(reference),
    params,
    samples,
    batch: {
      xEnc: tensors['input.x_enc'],
      xMarkEnc: tensors['input.x_mark_enc'],
      xDec: tensors['input.x_dec'],
      xMarkDec: tensors['input.x_mark_dec'],
    },
  };
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32): the same seed, the same sequence. */
export function seededRandom(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A random batch for `config` (timeF marks in [-0.5, 0.5]; integer marks for fixed/learned).
export function randomBatch(config, nMark, B, seed = 1) {
  const rand = seededRandom(seed);
  const fill = (n, f) => Float32Array.from({ length: n }, f);
  const dec = config.labelLen + config.predLen;
  const marks = (L) => {
    if (config.embed === 'timeF') return fill(B * L * nMark, () => rand() - 0.5);
    const limits = [12, 28, 7, 24, 4];
    return fill(B * L * nMark, (_, i) => Math.floor(rand() * limits[i % nMark]) + (i % nMark < 2 ? 1 : 0));
  };
  return {
    xEnc: { data: fill(B * config.seqLen * config.encIn, () => rand() * 2 - 1), shape: [B, config.seqLen, config.encIn] },
    xMarkEnc: { data: marks(config.seqLen), shape: [B, config.seqLen, nMark] },
    xDec: { data: fill(B * dec * config.decIn, () => rand() * 2 - 1), shape: [B, dec, config.decIn] },
    xMarkDec: { data: marks(dec), shape: [B, dec, nMark] },
  };
}
