// `informer tune`: a hyper-parameter search (lib/tune) from the command line. The space comes from a
// JSON/YAML file and/or flags (`--d-model 16,32,64`, `--learning-rate 1e-4:1e-2:log`); a single value
// fixes a setting for every trial. Progress goes to stderr, the table and the best model's test
// metrics next to the naive forecast to stdout. Ctrl-C stops the search resumably (--resume <run id>).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { Command, Option } from 'commander';

import type { Features } from '../data/dataset.js';
import { ConfigError } from '../errors.js';
import { setTrackingUri, getStore } from '../tracking/fluent.js';
import { DEFAULT_SEARCH_SPACE, tune, type TuneEvent, type TuneOptions, type TuneResult } from '../tune/tune.js';
import { parseSearchSpace, parseSpecString, readSearchSpace, type ParamValue, type SearchSpace, type TrialParams } from '../tune/space.js';
import { duration, fmt, textTable } from './format.js';
import { BUNDLED_DATA, SEED_JOB, int, parseSplit } from './train.js';

// Searchable settings as flags: a list ('16,32,64') or range ('1e-4:1e-2:log', '0:0.3', '1:3:int')
// searches, one value fixes.
const SETTING_FLAGS: [string, string][] = [
  ['seq-len', 'seqLen'],
  ['label-len', 'labelLen'],
  ['d-model', 'dModel'],
  ['n-heads', 'nHeads'],
  ['e-layers', 'eLayers'],
  ['d-layers', 'dLayers'],
  ['d-ff', 'dFf'],
  ['factor', 'factor'],
  ['dropout', 'dropout'],
  ['attn', 'attn'],
  ['distil', 'distil'],
  ['mix', 'mix'],
  ['embed', 'embed'],
  ['activation', 'activation'],
  ['normalize', 'normalize'],
  ['learning-rate', 'learningRate'],
  ['batch-size', 'batchSize'],
  ['lradj', 'lradj'],
  ['weight-decay', 'weightDecay'],
];

