// `informer serve <model...> --port`: the Open Inference Protocol v2 REST server.
import { Command, Option } from 'commander';

import { serve } from '../serve/server.js';
import { resolveModelFile } from './model-arg.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve models over the Open Inference Protocol v2 (KServe V2) REST API; name=path to name a model')
    .argument('[models...]', 'model files, folders or URIs; prefix with name= to choose the model name')
    .option('--port <n>', 'port', (v) => Number(v), 8080)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
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
    .option(
      '--request-timeout <ms>',
      'a request (headers and body) must arrive within this time, else 408 (0: no limit)',
      (v) => Number(v),
      30_000,
    )
    .option('--headers-timeout <ms>', 'request headers must arrive within this time', (v) => Number(v), 10_000)
    .option('--idle-timeout <ms>', 'close connections idle this long (0: never)', (v) => Number(v), 120_000)
    .option('--no-metrics', 'do not serve GET /metrics (Prometheus)')
    .option('--no-monitor', 'no live accuracy (POST .../actuals, GET .../monitoring)')
    .option('--monitor-window <n>', 'matched values per horizon step in the rolling accuracy', (v) => Number(v), 1000)
    .option('--psi-threshold <x>', 'log a warning when an input column drifts past this PSI', (v) => Number(v), 0.2)
    .option('--no-drift', 'do not compare served inputs with the training profile')
    .option('--log-payloads <target>', 'log each inference request and response as a CloudEvent to a .jsonl file or an http(s) URL')
    .addOption(
      new Option('--model-control <mode>', 'explicit: load, hot-swap and unload models over HTTP (POST /v2/repository/models/<name>/load)')
        .choices(['none', 'explicit'])
        .default('none'),
    )
    .addOption(
      new Option('--log-level <level>', 'JSON-lines log on stdout: info adds one access line per request')
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
        .default('info'),
    )
    .action(async (args: string[], o) => {
      const models: Record<string, string> = {};
      for (const a of args) {
        const eq = a.indexOf('=');
        const explicit = eq > 0 && !/^(runs|models):\//.test(a);
        const ref = explicit ? a.slice(eq + 1) : a;
        const file = resolveModelFile(ref, o.mlruns);
        // models:/<name>/... serves as <name>; a file or folder by its last two path parts.
        const registered = /^models:\/([^/@]+)/.exec(ref)?.[1];
        const name = explicit
          ? a.slice(0, eq)
          : registered !== undefined
            ? registered.replace(/[^A-Za-z0-9_.-]/g, '-')
            : file
                .split(/[\\/]/)
                .slice(-2)
                .join('-')
                .replace(/\.safetensors$/i, '')
                .replace(/[^A-Za-z0-9_.-]/g, '-');
        models[name] = file;
      }
      const server = await serve(models, {
        port: o.port,
        host: o.host,
        backend: o.backend,
        device: o.device,
        requestTimeoutMs: o.requestTimeout,
        headersTimeoutMs: o.headersTimeout,
        idleTimeoutMs: o.idleTimeout,
        metrics: o.metrics,
        monitor: o.monitor === false ? false : { window: o.monitorWindow },
        drift: o.drift === false ? false : { psiThreshold: o.psiThreshold },
        logLevel: o.logLevel,
        payloadLog: o.logPayloads,
        modelControl: o.modelControl === 'explicit',
      });
      const stop = async () => {
        await server.close();
        process.exit(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
