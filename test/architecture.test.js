// The code's shape, checked: lib/ has no import cycles and every layer imports only what is below it;
// native/ includes follow its layers (base <- cpu, cuda <- model <- addon); importing the package
// installs nothing on the process and loads none of the heavy optional dependencies.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { LAZY_DEPENDENCIES } from '../dist/lazy.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function files(dir, ext) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p, ext) : ext.some((e) => name.endsWith(e)) ? [p] : [];
  });
}

// ---- lib/: value imports (type-only imports and re-exports of types vanish at run time) ----

function valueImports(file) {
  const text = readFileSync(file, 'utf8');
  const out = [];
  const re = /^(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'/gm;
  for (const m of text.matchAll(re)) {
    if (m[1]) continue;
    out.push(relative(join(root, 'lib'), resolve(dirname(file), m[2])).replace(/\.js$/, '.ts'));
  }
  return out;
}

const lib = Object.fromEntries(files(join(root, 'lib'), ['.ts']).map((f) => [relative(join(root, 'lib'), f), valueImports(f)]));

// Which parts of lib/ each part may import (besides itself). Bottom: the base modules.
const BASE = [
  'errors.ts',
  'tensor.ts',
  'config.ts',
  'signature.ts',
  'version.ts',
  'lazy.ts',
  'native.ts',
  'binding.ts',
  'safetensors.ts',
  'random.ts',
  'platform.ts',
  'fs',
];
const LAYERS = {
  base: BASE,
  'model.ts': ['base', 'optim.ts'],
  'optim.ts': ['base'],
  data: ['base'],
  tracking: ['base'],
  plots: ['base', 'data'],
  artifact: ['base', 'model.ts', 'data', 'tracking'],
  export: ['base', 'model.ts', 'artifact'],
  serve: ['base', 'model.ts', 'data', 'artifact'],
  train: ['base', 'model.ts', 'optim.ts', 'data', 'tracking', 'artifact', 'plots'],
  tune: ['base', 'model.ts', 'optim.ts', 'data', 'tracking', 'artifact', 'plots', 'train'],
  pipeline: ['base', 'model.ts', 'optim.ts', 'data', 'tracking', 'artifact', 'plots', 'export', 'serve', 'train'],
  cli: ['base', 'model.ts', 'optim.ts', 'data', 'tracking', 'artifact', 'plots', 'export', 'serve', 'train', 'tune', 'pipeline'],
};
const partOf = (f) => (BASE.includes(f.split('/')[0]) ? 'base' : f.includes('/') ? f.split('/')[0] : f);

t.test('lib/: every module imports only from its own part or the parts below it', async (t) => {
  const bad = [];
  for (const [file, deps] of Object.entries(lib)) {
    const part = partOf(file);
    if (part === 'index.ts') continue; // the public API re-exports every part
    const allowed = LAYERS[part];
    t.ok(allowed, `${file} belongs to a known part (${part})`);
    for (const d of deps) {
      const dp = partOf(d);
      if (dp !== part && !allowed.includes(dp) && !allowed.includes(d)) bad.push(`${file} -> ${d}`);
    }
  }
  t.same(bad, [], 'no upward imports');
  // The two the architecture issue named: the Trainer knows nothing of autologging or tracking.
  t.notOk(
    lib['train/trainer.ts'].some((d) => d.startsWith('tracking/') || d === 'train/autolog.ts' || d.startsWith('artifact/')),
    'trainer.ts only emits events',
  );
});

t.test('lib/: no import cycles', async (t) => {
  const cycles = [];
  const state = new Map(); // file -> 1 visiting, 2 done
  const stack = [];
  const visit = (f) => {
    if (state.get(f) === 2) return;
    if (state.get(f) === 1) {
      cycles.push([...stack.slice(stack.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 1);
    stack.push(f);
    for (const d of lib[f] ?? []) visit(d);
    stack.pop();
    state.set(f, 2);
  };
  Object.keys(lib).forEach(visit);
  t.same(cycles, [], 'the import graph is acyclic');
});

// ---- native/: includes follow the layers ----

const NATIVE_LAYERS = {
  base: ['base'],
  cpu: ['base', 'cpu'],
  cuda: ['base', 'cuda'],
  model: ['base', 'cpu', 'model'],
  addon: ['base', 'cpu', 'cuda', 'model', 'addon'],
};

t.test('native/: base includes no backend; backends include only base; the model sits above them', async (t) => {
  const bad = [];
  for (const [layer, allowed] of Object.entries(NATIVE_LAYERS)) {
    for (const f of files(join(root, 'native', layer), ['.h', '.cc', '.cu'])) {
      for (const m of readFileSync(f, 'utf8').matchAll(/^#include "([a-z_]+)\//gm)) {
        if (!allowed.includes(m[1])) bad.push(`${relative(root, f)} includes ${m[1]}/`);
      }
    }
  }
  t.same(bad, [], 'no include crosses a layer downwards');
});

// ---- importing the package ----

t.test('importing the package installs no process handlers and loads no heavy dependency', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'informer-arch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'loaded.log');
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(root, 'scripts', 'import-trace-hook.mjs')).href)});\n`,
  );
  const code = `
    const before = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit'].map((e) => process.listenerCount(e));
    const m = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)});
    m.setTrackingUri(${JSON.stringify(join(dir, 'mlruns'))});
    m.startRun({ runName: 'no-hooks' });
    m.logMetric('x', 1);
    m.endRun();
    const after = ['SIGINT', 'SIGTERM', 'SIGHUP', 'exit'].map((e) => process.listenerCount(e));
    console.log(JSON.stringify({ before, after }));`;
  const r = spawnSync(process.execPath, ['--import', register, '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, INFORMER_IMPORT_LOG: log, NODE_OPTIONS: '' },
  });
  t.equal(r.status, 0, r.stderr);
  const { before, after } = JSON.parse(r.stdout.trim().split('\n').pop());
  t.same(after, before, 'no SIGINT/SIGTERM/SIGHUP/exit listeners added by import or the fluent API');
  let loaded = [];
  try {
    loaded = readFileSync(log, 'utf8').trim().split('\n');
  } catch {
    // nothing from node_modules was resolved
  }
  const heavy = LAZY_DEPENDENCIES;
  t.same(
    heavy.filter((p) => loaded.includes(p)),
    [],
    'none of the heavy packages is loaded',
  );
});