/** '20m', '90s', '1.5h', '1200' (seconds) -> seconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$/i.exec(text);
  const v = m ? Number(m[1]) * ({ s: 1, sec: 1, m: 60, min: 60, h: 3600 }[(m[2] ?? 's').toLowerCase()] as number) : NaN;
  if (!(v > 0)) throw new ConfigError(`--time-budget must be a duration such as '20m', '90s', '1.5h' or seconds, got '${text}'`);
  return v;
}

export function tuneCommand(): Command {
  const cmd = new Command('tune')
    .description(
      'search model and training settings (random search + asynchronous successive halving), each trial a child run of one tracked parent run; no --data: the bundled Alibaba pod CPU job',
    )
    .option('--data <file>', 'CSV (any delimiter) or Parquet file; default: the bundled data/alibaba_pod.csv with the seed task')
    .option('--date-column <name>', 'date column')
    .option('--target <column>', "target column (default 'OT'; 'cpu_utilization' for the bundled data)")
    .addOption(new Option('--features <mode>', 'M: all -> all, S: target -> target, MS: all -> target').choices(['S', 'M', 'MS']))
    .option('--freq <freq>', 'data frequency (default: inferred from the dates)')
    .option('--split <spec>', "'ett-hour', 'ett-minute' or train,val,test ratios like '0.7,0.1,0.2' (default)")
    .option('--pred-len <n>', 'forecast horizon (24; 6 for the bundled data)', int('pred-len'))
    .option(
      '--space <file>',
      `search space (.json, .yaml): per setting a value, a list of choices or {uniform|loguniform|int: [lo, hi]}; default: ${Object.keys(DEFAULT_SEARCH_SPACE).join(', ')}`,
    )
    .option('--trials <n>', 'budget: at most this many trials (default 20 without --time-budget)', int('trials'))
    .option('--time-budget <duration>', "budget: wall time of the search, e.g. '20m', '1h', '900s'", parseDuration)
    .option('--min-epochs <n>', 'epochs of the first rung (1)', int('min-epochs'))
    .option('--max-epochs <n>', 'epochs of the last rung (9)', int('max-epochs'))
    .option('--eta <n>', 'successive-halving factor: the best 1/eta of a rung move on (3)', int('eta'))
    .option('--patience <n>', 'early-stopping patience inside a trial (3)', int('patience'))
    .option('--parallel <n>', 'trials at once (default: the number of CPUs; 0: one by one in this process)', int('parallel'))
    .option('--threads-per-trial <n>', 'native threads per trial (default 1 when trials run side by side)', int('threads-per-trial'))
    .option('--seed <n>', 'seed of the search and of every model (0)', int('seed'))
    .option('--max-steps-per-epoch <n>', 'cap the steps per epoch (quick searches)', int('max-steps-per-epoch'))
    .option('--experiment <name>', 'experiment name (default: the data file name)')
    .option('--run-name <name>', 'name of the parent run')
    .option('--register <name>', 'register the best model under this name')
    .option('--no-onnx', 'do not add model.onnx to the best model')
    .option('--keep-checkpoints', "keep every trial's last checkpoint after the search")
    .option('--resume <run id>', 'resume an interrupted search (budgets given now replace the stored ones)')
    .option('--mlruns <dir>', 'tracking store directory (default ./mlruns, or MLFLOW_TRACKING_URI)')
    .option(
      '--tracking-uri <uri>',
      'tracking store: a folder, file:// URI or http(s):// MLflow tracking server (default MLFLOW_TRACKING_URI, then ./mlruns)',
    );
  for (const [flag] of SETTING_FLAGS)
    cmd.option(`--${flag} <spec>`, `search or fix ${flag}: 'a,b,c', 'lo:hi', 'lo:hi:log', 'lo:hi:int' or one value`);
  cmd.action(async (opts: Record<string, unknown>) => {
    await runTune(opts);
  });
  return cmd;
}

function camel(flag: string): string {
  return flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

/** The space (file, else the defaults) with the flags applied, and the settings the flags fix. */
function spaceFromFlags(
  opts: Record<string, unknown>,
  task: { seqLen?: number; labelLen?: number },
): { space: SearchSpace; fixed: TrialParams } {
  const space: SearchSpace = opts.space !== undefined ? readSearchSpace(String(opts.space)) : parseSearchSpace(DEFAULT_SEARCH_SPACE);
  const fixed: Record<string, ParamValue> = {};
  for (const [flag, key] of SETTING_FLAGS) {
    const text = opts[camel(flag)];
    if (text === undefined) continue;
    const d = parseSpecString(key, String(text));
    const sp = space as Record<string, unknown>;
    if (d.kind === 'choice' && d.values.length === 1) {
      delete sp[key];
      if (key === 'seqLen' || key === 'labelLen') task[key] = d.values[0] as number;
      else fixed[key] = d.values[0] as ParamValue;
    } else {
      sp[key] = d;
    }
  }
  return { space, fixed };
}

/** One line per finished rung, failure and stop on stderr. */
function progressPrinter(stream: NodeJS.WriteStream, rungs: () => number[]): (e: TuneEvent) => void {
  const clock = (s: number) => `[${duration(s).padStart(6)}]`;
  return (e) => {
    if (e.type === 'start') {
      stream.write(
        `tune: run ${e.runId}${e.resumed ? ' (resumed)' : ''}; rungs of ${e.rungs.join(', ')} epochs; ${e.parallel} trial(s) at once\n`,
      );
    } else if (e.type === 'trial' && e.rung === 0) {
      stream.write(
        `  trial ${e.trial}: ${Object.entries(e.params)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
          .join(' ')}\n`,
      );
    } else if (e.type === 'rung') {
      stream.write(
        `${clock(e.elapsed)} trial ${String(e.trial).padStart(3)} rung ${e.rung + 1}/${rungs().length} (${e.epochs} epochs): val ${fmt(e.valLoss)} | best ${fmt(e.best.valLoss)} (trial ${e.best.trial}) | ${e.started} trials started, ${e.running} running\n`,
      );
    } else if (e.type === 'failed') {
      stream.write(`  trial ${e.trial} failed: ${e.error}\n`);
    } else if (e.type === 'stopping') {
      stream.write(`tune: stopping (${e.reason}); running trials stop after their current step\n`);
    }
  };
}

