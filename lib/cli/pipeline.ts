// `informer pipeline`: init (a commented example), validate, run (this machine), compile (Kubeflow
// Pipelines v2), step (one step, as a KFP container runs it).
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

import { Command, Option } from 'commander';

import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { examplePipeline } from '../pipeline/init.js';
import { type PipelineEvent, type PipelineResult, pipelineSpecOfRun, runPipeline } from '../pipeline/runner.js';
import { datasetIndex } from '../pipeline/dataset-io.js';
import { compiledYaml, compilePipeline } from '../pipeline/kfp.js';
import { isFleet, type PipelineSpec, readPipeline, readPipelineObject, resolvePipeline, setAtPath } from '../pipeline/spec.js';
import { runSingleStep } from '../pipeline/step-run.js';
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
      `resume with: informer pipeline run --resume ${result.runId} (add the pipeline file to change its settings)`,
    );
  }
  return lines.join('\n');
}

const ARTIFACT_FLAGS = ['dataset', 'model', 'metrics', 'registration', 'export', 'deployment'];

/** What `pipeline step` parsed: the step, then its options (for tests of the compiled command lines). */
export type StepHandler = (step: string, options: Record<string, unknown>) => void | Promise<void>;

/** The pipeline file of `pipeline step --spec`: inline JSON (what a KFP parameter carries) or a file. */
function stepSpec(o: Record<string, unknown>) {
  const text = String(o.spec);
  const overrides = {
    'training.epochs': o.epochs,
    'training.learningRate': o.learningRate,
    'gate.minSkill': o.minSkill,
    'deploy.target': o.deploy,
    'deploy.namespace': o.namespace,
    'tracking.uri': o.trackingUri,
  };
  let raw: Record<string, unknown>;
  let baseDir = process.cwd();
  if (text.trimStart().startsWith('{')) {
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`--spec: not valid JSON (${(e as Error).message})`, { cause: e });
    }
    for (const [k, v] of Object.entries(overrides)) if (v !== undefined) setAtPath(raw, k, v);
  } else {
    raw = readPipelineObject(text, overrides);
    baseDir = dirname(resolve(text)); // a file's relative paths are relative to it
  }
  if (o.data !== undefined) {
    const d = String(o.data);
    const data = { ...(raw.data as Record<string, unknown>) };
    delete data.path;
    delete data.paths;
    if (d.trimStart().startsWith('[')) data.paths = JSON.parse(d);
    else data.path = d;
    raw.data = data;
  }
  return resolvePipeline(raw, baseDir, '--spec');
}

async function runStepCommand(step: string, o: Record<string, unknown>): Promise<void> {
  const spec = stepSpec(o);
  setTrackingUri(spec.tracking.uri);
  // KFP stops a pod with SIGTERM: the step stops after its current training step and its run and
  // the job's parent run end KILLED (instead of staying RUNNING).
  endRunsOnExit({ signals: false });
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) process.kill(process.pid, sig);
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal);
    process.once(sig, () => process.exit(130));
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const inputs: Record<string, string> = {};
  const outputs: Record<string, string> = {};
  for (const a of [...ARTIFACT_FLAGS, 'global_model']) {
    const camel = a.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
    const i = o[`input${camel[0]!.toUpperCase()}${camel.slice(1)}`];
    const out = o[`output${camel[0]!.toUpperCase()}${camel.slice(1)}`];
    if (typeof i === 'string') inputs[a] = i;
    if (typeof out === 'string') outputs[a] = out;
  }
  const report = await runSingleStep({
    step,
    spec,
    store: getStore(),
    jobId: String(o.jobId ?? `local-${Date.now()}`),
    ...(o.jobName !== undefined ? { jobName: String(o.jobName) } : {}),
    ...(o.series !== undefined ? { series: String(o.series) } : {}),
    inputs,
    outputs,
    signal: abort.signal,
  });
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal);
  if (step === 'preprocess' && typeof o.outputSeriesList === 'string') {
    const ids = datasetIndex(outputs.dataset!).map((e) => e.series ?? '');
    writeFileAtomic(o.outputSeriesList, JSON.stringify(ids));
  }
  console.log(`${step}: ${report.summary}`);
  for (const [k, v] of Object.entries(report.uris)) console.log(`  ${k}: ${v}`);
}

