// Heavy and optional dependencies load on first use, not when the package is imported: plots
// (vega), Parquet (parquet-wasm), ONNX protobufs (onnx-proto), YAML and JSON-schema validation,
// the HTTP server and onnxruntime. A missing optional package is a ConfigError saying what to install.
import { createRequire } from 'node:module';

import { ConfigError } from './errors.js';

const require = createRequire(import.meta.url);

/**
 * The dependencies that load on first use only (and their heavy transitive ones): importing the
 * package or running `informer --help` must load none of them (test/architecture.test.js and
 * bench/import.bench.mjs check it).
 */
export const LAZY_DEPENDENCIES: readonly string[] = Object.freeze([
  'vega',
  'vega-lite',
  'parquet-wasm',
  'apache-arrow',
  'arrow-js-ffi',
  'onnxruntime-node',
  'onnx-proto',
  'protobufjs',
  'ajv',
  'yaml',
  'prom-client',
  'pino',
  'uplot',
  '@kubernetes/client-node',
]);

function missing(name: string, e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && String((e as Error).message).includes(name);
}

function notInstalled(name: string, why: string, e: unknown): ConfigError {
  return new ConfigError(`${why} needs the package '${name}', which is not installed; add it with: npm install ${name}`, { cause: e });
}

/** A CommonJS dependency, loaded (once, cached by Node) the first time it is needed. */
export function requireLazily<T>(name: string, why: string): T {
  try {
    return require(name) as T;
  } catch (e) {
    throw missing(name, e) ? notInstalled(name, why, e) : e;
  }
}

/** An ES module dependency, imported the first time it is needed. */
export async function importLazily<T>(name: string, why: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (e) {
    throw missing(name, e) ? notInstalled(name, why, e) : e;
  }
}
