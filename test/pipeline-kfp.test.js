// `informer pipeline compile`: the compiled Kubeflow Pipelines v2 IR for one series and for a fleet
// parses as ml_pipelines.PipelineSpec (../shared/schemas/kfp/pipeline_spec.proto, unknown fields
// rejected; deploymentSpec as PipelineDeploymentConfig), passes the API server's reference checks,
// and every container's command line is one the CLI's own parser accepts. Then the single-series
// pipeline is run as KFP would run it: each task's command line, placeholders filled with folders.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import YAML from 'yaml';

import { pipelineCommand } from '../dist/cli/pipeline.js';
import { compiledYaml, compilePipeline } from '../dist/pipeline/kfp.js';
import { pipelineSpecProblems } from '../dist/pipeline/kfp-check.js';
import { readPipeline, readPipelineObject } from '../dist/pipeline/spec.js';
import { getModelVersionByAlias } from '../dist/tracking/registry.js';
import { searchRuns } from '../dist/tracking/reader.js';
import { RunStore } from '../dist/tracking/store.js';
import { checkMessage, loadKfpProto } from './helpers/proto-json.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const KFP = join(root, '..', 'shared', 'schemas', 'kfp');
const haveProto = existsSync(join(KFP, 'pipeline_spec.proto'));

function tmp(t) {
  const dir = mkdtempSync(join(tmpdir(), 'informer-kfp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeData(dir) {
  const lines = ['date,load'];
  for (let i = 0; i < 360; i++)
    lines.push(
      `${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},${(10 + 3 * Math.sin(i / 9.5) + ((i * 7919) % 13) / 40).toFixed(4)}`,
    );
  writeFileSync(join(dir, 'wave.csv'), `${lines.join('\n')}\n`);
  const long = ['date,load,pod'];
  for (const pod of ['pod-a', 'pod-b', 'pod-c'])
    for (let i = 0; i < 300; i++)
      long.push(`${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},${(5 + Math.sin(i / 7 + pod.length)).toFixed(4)},${pod}`);
  writeFileSync(join(dir, 'pods.csv'), `${long.join('\n')}\n`);
}

const MODEL = { seqLen: 12, labelLen: 6, predLen: 3, dModel: 8, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 16 };

function pipelineFile(dir, name, extra) {
  const spec = {
    name,
    data: { path: 'wave.csv', target: 'load', features: 'S', freq: '1min' },
    model: MODEL,
    training: { epochs: 1, batchSize: 16, learningRate: 0.003, maxStepsPerEpoch: 5 },
    gate: { minSkill: -100 },
    export: { formats: ['mlflow', 'kserve'], storageUri: 's3://models/wave' },
    kfp: { image: 'registry.example.com/informer-node:0.1.0', retries: 3, cpu: 2, memory: '1Gi' },
    ...extra,
  };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, YAML.stringify(spec));
  return file;
}

function compileFile(file, opts = {}) {
  return YAML.parse(compiledYaml(compilePipeline(readPipeline(file), readPipelineObject(file), opts)));
}

/** Fills a container's placeholders: parameters with the pipeline defaults, artifacts with folders. */
function fill(text, params, artifactDir, outParamFile) {
  return text
    .replace(/\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}/g, (_, p) => {
      const v = params[p];
      return typeof v === 'string' ? v : JSON.stringify(v);
    })
    .replace(/\{\{\$\.(inputs|outputs)\.artifacts\['([^']+)'\]\.path\}\}/g, (_, __, a) => artifactDir(a))
    .replace(/\{\{\$\.outputs\.parameters\['([^']+)'\]\.output_file\}\}/g, (_, p) => outParamFile(p))
    .replace('{{$.pipeline_job_uuid}}', 'job-1234')
    .replace('{{$.pipeline_job_name}}', 'wave-job');
}

t.test(
  'the compiled pipelines parse as ml_pipelines.PipelineSpec with no unknown field',
  { skip: !haveProto && 'no ../shared/schemas/kfp' },
  async (t) => {
    const dir = tmp(t);
    writeData(dir);
    const proto = loadKfpProto(KFP);
    const PipelineSpec = proto.lookupType('ml_pipelines.PipelineSpec');
    const Deployment = proto.lookupType('ml_pipelines.PipelineDeploymentConfig');
    const single = compileFile(pipelineFile(dir, 'wave', {}), { trackingUri: '/mnt/mlruns' });
    const fleet = compileFile(
      pipelineFile(dir, 'pods', {
        data: { path: 'pods.csv', seriesColumn: 'pod', target: 'load', features: 'S' },
        fleet: { parallelism: 2, global: true },
      }),
    );
    for (const [name, c] of [
      ['single', single],
      ['fleet', fleet],
    ]) {
      t.same(checkMessage(PipelineSpec, c), [], `${name}: a PipelineSpec`);
      t.same(checkMessage(Deployment, c.deploymentSpec), [], `${name}: deploymentSpec is a PipelineDeploymentConfig`);
      t.same(pipelineSpecProblems(c), [], `${name}: the API server's checks pass`);
      t.equal(c.schemaVersion, '2.1.0');
      // Encoded to the binary form (Struct/Value fields as JSON objects), the components survive.
      const { deploymentSpec, root: r, components, ...rest } = c;
      const msg = PipelineSpec.fromObject({
        ...rest,
        components: Object.fromEntries(Object.keys(components).map((k) => [k, { executorLabel: components[k].executorLabel ?? '' }])),
      });
      t.same(Object.keys(PipelineSpec.decode(PipelineSpec.encode(msg).finish()).components).sort(), Object.keys(c.components).sort());
      t.ok(deploymentSpec && r);
    }
    // The reference file from the KFP SDK parses too (the checker is not too strict), and a typo does not.
    const ref = YAML.parse(readFileSync(join(KFP, '..', 'kfp-two_step_pipeline_containerized.yaml'), 'utf8'));
    t.same(checkMessage(PipelineSpec, ref), []);
    t.same(pipelineSpecProblems(ref), []);
    const typo = structuredClone(single);
    typo.root.dag.tasks.train.retryPolcy = {};
    t.match(checkMessage(PipelineSpec, typo), [/retryPolcy: unknown field of PipelineTaskSpec/]);
    const typo2 = structuredClone(single);
    typo2.deploymentSpec.executors['exec-train'].container.resources.cpuRequets = '1';
    t.match(checkMessage(Deployment, typo2.deploymentSpec), [/cpuRequets: unknown field of ResourceSpec/]);

    // Single series: six tasks in a chain, typed parameters with defaults, artifacts between them.
    t.same(Object.keys(single.root.dag.tasks), ['preprocess', 'train', 'evaluate', 'register', 'export', 'deploy']);
    const params = single.root.inputDefinitions.parameters;
    t.same(params.tracking_uri, { parameterType: 'STRING', defaultValue: '/mnt/mlruns', isOptional: true });
    t.same(params.min_skill, { parameterType: 'NUMBER_DOUBLE', defaultValue: -100, isOptional: true });
    t.same(params.epochs, { parameterType: 'NUMBER_INTEGER', defaultValue: 1, isOptional: true });
    t.same(single.root.dag.tasks.train.inputs.artifacts.dataset, {
      taskOutputArtifact: { producerTask: 'preprocess', outputArtifactKey: 'dataset' },
    });
    t.same(single.root.dag.tasks.evaluate.dependentTasks, ['preprocess', 'train']);
    t.same(single.components['comp-train'].outputDefinitions.artifacts.model.artifactType, {
      schemaTitle: 'system.Model',
      schemaVersion: '0.0.1',
    });
    t.same(single.components['comp-evaluate'].outputDefinitions.artifacts.metrics.artifactType.schemaTitle, 'system.Metrics');
    t.same(single.root.dag.tasks.train.retryPolicy, {
      maxRetryCount: 3,
      backoffDuration: '30s',
      backoffFactor: 2,
      backoffMaxDuration: '3600s',
    });
    const ctr = single.deploymentSpec.executors['exec-train'].container;
    t.equal(ctr.image, 'registry.example.com/informer-node:0.1.0');
    t.same(ctr.resources, { resourceCpuRequest: '2', resourceCpuLimit: '2', resourceMemoryRequest: '1Gi', resourceMemoryLimit: '1Gi' });
    t.same(ctr.command, ['informer', 'pipeline', 'step']);
    t.equal(single.root.dag.tasks.deploy.cachingOptions.enableCache, false, 'deploy always runs');

    // Fleet: preprocess, the global model, and a ParallelFor over preprocess's series list.
    t.same(Object.keys(fleet.root.dag.tasks), ['preprocess', 'train-global', 'for-loop-1']);
    const loop = fleet.root.dag.tasks['for-loop-1'];
    t.same(loop.parameterIterator, {
      itemInput: 'pipelinechannel--preprocess-series_list-loop-item',
      items: { inputParameter: 'pipelinechannel--preprocess-series_list' },
    });
    t.same(loop.iteratorPolicy, { parallelismLimit: 2 });
    t.same(Object.keys(fleet.components['comp-for-loop-1'].dag.tasks), ['train', 'evaluate', 'register', 'export', 'deploy']);
    t.same(fleet.components['comp-for-loop-1'].dag.tasks.train.inputs.parameters.series, {
      componentInputParameter: 'pipelinechannel--preprocess-series_list-loop-item',
    });
    t.same(fleet.components['comp-for-loop-1'].dag.tasks.evaluate.inputs.artifacts.global_model, {
      componentInputArtifact: 'pipelinechannel--train-global-model',
    });
  },
);

t.test("the API server's checks catch broken references and missing inputs", async (t) => {
  const dir = tmp(t);
  writeData(dir);
  const c = compileFile(pipelineFile(dir, 'wave', {}));
  const broken = (mutate, re) => {
    const x = structuredClone(c);
    mutate(x);
    t.match(pipelineSpecProblems(x).join('\n'), re);
  };
  broken((x) => (x.schemaVersion = '3.0.0'), /schemaVersion must be one of 2\.0\.0, 2\.1\.0/);
  broken((x) => (x.pipelineInfo.name = 'Wave_1'), /pipelineInfo\.name must be lower-case/);
  broken(
    (x) => (x.root.dag.tasks.train.componentRef.name = 'comp-trian'),
    /root\.dag\.tasks\.train: componentRef "comp-trian" is not a component/,
  );
  broken(
    (x) => delete x.deploymentSpec.executors['exec-evaluate'],
    /components\.comp-evaluate: executor exec-evaluate is not in deploymentSpec\.executors/,
  );
  broken(
    (x) => delete x.root.dag.tasks.train.inputs.artifacts.dataset,
    /root\.dag\.tasks\.train: required input artifact 'dataset' of comp-train is not given/,
  );
  broken((x) => delete x.root.dag.tasks.evaluate.inputs.parameters.min_skill, /required input parameter 'min_skill' of comp-evaluate/);
  broken(
    (x) => (x.root.dag.tasks.train.inputs.artifacts.dataset.taskOutputArtifact.producerTask = 'prep'),
    /producer task prep is not in the same DAG/,
  );
  broken((x) => (x.root.dag.tasks.train.dependentTasks = []), /producer preprocess is not in dependentTasks/);
  broken(
    (x) => (x.root.dag.tasks.train.inputs.parameters.epochs = { componentInputParameter: 'epoch' }),
    /epoch is not a parameter of root/,
  );
  broken((x) => (x.root.dag.tasks.preprocess.dependentTasks = ['deploy']), /the task dependencies form a cycle/);
  broken(
    (x) => x.deploymentSpec.executors['exec-train'].container.args.push("{{$.inputs.parameters['nope']}}"),
    /placeholder .*'nope'.* names no inputs parameters/,
  );
});

t.test("every container's command line parses with the CLI's own parser", async (t) => {
  const dir = tmp(t);
  writeData(dir);
  for (const c of [
    compileFile(pipelineFile(dir, 'wave', {})),
    compileFile(
      pipelineFile(dir, 'pods', {
        data: { path: 'pods.csv', seriesColumn: 'pod', target: 'load', features: 'S' },
        fleet: { global: true },
      }),
    ),
  ]) {
    const params = Object.fromEntries(Object.entries(c.root.inputDefinitions.parameters).map(([k, v]) => [k, v.defaultValue]));
    params.series = 'pod-a';
    for (const [name, e] of Object.entries(c.deploymentSpec.executors)) {
      const argv = e.container.args.map((a) =>
        fill(
          a,
          params,
          (art) => `/tmp/artifacts/${art}`,
          (p) => `/tmp/params/${p}`,
        ),
      );
      t.same(e.container.command, ['informer', 'pipeline', 'step']);
      const seen = [];
      const cmd = pipelineCommand({ step: (step, o) => seen.push([step, o]) });
      cmd.exitOverride();
      for (const sub of cmd.commands) sub.exitOverride();
      await cmd.parseAsync(['step', ...argv], { from: 'user' });
      t.equal(seen.length, 1, `${name}: parsed`);
      const [step, o] = seen[0];
      t.equal(`exec-${step}`, name);
      t.equal(JSON.parse(o.spec).name, c.pipelineInfo.name, `${name}: --spec carries the pipeline`);
      t.equal(o.jobId, 'job-1234');
      if (step === 'evaluate') t.equal(o.minSkill, -100, 'numbers arrive as numbers');
      if (step === 'train') t.equal(o.epochs, 1);
    }
  }
  // And a wrong one is refused by the same parser.
  const cmd = pipelineCommand({ step: () => undefined });
  cmd.exitOverride();
  for (const sub of cmd.commands) sub.exitOverride();
  await t.rejects(
    cmd.parseAsync(['step', 'train', '--spec', '{}', '--epochs', 'many'], { from: 'user' }),
    /--epochs must be an integer, got 'many'/,
  );
});

t.test('the single-series pipeline runs task by task as KFP would run it', async (t) => {
  const dir = tmp(t);
  writeData(dir);
  const c = compileFile(pipelineFile(dir, 'wave', {}), { trackingUri: join(dir, 'mlruns'), data: join(dir, 'wave.csv') });
  const params = Object.fromEntries(Object.entries(c.root.inputDefinitions.parameters).map(([k, v]) => [k, v.defaultValue]));
  const cli = join(root, 'dist', 'cli', 'index.js');
  for (const name of Object.keys(c.root.dag.tasks)) {
    const ctr = c.deploymentSpec.executors[c.components[c.root.dag.tasks[name].componentRef.name].executorLabel].container;
    const art = (a) => {
      // KFP hands each task its producer's output folder; here one folder per artifact name.
      const p = join(dir, 'artifacts', a);
      mkdirSync(dirname(p), { recursive: true });
      return p;
    };
    const argv = ctr.args.map((a) => fill(a, params, art, (p) => join(dir, 'params', p)));
    mkdirSync(join(dir, 'params'), { recursive: true });
    const r = spawnSync(process.execPath, [cli, ...ctr.command.slice(1), ...argv], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, ...Object.fromEntries(ctr.env.map((e) => [e.name, e.value])) },
    });
    t.equal(r.status, 0, `${name}: ${r.stderr.slice(-600)}`);
  }
  t.same(JSON.parse(readFileSync(join(dir, 'params', 'series_list'), 'utf8')), [''], 'the series list output parameter');
  const store = RunStore.open(join(dir, 'mlruns'), { create: false });
  const parent = searchRuns(store, { filter: `tags."informer.pipeline.job" = 'job-1234'` });
  t.equal(parent.length, 1, 'one parent run for the job');
  t.equal(parent[0].info.status, 'FINISHED');
  t.equal(parent[0].info.runName, 'wave-job');
  const children = searchRuns(store, { filter: `tags."mlflow.parentRunId" = '${parent[0].info.runId}'` });
  t.same(children.map((r) => r.data.tags['informer.pipeline.step']).sort(), [
    'deploy',
    'evaluate',
    'export',
    'preprocess',
    'register',
    'train',
  ]);
  t.equal(getModelVersionByAlias(store, 'wave', 'champion').version, 1);
  const isvc = YAML.parse(readFileSync(join(dir, 'artifacts', 'export', 'kserve', 'inferenceservice.yaml'), 'utf8'));
  t.equal(isvc.spec.predictor.model.storageUri, 's3://models/wave');
});

t.test('the fleet pipeline runs as KFP would: preprocess, train-global, then the ParallelFor per series', async (t) => {
  const dir = tmp(t);
  writeData(dir);
  const file = pipelineFile(dir, 'pods', {
    data: { path: 'pods.csv', seriesColumn: 'pod', target: 'load', features: 'S', freq: '1min' },
    export: { formats: ['onnx'] },
    fleet: { parallelism: 2, global: true },
  });
  const c = compileFile(file, { trackingUri: join(dir, 'mlruns'), data: join(dir, 'pods.csv') });
  const params = Object.fromEntries(Object.entries(c.root.inputDefinitions.parameters).map(([k, v]) => [k, v.defaultValue]));
  const cli = join(root, 'dist', 'cli', 'index.js');
  mkdirSync(join(dir, 'params'), { recursive: true });
  /** Runs a task: `folders(name)` maps the component's artifact names to folders, `p` its parameters. */
  const runTask = (task, p, folders) => {
    const comp = c.components[task.componentRef.name];
    const ctr = c.deploymentSpec.executors[comp.executorLabel].container;
    const argv = ctr.args.map((a) => fill(a, p, folders, (x) => join(dir, 'params', x)));
    const r = spawnSync(process.execPath, [cli, ...ctr.command.slice(1), ...argv], { cwd: dir, encoding: 'utf8' });
    t.equal(r.status, 0, `${task.taskInfo.name}${p.series ? ` (${p.series})` : ''}: ${r.stderr.slice(-600)}`);
  };
  const out = (task, a) => join(dir, 'out', task, a);
  runTask(c.root.dag.tasks.preprocess, params, (a) => out('preprocess', a));
  runTask(c.root.dag.tasks['train-global'], params, (a) => (a === 'dataset' ? out('preprocess', a) : out('train-global', a)));
  const series = JSON.parse(readFileSync(join(dir, 'params', 'series_list'), 'utf8'));
  t.same(series, ['pod-a', 'pod-b', 'pod-c'], "preprocess's series list drives the loop");
  const loop = c.components['comp-for-loop-1'].dag.tasks;
  for (const s of series) {
    // The loop's component inputs: the pipeline parameters as pipelinechannel--<p>, and the item.
    const p = { ...params, series: s };
    const produced = {};
    for (const name of ['train', 'evaluate', 'register', 'export', 'deploy']) {
      const task = loop[name];
      const folder = (a) => {
        const src = task.inputs.artifacts?.[a];
        if (src?.componentInputArtifact === 'pipelinechannel--preprocess-dataset') return out('preprocess', 'dataset');
        if (src?.componentInputArtifact === 'pipelinechannel--train-global-model') return out('train-global', 'model');
        if (src?.taskOutputArtifact) return produced[`${src.taskOutputArtifact.producerTask}/${src.taskOutputArtifact.outputArtifactKey}`];
        const o = join(dir, 'out', s, name, a);
        produced[`${name}/${a}`] = o;
        return o;
      };
      runTask(task, p, folder);
    }
    const ev = JSON.parse(readFileSync(join(dir, 'out', s, 'evaluate', 'metrics', 'evaluation.json'), 'utf8'));
    t.same(
      ev.series.map((e) => e.series),
      [s],
      `${s}: evaluated alone`,
    );
    t.ok(Number.isFinite(ev.series[0].global.skill), `${s}: and the global model on its windows`);
  }
  const store = RunStore.open(join(dir, 'mlruns'), { create: false });
  for (const s of series) t.equal(getModelVersionByAlias(store, `pods-${s}`, 'champion').version, 1, `models:/pods-${s}@champion`);
  const parent = searchRuns(store, { filter: `tags."informer.pipeline.job" = 'job-1234'` });
  t.equal(parent.length, 1);
  const children = searchRuns(store, { filter: `tags."mlflow.parentRunId" = '${parent[0].info.runId}'` });
  t.equal(children.length, 2 + 5 * 3, 'preprocess, train-global and five steps per series, all in one parent run');
  t.ok(children.every((r) => r.info.status === 'FINISHED'));
});

t.test('a step stopped by SIGTERM (a KFP pod being stopped) ends its run and the job run KILLED', async (t) => {
  const dir = tmp(t);
  writeData(dir);
  const file = pipelineFile(dir, 'wave', {
    training: { epochs: 400, batchSize: 16, learningRate: 0.003, maxStepsPerEpoch: 2, patience: 1000 },
  });
  const cli = join(root, 'dist', 'cli', 'index.js');
  const common = ['--spec', file, '--tracking-uri', join(dir, 'mlruns'), '--job-id', 'job-9'];
  const pre = spawnSync(process.execPath, [cli, 'pipeline', 'step', 'preprocess', ...common, '--output-dataset', join(dir, 'd')], {
    encoding: 'utf8',
  });
  t.equal(pre.status, 0, pre.stderr);
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [
    cli,
    'pipeline',
    'step',
    'train',
    ...common,
    '--input-dataset',
    join(dir, 'd'),
    '--output-model',
    join(dir, 'm'),
  ]);
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
    if (/epoch 3\/400/.test(err) && !child.killed) child.kill('SIGTERM');
  });
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
  t.not(code, 0, 'the step fails');
  t.match(err, /interrupted/);
  const store = RunStore.open(join(dir, 'mlruns'), { create: false });
  const parent = searchRuns(store, { filter: `tags."informer.pipeline.job" = 'job-9'` });
  t.equal(parent[0].info.status, 'KILLED');
  const train = searchRuns(store, { filter: `tags."informer.pipeline.step" = 'train'` });
  t.equal(train[0].info.status, 'KILLED');
});