export async function runTune(opts: Record<string, unknown>): Promise<void> {
  setTrackingUri(opts.mlruns as string | undefined);
  const mainJob = opts.data === undefined && opts.resume === undefined;
  const options: TuneOptions = {
    maxTrials: opts.trials as number | undefined,
    timeBudget: opts.timeBudget as number | undefined,
    minEpochs: opts.minEpochs as number | undefined,
    maxEpochs: opts.maxEpochs as number | undefined,
    eta: opts.eta as number | undefined,
    patience: opts.patience as number | undefined,
    parallel: opts.parallel as number | undefined,
    threadsPerTrial: opts.threadsPerTrial as number | undefined,
    seed: opts.seed as number | undefined,
    maxStepsPerEpoch: opts.maxStepsPerEpoch as number | undefined,
    runName: opts.runName as string | undefined,
    registeredModelName: opts.register as string | undefined,
    onnx: opts.onnx !== false,
    keepCheckpoints: Boolean(opts.keepCheckpoints),
    store: getStore(),
  };
  if (opts.resume !== undefined) {
    options.resume = String(opts.resume);
    if (opts.data !== undefined) options.data = resolve(String(opts.data));
  } else {
    const dataPath = resolve(mainJob ? BUNDLED_DATA : String(opts.data));
    if (!existsSync(dataPath)) throw new ConfigError(`--data: no such file ${dataPath}`);
    const base = mainJob ? SEED_JOB : undefined;
    const task: { seqLen?: number; labelLen?: number } = { seqLen: base?.seqLen, labelLen: base?.labelLen };
    const { space, fixed } = spaceFromFlags(opts, task);
    if (Object.keys(space).length === 0)
      throw new ConfigError('tune: nothing to search: every setting is fixed (give lists or ranges, or --space)');
    Object.assign(options, {
      data: dataPath,
      dateColumn: opts.dateColumn as string | undefined,
      features: (opts.features ?? base?.features) as Features | undefined,
      target: (opts.target ?? base?.target) as string | undefined,
      freq: (opts.freq ?? base?.freq) as string | undefined,
      split: parseSplit(opts.split),
      seqLen: task.seqLen,
      labelLen: task.labelLen,
      predLen: (opts.predLen as number | undefined) ?? base?.predLen,
      space,
      fixed,
      experiment: (opts.experiment as string | undefined) ?? (base ? `${base.experiment}-tune` : undefined),
    });
  }
  let rungs: number[] = [];
  const print = progressPrinter(process.stderr, () => rungs);
  options.onProgress = (e) => {
    if (e.type === 'start') rungs = e.rungs;
    print(e);
  };
  // Ctrl-C (or SIGTERM) stops the search resumably; a second one exits at once.
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  options.signal = abort.signal;
  let r: TuneResult;
  try {
    r = await tune(options);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const shown = r.table.rows.slice(0, 15);
  const lines = [
    '',
    `Trials (best ${shown.length} of ${r.table.rows.length} by validation loss):`,
    textTable(
      r.table.header.slice(0, -1),
      shown.map((row) => row.slice(0, -1)),
    ),
  ];
  if (r.interrupted) {
    lines.push(
      '',
      `interrupted after ${duration(r.seconds)}; resume with: informer tune --resume ${r.runId}${opts.mlruns ? ` --mlruns ${String(opts.mlruns)}` : ''}`,
    );
    console.log(lines.join('\n'));
    process.exitCode = 130;
    return;
  }
  if (r.best && r.test) {
    lines.push(
      '',
      `Best: trial ${r.best.trial} (validation loss ${fmt(r.best.valLoss)}, ${r.best.epochs} epochs): ${Object.entries(r.best.params)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' ')}`,
      `Test metrics of the best trial (scaled values):`,
      textTable(
        ['forecast', 'mse', 'mae', 'rmse', 'r2'],
        [
          ['model', r.test.mse, r.test.mae, r.test.rmse, r.test.r2],
          ['naive last value', r.test.naive_mse, r.test.naive_mae, Math.sqrt(r.test.naive_mse), ''],
        ],
      ),
      `skill vs naive: ${fmt(r.test.skill)} (${r.test.skill >= 0 ? 'at least as good as' : 'worse than'} the last-value forecast)`,
    );
  }
  const store = getStore();
  lines.push(
    '',
    `parent run ${r.runId} in experiment ${r.experimentId} (${duration(r.seconds)}), ${r.trials.length} child runs`,
    `  run folder: ${store.runDir(r.runId)}`,
    ...r.artifacts.map((a) => `  artifact: ${a}`),
  );
  if (r.model) lines.push(`  model: ${r.model.modelUri} (${r.model.modelDir})`);
  else if (r.modelUri) lines.push(`  model: ${r.modelUri} (unchanged: the best trial is the same as before)`);
  if (r.model?.registeredModelVersion) lines.push(`  registered: models:/${String(opts.register)}/${r.model.registeredModelVersion}`);
  console.log(lines.join('\n'));
}
