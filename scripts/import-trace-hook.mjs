// Module resolve hook (bench/import.bench.mjs, test/architecture.test.js): appends every resolved node_modules package to the
// file named by INFORMER_IMPORT_LOG (the hook runs off the main thread, so it writes to a file).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(r.url);
  if (m && process.env.INFORMER_IMPORT_LOG) appendFileSync(process.env.INFORMER_IMPORT_LOG, `${m[1]}\n`);
  return r;
}