export function pipelineCommand(handlers: { step?: StepHandler } = {}): Command {
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
    .argument('[file]', 'pipeline YAML or JSON (with --resume: default, the settings the run started with)')
    .option('--resume <run id>', 'continue a failed or interrupted pipeline run from its failed step')
    .option('--no-reuse', 'run every step even when a finished run with the same inputs and settings exists')
    .addOption(new Option('--until <step>', 'stop after this step').choices([...STEP_NAMES]))
    .addOption(new Option('--deploy <target>', 'override deploy.target').choices(['none', 'local', 'kubernetes']))
    .option('--min-skill <x>', 'override gate.minSkill', num('min-skill'))
    .option('--concurrency <n>', 'override fleet.concurrency (models trained at once)', int('concurrency'))
    .option('--namespace <ns>', 'override deploy.namespace (kubernetes)')
    .option('--mlruns <dir>', 'tracking store (default: tracking.uri, MLFLOW_TRACKING_URI or ./mlruns)')
    .option('--tracking-uri <uri>', 'tracking store: a folder, file:// URI or http(s):// MLflow tracking server (as --mlruns)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (file: string | undefined, o: Record<string, unknown>) => {
      const overrides = {
        'deploy.target': o.deploy,
        'gate.minSkill': o.minSkill,
        'fleet.concurrency': o.concurrency,
        'deploy.namespace': o.namespace,
      };
      let spec: PipelineSpec;
      if (file !== undefined) spec = readPipeline(file, overrides);
      else if (o.resume !== undefined) {
        setTrackingUri(o.mlruns as string | undefined);
        spec = pipelineSpecOfRun(getStore(), String(o.resume));
        for (const [k, v] of Object.entries(overrides)) if (v !== undefined) setAtPath(spec as never, k, v);
        if (spec.deploy.target === 'kubernetes' && !spec.export.formats.includes('kserve'))
          throw new ConfigError(
            "--deploy kubernetes needs the 'kserve' export format, which this pipeline run did not have; pass the pipeline file",
          );
      } else throw new ConfigError('pipeline run needs a pipeline file (or --resume <run id>)');
      setTrackingUri((o.mlruns as string | undefined) ?? spec.tracking.uri);
      // Ctrl-C / SIGTERM stop the running step after its current training step; the step and the
      // pipeline run end KILLED and --resume continues. A second signal ends the process at once.
      endRunsOnExit({ signals: false });
      const store = getStore();
      process.stderr.write(
        `informer pipeline ${spec.name}: ${spec.data.paths.length === 1 ? spec.data.paths[0] : `${spec.data.paths.length} files`}${isFleet(spec) ? ' (fleet: one model per series)' : ''}; store ${store.trackingUri}\n`,
      );
      const abort = new AbortController();
      const onSignal = (sig: NodeJS.Signals) => {
        if (abort.signal.aborted) process.kill(process.pid, sig);
        process.stderr.write(`\n${sig}: stopping after the current step (again to quit now)\n`);
        for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal);
        process.once(sig, () => process.exit(130));
        abort.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const result = await runPipeline(spec, {
        store,
        resume: o.resume as string | undefined,
        reuse: o.reuse !== false,
        until: o.until as never,
        signal: abort.signal,
        onEvent: progressPrinter(),
      });
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal);
      if (o.json) console.log(JSON.stringify(result, null, 2));
      else console.log(summaryText(result, store.trackingUri));
      // Exit codes: 0 finished, 1 a step failed, 3 the gate failed, 130 interrupted.
      if (result.status === 'KILLED') process.exitCode = 130;
      else if (result.status !== 'FINISHED') process.exitCode = result.error?.code === 'ERR_INFORMER_PIPELINE_GATE' ? 3 : 1;
    });
  cmd
    .command('compile')
    .description('write the pipeline as a Kubeflow Pipelines v2 compiled pipeline (IR YAML) to upload to KFP')
    .argument('<file>', 'pipeline YAML or JSON')
    .option('--image <image>', 'container image with informer-node installed (default: kfp.image)')
    .option('--tracking-uri <uri>', 'default of the tracking_uri parameter: where every step logs (a path on a shared volume)')
    .option('--data <path>', 'default of the data parameter: the data as the pods see it (default: the file named in the pipeline)')
    .option('-o, --output <file>', 'where to write it (default: <name>.kfp.yaml)')
    .action((file: string, o: Record<string, unknown>) => {
      const raw = readPipelineObject(file);
      const spec = readPipeline(file);
      const compiled = compilePipeline(spec, raw, {
        ...(o.image !== undefined ? { image: String(o.image) } : {}),
        ...(o.trackingUri !== undefined ? { trackingUri: String(o.trackingUri) } : {}),
        ...(o.data !== undefined ? { data: String(o.data) } : {}),
      });
      if (spec.deploy.target === 'local')
        process.stderr.write(
          "note: deploy.target local has no meaning in KFP pods; the compiled deploy_target defaults to 'none' (or kubernetes)\n",
        );
      const out = String(o.output ?? `${spec.name}.kfp.yaml`);
      writeFileAtomic(out, compiledYaml(compiled));
      const tasks = Object.keys((compiled.root as { dag: { tasks: object } }).dag.tasks);
      console.log(
        `wrote ${out}: KFP v2 pipeline '${spec.name}' (schemaVersion 2.1.0), tasks ${tasks.join(', ')}${isFleet(spec) ? ` (a ParallelFor over the series, parallelism ${spec.fleet.parallelism})` : ''}`,
      );
    });
  const step = cmd
    .command('step')
    .description('run one step as a Kubeflow Pipelines container does (inputs and outputs are folders)')
    .argument('<step>', `one of ${[...STEP_NAMES, 'train-global'].join(', ')}`)
    .requiredOption('--spec <json or file>', 'the pipeline: inline JSON (the KFP parameter) or a pipeline file')
    .option('--data <path>', 'override the data: a path, or a JSON list of paths')
    .option('--tracking-uri <uri>', 'tracking store every step shares')
    .option('--job-id <id>', 'the KFP pipeline job id (the steps of one job share a parent run)')
    .option('--job-name <name>', 'the KFP pipeline job name (the parent run name)')
    .option('--series <id>', 'only this series of a fleet (one ParallelFor iteration)')
    .option('--epochs <n>', 'override training.epochs', int('epochs'))
    .option('--learning-rate <x>', 'override training.learningRate', num('learning-rate'))
    .option('--min-skill <x>', 'override gate.minSkill', num('min-skill'))
    .addOption(new Option('--deploy <target>', 'override deploy.target').choices(['none', 'local', 'kubernetes']))
    .option('--namespace <ns>', 'override deploy.namespace')
    .option('--output-series-list <file>', 'preprocess: write the series ids (JSON list) here');
  for (const a of [...ARTIFACT_FLAGS, 'global_model']) {
    const flag = a.replace(/_/g, '-');
    step.option(`--input-${flag} <dir>`, `input artifact ${a}`);
    if (a !== 'global_model') step.option(`--output-${flag} <dir>`, `output artifact ${a}`);
  }
  step.action(async (name: string, o: Record<string, unknown>) => {
    if (![...STEP_NAMES, 'train-global'].includes(name as never))
      throw new ConfigError(`unknown step ${JSON.stringify(name)}; steps: ${[...STEP_NAMES, 'train-global'].join(', ')}`);
    await (handlers.step ?? runStepCommand)(name, o);
  });
  return cmd;
}
