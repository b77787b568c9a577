// The native-boundary fuzzer (cases in fuzz-native-cases.js), run in child processes so that a crash
// fails this test, naming the case, instead of killing the test runner. Every case must end with a
// result or a typed InformerError. INFORMER_FUZZ_SEED and INFORMER_FUZZ_CASES (default 1000) replay
// or widen the search.
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { runCasesInChildren } from '../helpers/case-runner.js';

const seed = Number(process.env.INFORMER_FUZZ_SEED ?? 1);
const total = Number(process.env.INFORMER_FUZZ_CASES ?? 1000);
t.comment(`native fuzzer: seed ${seed}, ${total} cases (INFORMER_FUZZ_SEED / INFORMER_FUZZ_CASES)`);
const outcomes = await runCasesInChildren(t, fileURLToPath(new URL('./fuzz-native-cases.js', import.meta.url)), [String(seed)], total);
const ok = outcomes.filter((o) => / ok$/.test(o)).length;
t.ok(ok > total / 10 && ok < total, `valid calls succeed and broken ones fail (${ok} of ${total} succeeded)`);
