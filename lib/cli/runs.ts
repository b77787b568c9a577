// `informer runs ls|show|compare|mark-failed` and `informer models ls|show|lineage|alias|delete-version`:
// read (and, for the registry commands, change) the tracking store. Listings take `-o json` for tools.
import { Command } from 'commander';

import { modelLineage } from '../artifact/lineage.js';
import {
  compareRuns,
  deleteAlias,
  deleteModelVersion,
  setAlias,
  getMetricHistory,
  getModelVersion,
  getRegisteredModel,
  getRun,
  getStore,
  searchModelVersions,
  searchRegisteredModels,
  searchRuns,
  setTrackingUri,
} from '../tracking/fluent.js';
import { ConfigError } from '../errors.js';
import type { RunRecord } from '../tracking/types.js';
import { uriToPath } from '../tracking/uri.js';
import { existsSync } from 'node:fs';
import { listFiles } from '../fs/list.js';
import { join } from 'node:path';
import { fmt, textTable } from './format.js';

const storeOption = ['--mlruns <dir>', 'tracking store directory (default ./mlruns, or MLFLOW_TRACKING_URI)'] as const;
const trackingOption = [
  '--tracking-uri <uri>',
  'tracking store: a folder, file:// URI or http(s):// MLflow tracking server (default MLFLOW_TRACKING_URI, then ./mlruns)',
] as const;
const outputOption = ['-o, --output <format>', "'table' (default) or 'json'", 'table'] as const;
const asJson = (o: { output?: string }) => {
  if (o.output !== 'table' && o.output !== 'json') throw new ConfigError(`--output must be 'table' or 'json', got '${o.output}'`);
  return o.output === 'json';
};
const when = (ms: number | null) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '');

const listArtifacts = (dir: string): string[] => (existsSync(dir) ? listFiles(dir) : []);

