// Folder helpers for step artifacts: copy a folder file by file (each file appears whole), and the
// digest of a folder's content (relative paths and bytes), which keys step reuse.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { copyFileAtomic, TEMP_PREFIX } from '../fs/atomic.js';
import { listFiles } from '../fs/list.js';

export function copyDir(src: string, dest: string): void {
  for (const e of readdirSync(src, { withFileTypes: true })) {
    if (e.name.startsWith(TEMP_PREFIX)) continue;
    if (e.isDirectory()) copyDir(join(src, e.name), join(dest, e.name));
    else if (e.isFile()) copyFileAtomic(join(src, e.name), join(dest, e.name));
  }
}

/** sha256 over the sorted relative paths and contents of every file under `dir`. */
export function dirDigest(dir: string): string {
  const h = createHash('sha256');
  for (const rel of listFiles(dir).filter((f) => !f.split('/').some((p) => p.startsWith(TEMP_PREFIX)))) {
    h.update(rel)
      .update('\0')
      .update(readFileSync(join(dir, rel)))
      .update('\0');
  }
  return h.digest('hex');
}
