// `informer predict <model> --history <csv>`: a saved or registered model plus recent history in,
// a dated forecast (original units) out, as CSV or JSON.
import { Command, Option } from 'commander';

import { writeFileAtomic } from '../fs/atomic.js';
import { readTable } from '../data/table.js';
import { Predictor } from '../serve/predictor.js';
import { resolveModelFile } from './model-arg.js';

export function predictCommand(): Command {
  return new Command('predict')
    .description(
      'forecast from recent history with a saved (.safetensors), logged (runs:/<id>/model) or registered (models:/<name>/<version|@alias|latest>) model',
    )
    .argument('<model>', 'model file, folder or URI')
    .requiredOption('--history <file>', "CSV or Parquet with a date column and the model's columns; the last seqLen rows are used")
    .option('--date-column <name>', "date column (default 'date')")
    .option('--output <file>', 'write the forecast here (.csv or .json); default: stdout')
    .addOption(new Option('--format <fmt>', 'output format when printing').choices(['csv', 'json']).default('csv'))
    .addOption(new Option('--backend <backend>', 'inference engine').choices(['native', 'onnx']).default('native'))
    .addOption(
      new Option('--device <device>', 'where the model computes (auto: the GPU when there is one)')
        .choices(['cpu', 'cuda', 'auto'])
        .default('cpu'),
    )
    .option('--mlruns <dir>', 'tracking store for runs:/ and models:/ URIs')
    .option(
      '--tracking-uri <uri>',
      'tracking store: a folder, file:// URI or http(s):// MLflow tracking server (default MLFLOW_TRACKING_URI, then ./mlruns)',
    )
    .action(async (modelArg: string, o) => {
      const file = resolveModelFile(modelArg, o.mlruns);
      const predictor = await Predictor.load(file, { backend: o.backend, device: o.device });
      const history = await readTable(o.history, { dateColumn: o.dateColumn });
      const f = await predictor.predict(history);
      const format = o.output?.endsWith('.json') ? 'json' : o.output ? 'csv' : o.format;
      const text =
        format === 'json'
          ? `${JSON.stringify({ columns: f.columns, dates: f.dates, values: f.values }, null, 2)}\n`
          : `date,${f.columns.join(',')}\n${f.dates.map((d, i) => `${d},${f.values[i].join(',')}`).join('\n')}\n`;
      if (!o.output) {
        process.stdout.write(text);
      } else {
        writeFileAtomic(o.output, text);
        console.error(`wrote ${f.dates.length} forecast rows to ${o.output}`);
      }
      await predictor.dispose?.();
    });
}
