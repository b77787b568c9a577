// `informer export <model> --format onnx|triton|mlflow|kserve --out <dir>`.
import { Command, Option } from 'commander';

import { exportModel, EXPORT_FORMATS } from '../export/index.js';
import { Informer } from '../model.js';
import { resolveModelFile } from './model-arg.js';

export function exportCommand(): Command {
  return new Command('export')
    .description('export a model for deployment: plain ONNX, a Triton repository, an MLflow model, or a KServe InferenceService')
    .argument('<model>', 'model file, folder or runs:/ / models:/ URI')
    .addOption(new Option('--format <format>', 'what to write').choices([...EXPORT_FORMATS]).default('onnx'))
    .requiredOption('--out <dir>', 'output folder (built in a temp folder, checked, then moved into place)')
    .option('--name <name>', 'model / InferenceService name (DNS-1123 label)', 'informer')
    .option('--storage-uri <uri>', 'kserve: where <out>/model/ will be uploaded (s3://, gs://, pvc://, ...)')
    .addOption(
      new Option('--model-format <f>', 'kserve: serve the ONNX on Triton or the MLflow model on MLServer')
        .choices(['onnx', 'mlflow'])
        .default('onnx'),
    )
    .option('--opset <n>', 'ONNX opset (17..21)', (v) => Number(v), 17)
    .option('--overwrite', 'replace an existing non-empty output folder')
    .option('--mlruns <dir>', 'tracking store for runs:/ and models:/ URIs')
    .option(
      '--tracking-uri <uri>',
      'tracking store: a folder, file:// URI or http(s):// MLflow tracking server (default MLFLOW_TRACKING_URI, then ./mlruns)',
    )
    .action((modelArg: string, o) => {
      const model = Informer.load(resolveModelFile(modelArg, o.mlruns));
      const r = exportModel(model, o.out, {
        format: o.format,
        name: o.name,
        storageUri: o.storageUri,
        opset: o.opset,
        modelFormat: o.modelFormat,
        overwrite: Boolean(o.overwrite),
        onProgress: (stage: string, fraction: number) => {
          // A redrawn line on a terminal; one line per stage in logs.
          if (process.stderr.isTTY) process.stderr.write(`\rexport: ${stage} ${Math.round(fraction * 100)}%   `);
          else if (fraction === 0) process.stderr.write(`export: ${stage}\n`);
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      console.log(`wrote ${r.format} export to ${r.outDir}:\n${r.files.map((f: string) => `  ${f}`).join('\n')}`);
      model.dispose();
    });
}
