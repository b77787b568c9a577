#!/usr/bin/env node
// The `informer` command: train, tune, predict, export, serve, runs, models, info.

import { Command } from 'commander';

import { InformerError } from '../errors.js';
import { nativeInfo } from '../native.js';
import { exportCommand } from './export.js';
import { pipelineCommand } from './pipeline.js';
import { predictCommand } from './predict.js';
import { modelsCommand, runsCommand } from './runs.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';
import { tuneCommand } from './tune.js';
import { monitorCommand } from './monitor.js';
import { packageVersion } from '../version.js';

const program = new Command('informer')
  .description('Informer time-series forecasting in Node.js: train, track, export, serve')
  .version(packageVersion())
  .showHelpAfterError()
  // --tracking-uri (MLflow's name) and --mlruns (a folder) are one setting: every command reads `mlruns`.
  .hook('preAction', (_program, command) => {
    const uri = command.opts().trackingUri;
    if (uri !== undefined) command.setOptionValue('mlruns', uri);
  });
program.addCommand(trainCommand());
program.addCommand(tuneCommand());
program.addCommand(predictCommand());
program.addCommand(monitorCommand());
program.addCommand(exportCommand());
program.addCommand(pipelineCommand());
program.addCommand(serveCommand());
program.addCommand(runsCommand());
program.addCommand(modelsCommand());
program
  .command('info')
  .description('what this build and machine offer: backends, GEMM kernel, threads')
  .action(() => console.log(JSON.stringify({ version: packageVersion(), ...nativeInfo() }, null, 2)));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // Typed library errors are the user's to fix: a one-line message, not a stack trace.
  if (e instanceof InformerError) {
    console.error(`informer: ${e.name}: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
