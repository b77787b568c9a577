// Corrupt-file suites: seeded mutants of real safetensors, CSV, Parquet and ONNX files (cases in
// corrupt-file-cases.js), read in child processes. Each mutant loads, or fails with a typed error; no
// process crashes. INFORMER_CORRUPT_SEED and INFORMER_CORRUPT_CASES (default 600) widen the search.
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { runCasesInChildren } from '../helpers/case-runner.js';
import { FORMATS } from './corrupt-file-cases.js';

const seed = Number(process.env.INFORMER_CORRUPT_SEED ?? 1);
const total = Number(process.env.INFORMER_CORRUPT_CASES ?? 600);
t.comment(`corrupt files: seed ${seed}, ${total} mutants (INFORMER_CORRUPT_SEED / INFORMER_CORRUPT_CASES)`);
const outcomes = await runCasesInChildren(
  t,
  fileURLToPath(new URL('./corrupt-file-cases.js', import.meta.url)),
  [String(seed)],
  total,
  300,
);
for (const [k, format] of FORMATS.entries()) {
  const mine = outcomes.filter((o) => Number(o.split(' ')[1]) % FORMATS.length === k);
  const refused = mine.filter((o) => / typed /.test(o)).length;
  t.ok(refused > mine.length / 4, `${format}: most mutants are refused with a typed error (${refused} of ${mine.length})`);
}
