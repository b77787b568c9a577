// `informer pipeline`: init (a commented example), validate, run (this machine), compile (Kubeflow
// Pipelines v2), step (one step, as a KFP container runs it).
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

import { Command, Option } from 'commander';

import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { examplePipeline } from '../pipeline/init.js';
import { type PipelineEvent, type PipelineResult, runPipeline } from '../pipeline/runner.js';
import { isFleet, readPipeline } from '../pipeline/spec.js';
import { STEP_NAMES } from '../pipeline/step.js';
import { endRunsOnExit, getStore, setTrackingUri } from '../tracking/fluent.js';
import { duration } from './format.js';
import { int, num, BUNDLED_DATA } from './train.js';

/** Prints a pipeline's progress: one block per step, its log lines indented. */
export function progressPrinter(stream: NodeJS.WritableStream = process.stderr): (e: PipelineEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'start':
        stream.write(`pipeline run ${e.runId}${e.resumed ? ' (resumed)' : ''}: ${e.steps.join(' -> ')}\n`);
        break;
      case 'step-start':
        stream.write(`[${e.index}/${e.total}] ${e.step} (run ${e.runId.slice(0, 8)})\n`);
        break;
      case 'step-log':
        stream.write(`${e.line}\n`);
        break;
      case 'step-end': {
        const r = e.record;
        const how =
          r.status === 'REUSED'
            ? `reused run ${r.reusedFrom?.slice(0, 8)} (same inputs and settings)`
            : r.status === 'KEPT'
              ? 'kept from the resumed run'
              : r.status === 'FAILED'
                ? 'FAILED'
                : `done in ${duration(r.seconds)}`;
        if (r.status === 'KEPT') stream.write(`[-] ${r.step}: ${how}: ${r.summary}\n`);
        else stream.write(`    ${r.status === 'FAILED' ? `FAILED: ${r.error?.name}: ${r.error?.message}` : `${r.summary}; ${how}`}\n`);
        break;
      }
      case 'end':
        break;
    }
  };
}

/** The end-of-run summary: status, each step, every URI. */
export function summaryText(result: PipelineResult, storeRoot: string): string {
  const lines = [
    '',
    `pipeline ${result.status} in ${duration(result.seconds)}: run ${result.runId} (store ${storeRoot})`,
    ...result.steps.map((s) => `  ${s.step.padEnd(10)} ${s.status.padEnd(8)} ${duration(s.seconds).padStart(6)}  run ${s.runId}`),
    'URIs:',
    ...Object.entries(result.uris).map(([k, v]) => `  ${k}: ${v}`),
  ];
  if (result.error) {
    lines.push(
      '',
      `step ${result.error.step} failed: ${result.error.name}: ${result.error.message}`,
      `resume with: informer pipeline run <file> --resume ${result.runId}`,
    );
  }
  return lines.join('\n');
}

export function pipelineCommand(): Command {
  const cmd = new Command('pipeline').description(
    'preprocess -> train -> evaluate -> register -> export -> deploy, on this machine or compiled for Kubeflow Pipelines',
  );
  cmd
    .command('init')
    .description('write a commented example pipeline for the bundled Alibaba pod CPU trace')
    .argument('[file]', 'where to write it', 'pipeline.yaml')
    .option('--force', 'overwrite an existing file')
    .action((file: string, o: { force?: boolean }) => {
      const path = resolve(file);
      if (existsSync(path) && !o.force) throw new ConfigError(`${file} exists; pass --force to overwrite it`);
      let data = relative(dirname(path), BUNDLED_DATA);
      if (!data.startsWith('.')) data = `./${data}`;
      writeFileAtomic(path, examplePipeline(data));
      readPipeline(path); // the example must itself be valid
      console.log(`wrote ${file}; run it with: informer pipeline run ${file}`);
    });
  cmd
    .command('validate')
    .description('check a pipeline file against its schema and print the resolved settings')
    .argument('<file>', 'pipeline YAML or JSON')
    .action((file: string) => {
      console.log(JSON.stringify(readPipeline(file), null, 2));
    });
  cmd
    .command('run')
    .description('run the pipeline here: a parent run with one child run per step')
    .argument('<file>', 'pipeline YAML or JSON')
    .option('--resume <run id>', 'continue a failed or interrupted pipeline run from its failed step')
    .option('--no-reuse', 'run every step even when a finished run with the same inputs and settings exists')
    .addOption(new Option('--until <step>', 'stop after this step').choices([...STEP_NAMES]))
    .addOption(new Option('--deploy <target>', 'override deploy.target').choices(['none', 'local', 'kubernetes']))
    .option('--min-skill <x>', 'override gate.minSkill', num('min-skill'))
    .option('--concurrency <n>', 'override fleet.concurrency (models trained at once)', int('concurrency'))
    .option('--namespace <ns>', 'override deploy.namespace (kubernetes)')
    .option('--mlruns <dir>', 'tracking store (default: tracking.uri, MLFLOW_TRACKING_URI or ./mlruns)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (file: string, o: Record<string, unknown>) => {
      const spec = readPipeline(file, {
        'deploy.target': o.deploy,
        'gate.minSkill': o.minSkill,
        'fleet.concurrency': o.concurrency,
        'deploy.namespace': o.namespace,
      });
      setTrackingUri((o.mlruns as string | undefined) ?? spec.tracking.uri);
      endRunsOnExit();
      const store = getStore();
      process.stderr.write(
        `informer pipeline ${spec.name}: ${spec.data.paths.length === 1 ? spec.data.paths[0] : `${spec.data.paths.length} files`}${isFleet(spec) ? ' (fleet: one model per series)' : ''}; store ${store.root}\n`,
      );
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      const result = await runPipeline(spec, {
        store,
        resume: o.resume as string | undefined,
        reuse: o.reuse !== false,
        until: o.until as never,
        signal: abort.signal,
        onEvent: progressPrinter(),
      });
      process.off('SIGINT', onSignal);
      if (o.json) console.log(JSON.stringify(result, null, 2));
      else console.log(summaryText(result, store.root));
      if (result.status !== 'FINISHED') process.exitCode = result.error?.code === 'ERR_INFORMER_PIPELINE_GATE' ? 3 : 1;
    });
  return cmd;
}
