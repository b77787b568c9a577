// Seeded mutations (bit flips, overwritten, zeroed, inserted and duplicated ranges, truncation) of real
// safetensors, CSV, Parquet and ONNX files, each read the way users read them. A mutant may still be
// a valid file (then it must load) or not (then the error must be typed). Run in child processes by
// corrupt-files.test.js (see test/helpers/case-runner.js): `node corrupt-file-cases.js <seed> <from> <to>`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';

import { ForecastDataset, Informer, buildOnnxModel, checkOnnxModel, parseCsv, readSafetensors, readTable } from '../../dist/index.js';
import { OnnxBackend } from '../../dist/serve/index.js';
import { runCases } from '../helpers/case-runner.js';
import { seededRandom } from '../helpers/fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Case i mutates a file of format FORMATS[i % 4]. */
export const FORMATS = ['safetensors', 'csv', 'parquet', 'onnx'];
const CONFIG = {
  seqLen: 12,
  labelLen: 6,
  predLen: 6,
  encIn: 1,
  decIn: 1,
  cOut: 1,
  dModel: 16,
  nHeads: 2,
  eLayers: 1,
  dLayers: 1,
  dFf: 32,
  freq: 't',
  seed: 4,
};

/** A mutant of `bytes`: 1-3 seeded edits; small offsets are favoured, where headers live. */
export function mutate(bytes, rand) {
  let b = Uint8Array.from(bytes);
  const at = () => Math.floor(rand() < 0.5 ? rand() * Math.min(b.length, 256) : rand() * b.length);
  const edits = 1 + Math.floor(rand() * 3);
  for (let e = 0; e < edits && b.length > 0; e++) {
    const i = at();
    const n = 1 + Math.floor(rand() * 16);
    switch (Math.floor(rand() * 6)) {
      case 0:
        b[i] ^= 1 << Math.floor(rand() * 8);
        break;
      case 1:
        for (let k = i; k < Math.min(b.length, i + n); k++) b[k] = Math.floor(rand() * 256);
        break;
      case 2:
        b.fill(0, i, i + n);
        break;
      case 3:
        b = b.slice(0, i);
        break;
      case 4:
        b = Uint8Array.from([...b.subarray(0, i), ...Array.from({ length: n }, () => Math.floor(rand() * 256)), ...b.subarray(i)]);
        break;
      default:
        b = Uint8Array.from([...b.subarray(0, i + n), ...b.subarray(i, i + n), ...b.subarray(i + n)]);
    }
  }
  return b;
}

// The originals, made once per process.
const csvText = `${readFileSync(join(here, '..', '..', 'data', 'alibaba_pod.csv'), 'utf8')
  .split('\n')
  .slice(0, 200)
  .join('\n')}\n`;
const model = new Informer(CONFIG);
const dir = mkdtempSync(join(tmpdir(), 'informer-corrupt-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
model.save(join(dir, 'model.safetensors'));
const originals = {
  safetensors: readFileSync(join(dir, 'model.safetensors')),
  csv: Buffer.from(csvText),
  parquet: (() => {
    const table = parseCsv(csvText);
    const at = tableFromArrays({
      date: Array.from(table.dates, (d) => new Date(d)),
      ...Object.fromEntries(table.columns.map((c) => [c, table.data[c]])),
    });
    return writeParquet(WasmTable.fromIPCStream(tableToIPC(at, 'stream')));
  })(),
  onnx: buildOnnxModel(model),
};

const readers = {
  async safetensors(bytes) {
    readSafetensors(bytes);
    Informer.load(bytes).dispose();
  },
  async csv(_bytes, file) {
    const table = await readTable(file);
    ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 6, predLen: 6 });
  },
  async parquet(_bytes, file) {
    const table = await readTable(file);
    ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 6, predLen: 6 });
  },
  async onnx(bytes, file) {
    try {
      checkOnnxModel(bytes);
    } finally {
      // onnxruntime parses the file natively: it must refuse it (typed) or load it, never crash.
      const backend = await OnnxBackend.create(model, { onnxPath: file });
      await backend.dispose();
    }
  },
};

export function makeCase(seed, i) {
  const format = FORMATS[i % FORMATS.length];
  const rand = seededRandom(seed * 7919 + i);
  const bytes = mutate(originals[format], rand);
  const file = join(dir, `case-${i}.${format}`);
  return {
    desc: `seed ${seed} case ${i}: ${format} mutant (${bytes.length} of ${originals[format].length} bytes)`,
    run: async () => {
      writeFileSync(file, bytes);
      try {
        await readers[format](bytes, file);
      } finally {
        rmSync(file, { force: true });
      }
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [seed, from, to] = process.argv.slice(2).map(Number);
  await runCases((i) => makeCase(seed, i), from, to);
}
