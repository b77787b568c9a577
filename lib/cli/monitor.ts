// `informer monitor [url]`: where the live dashboard of a running `informer serve` is; `--grafana <file>`:
// a Grafana dashboard over its Prometheus metrics.
import { resolve } from 'node:path';

import { Command } from 'commander';

import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { grafanaDashboard } from '../serve/grafana.js';

export function monitorCommand(): Command {
  return new Command('monitor')
    .description('the live dashboard of a running `informer serve` (its URL), or with --grafana a Grafana dashboard over its /metrics')
    .argument('[url]', 'the server, e.g. http://127.0.0.1:8080')
    .option('--grafana <file>', 'write the Grafana dashboard JSON (import it in Grafana, pick the Prometheus data source)')
    .option('--title <title>', 'dashboard title', 'informer-node serving')
    .action((url: string | undefined, o) => {
      if (url !== undefined) {
        let base: URL;
        try {
          base = new URL(url);
        } catch {
          throw new ConfigError(`informer monitor: '${url}' is not a URL (e.g. http://127.0.0.1:8080)`);
        }
        console.log(`dashboard: ${new URL('/dashboard', base).href}`);
        console.log(`metrics:   ${new URL('/metrics', base).href}`);
      }
      if (!o.grafana) {
        if (url === undefined) throw new ConfigError('informer monitor: give the server URL, or --grafana <file>');
        return;
      }
      const file = resolve(o.grafana);
      writeFileAtomic(file, `${JSON.stringify(grafanaDashboard(o.title), null, 2)}\n`);
      console.log(`Grafana dashboard: ${file} (Dashboards -> Import, then choose the Prometheus data source)`);
    });
}
