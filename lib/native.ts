// Loads the compiled addon once and registers the typed error classes with it, so errors raised
// in C++ arrive as ConfigError, ShapeError, ... The addon comes from the prebuilt package for this
// platform (no compiler, no install script needed) or a source build; when neither is there the error
// names the platform, what was tried, and how to build from source.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { GpuMatmulPrecision, NativeAddon } from './binding.js';
import { platformId, prebuiltPackage } from './platform.js';
import {
  ConfigError,
  DisposedError,
  InternalError,
  NativeError,
  NativeStatus,
  OutOfMemoryError,
  ShapeError,
  StateDictError,
  ValueError,
} from './errors.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

let addon: NativeAddon | undefined;
let loadedFrom: string | undefined;

/** Where the addon of a source build (`npm install` from a checkout, or --build-from-source) lands. */
export function sourceBuildPath(): string {
  return join(packageRoot, 'build', 'Release', 'informer.node');
}

interface Candidate {
  what: string;
  path: string | null;
  why?: string;
}

// In order: an explicit path; a source build (made on purpose, or because no prebuilt fits); the
// prebuilt package for this platform (an optional dependency, so installs skip it elsewhere).
function candidates(): Candidate[] {
  const out: Candidate[] = [];
  const explicit = process.env.INFORMER_ADDON_PATH;
  // An explicit path is the only one tried: loading something else instead would hide the mistake.
  if (explicit) return [{ what: `INFORMER_ADDON_PATH (${explicit})`, path: explicit }];
  out.push({ what: 'INFORMER_ADDON_PATH', path: null, why: 'not set' });
  const local = sourceBuildPath();
  out.push(
    existsSync(local)
      ? { what: `a source build (${local})`, path: local }
      : { what: `a source build (${local})`, path: null, why: 'absent' },
  );
  const pkg = prebuiltPackage();
  try {
    out.push({ what: `the prebuilt package ${pkg}`, path: require.resolve(`${pkg}/informer.node`) });
  } catch {
    out.push({
      what: `the prebuilt package ${pkg}`,
      path: null,
      why: 'not installed (optional dependencies skipped, or no prebuilt for this platform)',
    });
  }
  return out;
}

/** The addon file this process would load, or null when there is none. */
export function addonPath(): string | null {
  return candidates().find((c) => c.path !== null && existsSync(c.path))?.path ?? null;
}

function notFound(tried: Candidate[]): NativeError {
  const lines = tried.map((c) => `  - ${c.what}: ${c.why ?? 'failed to load'}`);
  return new NativeError(
    `informer-node: no native addon for ${platformId()} (Node ${process.version}). Tried:\n${lines.join('\n')}\n` +
      'Build it from source (needs a C++17 compiler, and CMake 3.18+ or Python for node-gyp):\n' +
      '  npm:  npm rebuild informer-node --build-from-source\n' +
      '  pnpm: INFORMER_BUILD_FROM_SOURCE=1 pnpm rebuild informer-node   (allow it in onlyBuiltDependencies)\n' +
      '  bun:  INFORMER_BUILD_FROM_SOURCE=1 bun pm trust informer-node   (or add it to trustedDependencies)',
  );
}

export function loadAddon(): NativeAddon {
  if (addon) return addon;
  const tried = candidates();
  for (const c of tried) {
    if (c.path === null) continue;
    if (!existsSync(c.path)) {
      c.why = 'file not found';
      continue;
    }
    try {
      const loaded = require(c.path) as NativeAddon;
      registerErrorClasses(loaded);
      addon = loaded;
      loadedFrom = c.what;
      return addon;
    } catch (e) {
      c.why = `failed to load: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  throw notFound(tried);
}

/** Tells the addon which class to throw for each native status code (native/core/status.h). */
export function registerErrorClasses(target: NativeAddon): void {
  target.setErrorClasses({
    [NativeStatus.INVALID_CONFIG]: ConfigError,
    [NativeStatus.SHAPE_MISMATCH]: ShapeError,
    [NativeStatus.INVALID_VALUE]: ValueError,
    [NativeStatus.STATE_DICT]: StateDictError,
    [NativeStatus.OUT_OF_MEMORY]: OutOfMemoryError,
    [NativeStatus.INTERNAL]: InternalError,
    [NativeStatus.DISPOSED]: DisposedError,
  });
}

/** What this build and machine offer: GEMM micro-kernel, thread count, compiled backends. */
export function nativeInfo() {
  const info = loadAddon().info();
  return { ...info, platform: platformId(), addon: loadedFrom as string };
}

/** Raw kernels (GEMM, attention) for benchmarks and tests; sizes are checked natively. */
export function kernels() {
  return loadAddon().kernels;
}

/**
 * GEMM precision on the GPU, process-wide: 'fp32' (default, exact single precision), or 'tf32' /
 * 'bf16' to let cuBLAS use the tensor cores (inputs rounded; the package's own GEMM kernel, used
 * when the toolkit has no cuBLAS, always computes in fp32). ConfigError without a CUDA build.
 */
export function setGpuMatmulPrecision(precision: GpuMatmulPrecision): void {
  loadAddon().setGpuMatmulPrecision(precision);
}

/** Backends usable in this process ('cpu'; 'cuda' once the CUDA backend is built and a GPU is present). */
export function backends(): string[] {
  return loadAddon().info().backends;
}
