// Where the addon comes from: INFORMER_ADDON_PATH alone when set, else a source build, else the
// prebuilt package; when none loads the error names the platform, each place tried and why, and how
// to build from source.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { nativeInfo } from '../dist/index.js';
import { libcFamily, platformId, prebuiltPackage } from '../dist/platform.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const probe = `import('${join(root, 'dist', 'index.js')}').then((m) => m.nativeInfo()).then((i) => console.log(i.addon), (e) => { console.error(e.name + ': ' + e.message); process.exit(3); })`;
const withAddon = (path) =>
  spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, INFORMER_ADDON_PATH: path } });

t.test('the platform id and its package', async (t) => {
  const libc = libcFamily();
  t.equal(platformId(), `${process.platform}-${process.arch}${libc ? `-${libc}` : ''}`);
  if (process.platform === 'linux') t.ok(['gnu', 'musl'].includes(libc));
  t.equal(prebuiltPackage('linux-arm64-gnu'), '@informer-node/linux-arm64-gnu');
  const info = nativeInfo();
  t.equal(info.platform, platformId());
  t.match(info.addon, /a source build|the prebuilt package|INFORMER_ADDON_PATH/, `loaded from ${info.addon}`);
});

t.test('an explicit INFORMER_ADDON_PATH that is missing or not an addon is an error naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-loader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = withAddon(join(dir, 'nope.node'));
  t.equal(missing.status, 3);
  t.match(missing.stderr, /NativeError: informer-node: no native addon for \S+/);
  t.match(
    missing.stderr,
    new RegExp(`INFORMER_ADDON_PATH \\(${join(dir, 'nope.node').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): file not found`),
  );
  t.match(missing.stderr, /npm rebuild informer-node --build-from-source/);
  t.match(missing.stderr, /pnpm/);
  t.match(missing.stderr, /bun/);
  const bogus = join(dir, 'bogus.node');
  writeFileSync(bogus, 'not a shared object');
  const bad = withAddon(bogus);
  t.equal(bad.status, 3);
  t.match(bad.stderr, /bogus\.node\): failed to load: /);
});
