// `informer train`: data -> ForecastDataset -> Informer -> Trainer, autologged to an MLflow-style
// store, with the model registered when asked. With no --data it runs the main job: the seed
// configuration on the bundled Alibaba pod CPU trace, registered as `alibaba-pod-cpu`.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command, Option } from 'commander';

import type { InformerConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { ForecastDataset, type Features, type SplitSpec } from '../data/dataset.js';
import { readTable } from '../data/table.js';
import { Informer, type DeviceName } from '../model.js';
import { fitWithRun } from '../train/autolog.js';
import { Trainer } from '../train/trainer.js';
import type { LrAdjust } from '../train/schedule.js';
import { setExperiment, setTrackingUri, startRun, endRunsOnExit } from '../tracking/fluent.js';
import { uriToPath } from '../tracking/uri.js';
import { duration, fmt, textTable } from './format.js';
import { EpochProgress } from './progress.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLED_DATA = join(packageRoot, 'data', 'alibaba_pod.csv');

/** The main job's settings: the seed configuration of the product demo. */
export const SEED_JOB = {
  target: 'cpu_utilization',
  features: 'S' as Features,
  freq: '1min',
  seqLen: 12,
  labelLen: 12,
  predLen: 6,
  dModel: 32,
  nHeads: 4,
  eLayers: 1,
  dLayers: 1,
  dFf: 128,
  experiment: 'alibaba-pod-cpu',
  register: 'alibaba-pod-cpu',
};

export const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new ConfigError(`--${name} must be an integer, got '${v}'`);
  return n;
};
export const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ConfigError(`--${name} must be a number, got '${v}'`);
  return n;
};

// kebab-case twins of the reference arguments -> InformerConfig keys.
const MODEL_OPTIONS: [string, keyof InformerConfig, 'int' | 'num' | 'str', string][] = [
  ['seq-len', 'seqLen', 'int', 'encoder input length (reference default 96)'],
  ['label-len', 'labelLen', 'int', 'decoder start-token length (48)'],
  ['pred-len', 'predLen', 'int', 'forecast horizon (24)'],
  ['d-model', 'dModel', 'int', 'model width (512)'],
  ['n-heads', 'nHeads', 'int', 'attention heads (8)'],
  ['e-layers', 'eLayers', 'int', 'encoder layers (2)'],
  ['d-layers', 'dLayers', 'int', 'decoder layers (1)'],
  ['d-ff', 'dFf', 'int', 'feed-forward width (2048)'],
  ['factor', 'factor', 'int', 'ProbSparse sampling factor c (5)'],
  ['padding', 'padding', 'int', 'value of the decoder input padding steps: 0 zeros, 1 ones (0)'],
  ['dropout', 'dropout', 'num', 'dropout probability (0.05)'],
  ['attn', 'attn', 'str', "attention: 'prob' or 'full' (prob)"],
  ['embed', 'embed', 'str', "time encoding: 'timeF', 'fixed' or 'learned' (timeF)"],
  ['activation', 'activation', 'str', "feed-forward activation: 'gelu' or 'relu' (gelu)"],
  ['model', 'model', 'str', "'informer' or 'informerstack' (informer)"],
  ['normalize', 'normalize', 'str', "per-window instance normalisation: 'none', 'revin' or 'last' (none)"],
  ['seed', 'seed', 'int', 'random seed (0)'],
];

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description(
      'train an Informer model, log the run to an MLflow-compatible store and optionally register it (no --data: the bundled Alibaba pod CPU job)',
    )
    .option('--data <file>', 'CSV (any delimiter) or Parquet file; default: the bundled data/alibaba_pod.csv with the seed configuration')
    .option('--date-column <name>', "date column (default 'date', else the first column that parses as dates)")
    .option('--target <column>', "target column (default 'OT'; 'cpu_utilization' for the bundled data)")
    .addOption(new Option('--features <mode>', 'M: all -> all, S: target -> target, MS: all -> target').choices(['S', 'M', 'MS']))
    .option('--freq <freq>', "data frequency: s, t, h, d, b, w, m or multiples like '15min' (default: inferred from the dates)")
    .option('--split <spec>', "'ett-hour', 'ett-minute' or train,val,test ratios like '0.7,0.1,0.2' (default)")
    .option('--s-layers <list>', "encoder depths of informerstack, e.g. '3,2,1'")
    .option('--no-distil', 'disable self-attention distilling (the reference --distil flag)')
    .option('--no-mix', 'disable the decoder attention mix (the reference --mix flag)')
    .option('--train-epochs <n>', 'epochs (6)', int('train-epochs'))
    .option('--batch-size <n>', 'batch size (32)', int('batch-size'))
    .option('--learning-rate <lr>', 'Adam learning rate (1e-4)', num('learning-rate'))
    .option('--patience <n>', 'early-stopping patience (3)', int('patience'))
    .addOption(new Option('--lradj <type>', 'learning-rate schedule').choices(['type1', 'type2', 'none']))
    .option('--inverse', 'also report test metrics in the original units')
    .option('--max-steps-per-epoch <n>', 'cap the steps per epoch (quick runs)', int('max-steps-per-epoch'))
    .option('--experiment <name>', 'experiment name (default: the data file name)')
    .option('--run-name <name>', 'run name')
    .option('--register <name>', 'register the trained model under this name')
    .option('--no-register', 'do not register the model (the main job registers alibaba-pod-cpu)')
    .option('--no-onnx', 'do not add model.onnx to the logged model')
    .addOption(
      new Option('--device <device>', 'where the model computes (auto: the GPU when there is one)')
        .choices(['cpu', 'cuda', 'auto'])
        .default('cpu'),
    )
    .option('--mlruns <dir>', 'tracking store directory (default ./mlruns, or MLFLOW_TRACKING_URI)')
    .option(
      '--tracking-uri <uri>',
      'tracking store: a folder, file:// URI or http(s):// MLflow tracking server (default MLFLOW_TRACKING_URI, then ./mlruns)',
    );
  for (const [flag, , kind, help] of MODEL_OPTIONS) {
    const parse = kind === 'int' ? int(flag) : kind === 'num' ? num(flag) : undefined;
    cmd.option(`--${flag} <value>`, help, parse as never);
  }
  cmd.action(async (opts: Record<string, unknown>) => {
    await runTrain(opts);
  });
  return cmd;
}

