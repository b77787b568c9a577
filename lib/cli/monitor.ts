// `informer monitor --grafana <file>`: the Grafana dashboard over the server's Prometheus metrics.
import { resolve } from 'node:path';

import { Command } from 'commander';

import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { grafanaDashboard } from '../serve/grafana.js';

export function monitorCommand(): Command {
  return new Command('monitor')
    .description('monitoring helpers for served models: --grafana writes a Grafana dashboard over the /metrics of `informer serve`')
    .option('--grafana <file>', 'write the Grafana dashboard JSON (import it in Grafana, pick the Prometheus data source)')
    .option('--title <title>', 'dashboard title', 'informer-node serving')
    .action((o) => {
      if (!o.grafana) throw new ConfigError('informer monitor: nothing to do; give --grafana <file>');
      const file = resolve(o.grafana);
      writeFileAtomic(file, `${JSON.stringify(grafanaDashboard(o.title), null, 2)}\n`);
      console.log(`Grafana dashboard: ${file} (Dashboards -> Import, then choose the Prometheus data source)`);
    });
}