export function runsCommand(): Command {
  const runs = new Command('runs').description('list, show and compare tracked runs');
  runs
    .command('ls')
    .description('list runs, newest first')
    .option('--experiment <name>', 'only this experiment')
    .option('--filter <expr>', 'MLflow filter, e.g. "metrics.mse < 0.5 and params.d_model = \'32\'"')
    .option('--max <n>', 'at most n runs', (v) => Number(v), 20)
    .option(...outputOption)
    .option(...storeOption)
    .option(...trackingOption)
    .action((o) => {
      const json = asJson(o);
      setTrackingUri(o.mlruns);
      const found = searchRuns({ experimentNames: o.experiment ? [o.experiment] : undefined, filter: o.filter, maxResults: o.max });
      if (json) return console.log(JSON.stringify(found, null, 2));
      if (found.length === 0) return console.log('no runs');
      const store = getStore();
      const status = (r: RunRecord) =>
        r.info.status === 'RUNNING' && store.isOrphaned(r.info.runId) ? 'RUNNING (process gone)' : r.info.status;
      console.log(
        textTable(
          ['run id', 'name', 'status', 'started', 'mse', 'naive_mse', 'skill'],
          found.map((r) => [
            r.info.runId,
            r.info.runName,
            status(r),
            when(r.info.startTime),
            r.data.metrics.mse,
            r.data.metrics.naive_mse,
            r.data.metrics.skill,
          ]),
        ),
      );
      if (found.some((r) => status(r) !== r.info.status))
        console.log('\nruns whose process is gone stay RUNNING; end them with `informer runs mark-failed`');
    });
  runs
    .command('mark-failed [runIds...]')
    .description('end RUNNING runs whose process was killed as FAILED (no ids: every such run in the store)')
    .option('--force', 'also the given runs whose process still looks alive')
    .option(...storeOption)
    .option(...trackingOption)
    .action((ids: string[], o) => {
      setTrackingUri(o.mlruns);
      const store = getStore();
      const targets = ids.length > 0 ? ids : store.orphanedRuns();
      if (targets.length === 0) return console.log('no RUNNING runs whose process is gone');
      for (const id of targets) {
        store.markFailed(id, { force: o.force === true });
        console.log(`${id}: FAILED`);
      }
    });
  runs
    .command('sync')
    .description('send what was spooled while the tracking server was unreachable (in order), and say what is left')
    .option(...trackingOption)
    .option(...storeOption)
    .action((o) => {
      setTrackingUri(o.mlruns);
      const remote = getStore().remote;
      if (!remote) throw new ConfigError('informer runs sync needs a tracking server: --tracking-uri http(s)://... or MLFLOW_TRACKING_URI');
      const before = remote.spool.pendingRuns();
      if (before.length === 0) return console.log(`nothing spooled for ${remote.uri}`);
      console.log(`sending spooled operations of ${before.length} run(s) to ${remote.uri} ...`);
      const sent = remote.flush(before);
      const left = remote.spool.pendingRuns();
      for (const id of before) console.log(`  ${id}: ${left.includes(id) ? 'still spooled' : 'sent'}`);
      if (!sent || left.length > 0) {
        process.exitCode = 1;
        console.log(`the server did not take everything; run \`informer runs sync\` again when it answers (spool: ${remote.spool.dir})`);
      }
    });
  runs
    .command('show <runId>')
    .description('params, latest metrics, tags, artifacts and plots of a run')
    .option(...storeOption)
    .option(...trackingOption)
    .action((runId: string, o) => {
      setTrackingUri(o.mlruns);
      const r = getRun(runId);
      const remote = getStore().remote;
      const artifacts = remote ? r.info.artifactUri : uriToPath(r.info.artifactUri);
      console.log(
        `run ${r.info.runId} (${r.info.runName}), experiment ${r.info.experimentId}, ${r.info.status}, ${when(r.info.startTime)} .. ${when(r.info.endTime)}`,
      );
      console.log(`\nparams:\n${textTable(['key', 'value'], Object.entries(r.data.params).sort())}`);
      const metrics = Object.keys(r.data.metrics)
        .sort()
        .map((k) => {
          const hist = getMetricHistory(runId, k);
          return [k, r.data.metrics[k], hist.length, hist.length > 1 ? `${fmt(hist[0].value)} -> ${fmt(hist[hist.length - 1].value)}` : ''];
        });
      console.log(`\nmetrics:\n${textTable(['key', 'latest', 'points', 'first -> last'], metrics)}`);
      const tags = Object.entries(r.data.tags)
        .filter(([k]) => k !== 'mlflow.log-model.history')
        .sort();
      console.log(`\ntags:\n${textTable(['key', 'value'], tags)}`);
      const files = remote ? remote.bridge.list(artifacts) : listArtifacts(artifacts);
      console.log(`\nartifacts (${artifacts}):\n${files.map((f) => `  ${f}`).join('\n') || '  (none)'}`);
      const plots = files.filter((f) => f.endsWith('.svg'));
      if (plots.length) console.log(`\nplots:\n${plots.map((f) => `  ${join(artifacts, f)}`).join('\n')}`);
    });
  runs
    .command('compare <runIds...>')
    .description('params and latest metrics of runs side by side (differing params first)')
    .option(...storeOption)
    .option(...trackingOption)
    .action((ids: string[], o) => {
      setTrackingUri(o.mlruns);
      const c = compareRuns(ids);
      const header = ['', ...c.runIds.map((id, i) => c.runNames[i] || id.slice(0, 8))];
      const params = [
        ...c.differingParams,
        ...Object.keys(c.params)
          .filter((k) => !c.differingParams.includes(k))
          .sort(),
      ];
      console.log(
        textTable(header, [
          ...params.map((k) => [`params.${k}${c.differingParams.includes(k) ? ' *' : ''}`, ...c.params[k]]),
          ...Object.keys(c.metrics)
            .sort()
            .map((k) => [`metrics.${k}`, ...c.metrics[k]]),
        ]),
      );
    });
  return runs;
}

