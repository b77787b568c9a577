// Loads the compiled addon once and registers the typed error classes with it, so errors raised
// in C++ arrive as ConfigError, ShapeError, ... When the addon is missing (install scripts skipped,
// as npm 12 does for dependencies by default) the error says how to build it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { GpuMatmulPrecision, NativeAddon } from './binding.js';
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

export function addonPath(): string {
  return process.env.INFORMER_ADDON_PATH ?? join(packageRoot, 'build', 'Release', 'informer.node');
}

export function loadAddon(): NativeAddon {
  if (addon) return addon;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new NativeError(
      `informer-node: the native addon was not found at ${path}. It is built by the package's install ` +
        'script; if install scripts were skipped (npm 12 skips them for dependencies unless allowed), run ' +
        '`npm pkg set --json "allowScripts[informer-node]=true"` and then `npm rebuild informer-node`.',
    );
  }
  const loaded = require(path) as NativeAddon;
  registerErrorClasses(loaded);
  addon = loaded;
  return addon;
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
  return loadAddon().info();
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
