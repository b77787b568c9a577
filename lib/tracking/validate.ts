// Input checks, mirroring MLflow's validation.py: keys become file paths inside the store, so a key
// that could escape its folder (`../x`, `/etc/x`, `a//b`) or is not in MLflow's character set is
// refused before anything touches the disk.
import { ValueError } from '../errors.js';

export const MAX_KEY_LENGTH = 250;
export const MAX_PARAM_VALUE_LENGTH = 6000;
export const MAX_TAG_VALUE_LENGTH = 8000;
export const MAX_EXPERIMENT_NAME_LENGTH = 500;
export const MAX_ALIAS_LENGTH = 255;

const KEY_CHARS = /^[A-Za-z0-9_\-. /]+$/;
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,255}$/;
const EXPERIMENT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ALIAS = /^[A-Za-z0-9_-]+$/;

/** True when every '/'-separated segment is a real name (no empty, '.' or '..' segment). */
function isCleanRelativePath(p: string): boolean {
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** Checks a param, metric or tag key (MLflow's rules: `[A-Za-z0-9_-. /]`, no path tricks, <= 250). */
export function validateKey(kind: 'param' | 'metric' | 'tag', key: unknown): string {
  if (typeof key !== 'string' || key === '') throw new ValueError(`${kind} key must be a non-empty string, got ${JSON.stringify(key)}`);
  if (key.length > MAX_KEY_LENGTH) {
    throw new ValueError(`${kind} key '${key.slice(0, 40)}...' is ${key.length} characters long; the limit is ${MAX_KEY_LENGTH}`);
  }
  if (!KEY_CHARS.test(key)) {
    throw new ValueError(
      `invalid ${kind} key '${key}': keys may only contain letters, digits, underscores (_), dashes (-), periods (.), spaces ( ) and slashes (/)`,
    );
  }
  if (!isCleanRelativePath(key)) {
    throw new ValueError(
      `invalid ${kind} key '${key}': it would not name a file inside the run (no leading or doubled '/', no '.' or '..' segments)`,
    );
  }
  return key;
}

/** Checks a param value (already converted to text) against MLflow's 6000-character limit. */
export function validateParamValue(key: string, value: string): string {
  if (value.length > MAX_PARAM_VALUE_LENGTH) {
    throw new ValueError(`param '${key}' value is ${value.length} characters long; the limit is ${MAX_PARAM_VALUE_LENGTH}`);
  }
  return value;
}

/** Checks a tag value (already converted to text) against the 8000-character limit. */
export function validateTagValue(key: string, value: string): string {
  if (value.length > MAX_TAG_VALUE_LENGTH) {
    throw new ValueError(`tag '${key}' value is ${value.length} characters long; the limit is ${MAX_TAG_VALUE_LENGTH}`);
  }
  return value;
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Checks a metric point. NaN and ±Infinity are accepted, as in MLflow (written `nan`, `inf`, `-inf`). */
export function validateMetric(key: string, value: unknown, step: unknown, timestamp: unknown): void {
  if (typeof value !== 'number') {
    throw new ValueError(`metric '${key}' value must be a number, got ${typeof value} ${describe(value)}`);
  }
  if (typeof step !== 'number' || !Number.isSafeInteger(step)) {
    throw new ValueError(`metric '${key}' step must be an integer, got ${describe(step)}`);
  }
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new ValueError(`metric '${key}' timestamp must be a non-negative integer (epoch milliseconds), got ${describe(timestamp)}`);
  }
}

/** Checks a run id before it is used as a folder name. */
export function validateRunId(runId: unknown): string {
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) throw new ValueError(`invalid run id ${JSON.stringify(runId)}`);
  return runId;
}

/** Checks an experiment id before it is used as a folder name. */
export function validateExperimentId(id: unknown): string {
  if (typeof id !== 'string' || !EXPERIMENT_ID.test(id)) throw new ValueError(`invalid experiment id ${JSON.stringify(id)}`);
  return id;
}

/** Checks an experiment name (any text, 1 to 500 characters). */
export function validateExperimentName(name: unknown): string {
  if (typeof name !== 'string' || name === '')
    throw new ValueError(`experiment name must be a non-empty string, got ${JSON.stringify(name)}`);
  if (name.length > MAX_EXPERIMENT_NAME_LENGTH) {
    throw new ValueError(`experiment name is ${name.length} characters long; the limit is ${MAX_EXPERIMENT_NAME_LENGTH}`);
  }
  return name;
}

/** Checks a registered model name: it is a folder name under models/, so no separators, '%' or dots-only. */
export function validateModelName(name: unknown): string {
  if (typeof name !== 'string' || name === '')
    throw new ValueError(`registered model name must be a non-empty string, got ${JSON.stringify(name)}`);
  if (/[/\\%]/.test(name) || name === '.' || name === '..' || [...name].some((c) => c.charCodeAt(0) < 0x20)) {
    throw new ValueError(
      `invalid registered model name '${name}': it may not contain '/', '\\', '%' or control characters, nor be '.' or '..'`,
    );
  }
  if (name.length > MAX_KEY_LENGTH)
    throw new ValueError(`registered model name is ${name.length} characters long; the limit is ${MAX_KEY_LENGTH}`);
  return name;
}

/** Checks a registered-model alias (MLflow: `[A-Za-z0-9_-]`, not `latest`, not a version like `v3`). */
export function validateAlias(alias: unknown): string {
  if (typeof alias !== 'string' || !ALIAS.test(alias)) {
    throw new ValueError(
      `invalid alias ${JSON.stringify(alias)}: aliases may only contain letters, digits, underscores (_) and dashes (-)`,
    );
  }
  if (alias.length > MAX_ALIAS_LENGTH) throw new ValueError(`alias is ${alias.length} characters long; the limit is ${MAX_ALIAS_LENGTH}`);
  if (alias.toLowerCase() === 'latest') throw new ValueError("the alias 'latest' is reserved");
  if (/^[vV]\d+$/.test(alias)) throw new ValueError(`the alias '${alias}' is reserved: it looks like a version`);
  return alias;
}

/** Checks an artifact path inside a run (relative, no '.' or '..' segments). Returns it without a trailing '/'. */
export function validateArtifactPath(p: unknown): string {
  if (typeof p !== 'string' || p === '') throw new ValueError(`artifact path must be a non-empty string, got ${JSON.stringify(p)}`);
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed.includes('\\') || trimmed.includes('\0') || !isCleanRelativePath(trimmed)) {
    throw new ValueError(`invalid artifact path '${p}': it must be relative, use '/' separators and have no '.' or '..' segments`);
  }
  return trimmed;
}

/** Checks a model version number. */
export function validateVersion(version: unknown): number {
  const v = typeof version === 'string' && /^\d+$/.test(version) ? Number(version) : version;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new ValueError(`model version must be a positive integer, got ${JSON.stringify(version)}`);
  }
  return v;
}