export function modelsCommand(): Command {
  const models = new Command('models').description('list and show registered models');
  models
    .command('ls')
    .description('registered models with their latest version and aliases')
    .option(...outputOption)
    .option(...storeOption)
    .option(...trackingOption)
    .action((o) => {
      const json = asJson(o);
      setTrackingUri(o.mlruns);
      const all = searchRegisteredModels();
      if (json) return console.log(JSON.stringify(all, null, 2));
      if (all.length === 0) return console.log('no registered models');
      console.log(
        textTable(
          ['name', 'latest version', 'aliases', 'updated'],
          all.map((m) => [
            m.name,
            m.latestVersion,
            Object.entries(m.aliases)
              .map(([a, v]) => `@${a}=${v}`)
              .join(' '),
            when(m.lastUpdatedTimestamp),
          ]),
        ),
      );
    });
  models
    .command('show <name>')
    .description('versions of a registered model (or one version with --version)')
    .option('--version <v>', 'one version')
    .option(...outputOption)
    .option(...storeOption)
    .option(...trackingOption)
    .action((name: string, o) => {
      const json = asJson(o);
      setTrackingUri(o.mlruns);
      const m = getRegisteredModel(name);
      if (json) {
        const versions = o.version
          ? [getModelVersion(name, o.version)]
          : searchModelVersions(`name = '${name.replace(/'/g, "\\'")}'`).sort((a, b) => a.version - b.version);
        return console.log(JSON.stringify({ ...m, versions }, null, 2));
      }
      if (o.version) {
        const v = getModelVersion(name, o.version);
        console.log(
          textTable(
            ['field', 'value'],
            Object.entries(v).map(([k, val]) => [k, typeof val === 'object' ? JSON.stringify(val) : val]),
          ),
        );
        return;
      }
      console.log(`${m.name}: ${m.description ?? ''}`);
      const versions = searchModelVersions(`name = '${name.replace(/'/g, "\\'")}'`).sort((a, b) => a.version - b.version);
      console.log(
        textTable(
          ['version', 'run id', 'aliases', 'stage', 'created', 'source'],
          versions.map((v) => [
            v.version,
            v.runId,
            v.aliases.map((a) => `@${a}`).join(' '),
            v.currentStage,
            when(v.creationTimestamp),
            v.source,
          ]),
        ),
      );
    });
  models
    .command('lineage <model>')
    .description('where a model version came from: data -> run -> model version -> model folder (<name>/<version> or <name>/@<alias>)')
    .option('--json', 'print the lineage as JSON')
    .option(...storeOption)
    .option(...trackingOption)
    .action((ref: string, o) => {
      setTrackingUri(o.mlruns);
      const l = modelLineage(getStore(), ref);
      if (o.json) return console.log(JSON.stringify(l, null, 2));
      const lines: string[] = [];
      lines.push('data');
      if (l.datasets.length === 0) lines.push('  (no dataset inputs recorded)');
      for (const d of l.datasets) {
        const profile = d.dataset.profile ? (JSON.parse(d.dataset.profile) as Record<string, unknown>) : {};
        const range = profile.start ? `, ${String(profile.start).slice(0, 19)} .. ${String(profile.end).slice(0, 19)}` : '';
        lines.push(
          `  ${d.tags?.['mlflow.data.context'] ?? 'input'}: ${d.dataset.name} digest ${d.dataset.digest} (${profile.num_rows ?? '?'} rows${range}) from ${d.dataset.source}`,
        );
      }
      lines.push('  -> run');
      if (l.run === null) lines.push('    (the run that logged it is not in this store)');
      else {
        const r = l.run;
        lines.push(
          `    ${r.runId} '${r.runName}' in experiment ${r.experimentId}, ${r.status}, ${when(r.startTime)} .. ${when(r.endTime)}`,
        );
        const metrics = ['mse', 'mae', 'naive_mse', 'skill']
          .filter((k) => r.metrics[k] !== undefined)
          .map((k) => `${k} ${fmt(r.metrics[k])}`);
        if (metrics.length) lines.push(`    metrics: ${metrics.join(', ')}`);
        const params = ['seq_len', 'label_len', 'pred_len', 'd_model', 'n_heads', 'e_layers', 'd_layers', 'normalize', 'learning_rate']
          .filter((k) => r.params[k] !== undefined)
          .map((k) => `${k}=${r.params[k]}`);
        if (params.length) lines.push(`    params: ${params.join(' ')}`);
        for (const [k, v] of Object.entries(r.code)) lines.push(`    ${k}: ${v}`);
      }
      const m = l.model;
      lines.push('  -> model version');
      lines.push(
        `    models:/${m.name}/${m.version}${m.aliases.length ? ` (${m.aliases.map((a) => `@${a}`).join(' ')})` : ''}, registered ${when(m.creationTimestamp)}`,
      );
      for (const [k, v] of Object.entries(m.tags)) lines.push(`    ${k}: ${v}`);
      lines.push('  -> model folder');
      if (l.folder === null) lines.push(`    ${m.source} (not on this machine)`);
      else {
        lines.push(`    ${l.folder.path}`);
        lines.push(`    flavors: ${l.folder.flavors.join(', ') || '(none)'}; files: ${l.folder.files.join(', ')}`);
      }
      console.log(lines.join('\n'));
    });
  const alias = models.command('alias').description('set or delete an alias of a registered model');
  alias
    .command('set <name> <alias> <version>')
    .description('point @alias at a version (moving it if it points elsewhere)')
    .option(...storeOption)
    .option(...trackingOption)
    .action((name: string, a: string, version: string, o) => {
      setTrackingUri(o.mlruns);
      setAlias(name, a, version);
      console.log(`models:/${name}@${a} -> version ${version}`);
    });
  alias
    .command('delete <name> <alias>')
    .description('remove an alias')
    .option(...storeOption)
    .option(...trackingOption)
    .action((name: string, a: string, o) => {
      setTrackingUri(o.mlruns);
      deleteAlias(name, a);
      console.log(`deleted models:/${name}@${a}`);
    });
  models
    .command('delete-version <name> <version>')
    .description('delete one version of a registered model (its aliases go with it)')
    .option(...storeOption)
    .option(...trackingOption)
    .action((name: string, version: string, o) => {
      setTrackingUri(o.mlruns);
      deleteModelVersion(name, version);
      console.log(`deleted models:/${name}/${version}`);
    });
  return models;
}
