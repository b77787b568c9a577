// The lineage of a registered model version: data -> run -> model version -> model folder. Read from
// the registry (the version, its aliases and lineage tags), the run that logged it (params, metrics,
// dataset inputs, code and build tags) and the model folder (its flavors and files).
import * as fs from 'node:fs';

import { ValueError } from '../errors.js';
import { listFiles } from '../fs/list.js';
import { getRun } from '../tracking/reader.js';
import { getModelVersion, getModelVersionByAlias } from '../tracking/registry.js';
import type { RunStore } from '../tracking/store.js';
import type { DatasetInput, ModelVersion } from '../tracking/types.js';
import { isServerArtifactUri, uriToPath } from '../tracking/uri.js';
import { readMLmodel } from './mlmodel.js';

export interface ModelLineage {
  model: Pick<ModelVersion, 'name' | 'version' | 'aliases' | 'source' | 'runId' | 'creationTimestamp' | 'tags'>;
  run: {
    runId: string;
    runName: string;
    experimentId: string;
    status: string;
    startTime: number;
    endTime: number | null;
    params: Record<string, string>;
    metrics: Record<string, number>;
    /** Code and build: mlflow.source.* and informer.* tags. */
    code: Record<string, string>;
  } | null;
  datasets: DatasetInput[];
  /** The model folder: where it is, its MLmodel flavors and its files. */
  folder: { path: string; flavors: string[]; files: string[] } | null;
}

/** `name/3`, `name/@alias`, `models:/name/3` or `models:/name@alias` -> [name, version or '@alias']. */
export function parseModelRef(ref: string): { name: string; version?: string; alias?: string } {
  const m = /^(?:models:\/)?([^/@]+)(?:\/@?|@)([^/]+)$/.exec(ref);
  if (!m) throw new ValueError(`model reference '${ref}' must be <name>/<version>, <name>/@<alias> or models:/<name>/<version>`);
  const [, name, rest] = m as unknown as [string, string, string];
  const alias = ref.includes('@');
  return alias ? { name, alias: rest } : { name, version: rest };
}

export function modelLineage(store: RunStore, ref: string): ModelLineage {
  const r = parseModelRef(ref);
  const v = r.alias !== undefined ? getModelVersionByAlias(store, r.name, r.alias) : getModelVersion(store, r.name, r.version as string);
  const out: ModelLineage = {
    model: {
      name: v.name,
      version: v.version,
      aliases: v.aliases,
      source: v.source,
      runId: v.runId,
      creationTimestamp: v.creationTimestamp,
      tags: v.tags,
    },
    run: null,
    datasets: [],
    folder: null,
  };
  if (v.runId !== null && store.locateRun(v.runId) !== null) {
    const run = getRun(store, v.runId);
    const code = Object.fromEntries(
      Object.entries(run.data.tags).filter(([k]) => k.startsWith('mlflow.source.') || k.startsWith('informer.')),
    );
    out.run = {
      runId: run.info.runId,
      runName: run.info.runName,
      experimentId: run.info.experimentId,
      status: run.info.status,
      startTime: run.info.startTime,
      endTime: run.info.endTime,
      params: run.data.params,
      metrics: run.data.metrics,
      code,
    };
    const order = ['training', 'validation', 'test'];
    const rank = (d: DatasetInput) => {
      const i = order.indexOf(d.tags?.['mlflow.data.context'] ?? '');
      return i < 0 ? order.length : i;
    };
    out.datasets = [...run.inputs.datasetInputs].sort((a, b) => rank(a) - rank(b));
  }
  // On a server the model folder is fetched into the local mirror (kept there for later loads).
  const dir = v.storageLocation.startsWith('file:')
    ? uriToPath(v.storageLocation)
    : store.remote && isServerArtifactUri(v.storageLocation)
      ? store.remote.localArtifacts(v.storageLocation)
      : null;
  if (dir !== null && fs.existsSync(dir)) {
    let flavors: string[] = [];
    try {
      flavors = Object.keys((readMLmodel(dir).flavors as Record<string, unknown>) ?? {});
    } catch {
      flavors = [];
    }
    out.folder = { path: dir, flavors, files: listFiles(dir) };
  }
  return out;
}