export function parseSplit(spec: unknown): SplitSpec | undefined {
  if (spec === undefined) return undefined;
  if (spec === 'ett-hour' || spec === 'ett-minute') return spec;
  const parts = String(spec).split(',').map(Number);
  if (parts.length !== 3 || parts.some((p) => !(p > 0 && p < 1))) {
    throw new ConfigError(`--split must be 'ett-hour', 'ett-minute' or three ratios like '0.7,0.1,0.2', got '${String(spec)}'`);
  }
  return { train: parts[0], val: parts[1], test: parts[2] };
}

export async function runTrain(opts: Record<string, unknown>): Promise<void> {
  const mainJob = opts.data === undefined;
  const dataPath = resolve(mainJob ? BUNDLED_DATA : String(opts.data));
  if (!existsSync(dataPath)) throw new ConfigError(`--data: no such file ${dataPath}`);
  const base = mainJob ? SEED_JOB : undefined;
  const target = String(opts.target ?? base?.target ?? 'OT');
  const features = (opts.features ?? base?.features ?? 'M') as Features;

  const table = await readTable(dataPath, { dateColumn: opts.dateColumn as string | undefined });
  const modelOverrides: Partial<InformerConfig> = {};
  if (base)
    Object.assign(modelOverrides, {
      dModel: base.dModel,
      nHeads: base.nHeads,
      eLayers: base.eLayers,
      dLayers: base.dLayers,
      dFf: base.dFf,
    });
  for (const [flag, key] of MODEL_OPTIONS) {
    const camel = flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    if (opts[camel] !== undefined) (modelOverrides as Record<string, unknown>)[key] = opts[camel];
  }
  if (opts.sLayers !== undefined)
    modelOverrides.sLayers = String(opts.sLayers)
      .split(',')
      .map((s) => int('s-layers')(s.trim()));
  if (opts.distil === false) modelOverrides.distil = false;
  if (opts.mix === false) modelOverrides.mix = false;

  const dataset = ForecastDataset.fromTable(table, {
    features,
    target,
    seqLen: modelOverrides.seqLen ?? base?.seqLen ?? 96,
    labelLen: modelOverrides.labelLen ?? base?.labelLen ?? 48,
    predLen: modelOverrides.predLen ?? base?.predLen ?? 24,
    freq: (opts.freq as string | undefined) ?? base?.freq,
    embed: modelOverrides.embed,
    padding: modelOverrides.padding,
    split: parseSplit(opts.split),
  });
  const model = new Informer({ ...modelOverrides, ...dataset.modelConfig() }, { device: (opts.device ?? 'cpu') as DeviceName });
  const epochs = (opts.trainEpochs as number | undefined) ?? 6;
  const progress = new EpochProgress(process.stderr, epochs);
  const trainer = new Trainer(model, dataset, {
    epochs,
    batchSize: opts.batchSize as number | undefined,
    learningRate: opts.learningRate as number | undefined,
    patience: opts.patience as number | undefined,
    lradj: opts.lradj as LrAdjust | undefined,
    inverse: Boolean(opts.inverse),
    maxStepsPerEpoch: opts.maxStepsPerEpoch as number | undefined,
    onStep: (e) => progress.step(e),
    onEpoch: (e) => progress.epoch(e),
  });

  setTrackingUri(opts.mlruns as string | undefined);
  endRunsOnExit(); // this command owns the process: a run it leaves behind ends as the process really ended
  const experiment = setExperiment(
    String(
      opts.experiment ??
        base?.experiment ??
        dataPath
          .split(/[\\/]/)
          .pop()
          ?.replace(/\.\w+$/, '') ??
        'Default',
    ),
  );
  const register = opts.register === false ? undefined : ((opts.register as string | undefined) ?? base?.register);
  const c = model.config;
  process.stderr.write(
    `informer train: ${dataPath} (${table.length} rows), features ${features}, target ${target}, freq ${dataset.freq}\n` +
      `  model: seq ${c.seqLen}/${c.labelLen}/${c.predLen}, d_model ${c.dModel}, ${c.nHeads} heads, ${c.eLayers}+${c.dLayers} layers, ` +
      `d_ff ${c.dFf}, attn ${c.attn}; ${model.parameterCount().toLocaleString('en-US')} parameters\n` +
      `  windows: train ${dataset.split('train').length}, val ${dataset.split('val').length}, test ${dataset.split('test').length}; experiment '${experiment.name}'\n`,
  );
  const started = Date.now();
  const result = await startRun({ runName: opts.runName as string | undefined }, async (run) => {
    return {
      run,
      ...(await fitWithRun(trainer, run, {
        registeredModelName: register,
        onnx: opts.onnx !== false,
        params: { data: dataPath },
        dataset: { path: dataPath },
      })),
    };
  });
  const rows = [
    ['model', result.test.mse, result.test.mae, result.test.rmse, result.test.r2],
    ['naive last value', result.test.naive_mse, result.test.naive_mae, Math.sqrt(result.test.naive_mse), ''],
  ];
  const lines = [
    '',
    `Test metrics (${dataset.split('test').length} windows, scaled values; best epoch ${result.bestEpoch}${result.stoppedEarly ? ', stopped early' : ''}):`,
    textTable(['forecast', 'mse', 'mae', 'rmse', 'r2'], rows),
    `skill vs naive: ${fmt(result.test.skill)} (${result.test.skill > 0 ? 'better' : 'worse'} than the last-value forecast)`,
  ];
  if (result.testOriginal)
    lines.push(
      `original units: mse ${fmt(result.testOriginal.mse)}, mae ${fmt(result.testOriginal.mae)} (naive mse ${fmt(result.testOriginal.naive_mse)})`,
    );
  const info = result.run.info;
  lines.push(
    '',
    `run ${info.runId} in experiment '${experiment.name}' (${duration((Date.now() - started) / 1000)})`,
    result.run.store.remote
      ? `  tracking server: ${result.run.store.trackingUri} (artifacts ${info.artifactUri}; local copy ${result.run.dir})`
      : `  run folder: ${dirname(uriToPath(info.artifactUri))}`,
    ...result.plots.map((p) => `  plot: ${p}`),
  );
  if (result.model) lines.push(`  model: runs:/${info.runId}/model (${result.model.modelDir})`);
  if (result.model?.registeredModelVersion) lines.push(`  registered: models:/${register}/${result.model.registeredModelVersion}`);
  lines.push(`  next: informer runs show ${info.runId} | informer predict models:/${register ?? '<name>'}/latest --history <csv>`);
  console.log(lines.join('\n'));
  model.dispose();
}
