// A Grafana dashboard over the server's Prometheus metrics (metrics.ts): request rate and latency,
// batch size, queue depth, live accuracy and skill, input drift, process health. Import the JSON into
// Grafana (Dashboards -> Import) and pick the Prometheus data source that scrapes the servers.

interface Panel {
  title: string;
  unit?: string;
  exprs: Array<{ expr: string; legend: string }>;
}

const PANELS: Panel[] = [
  {
    title: 'Requests per second',
    unit: 'reqps',
    exprs: [
      { expr: 'sum by (model) (rate(nv_inference_request_success{model=~"$model"}[1m]))', legend: '{{model}} ok' },
      { expr: 'sum by (model) (rate(nv_inference_request_failure{model=~"$model"}[1m]))', legend: '{{model}} failed' },
    ],
  },
  {
    title: 'Latency p50 / p99 (predict)',
    unit: 's',
    exprs: [
      {
        expr: 'histogram_quantile(0.5, sum by (le, model_name) (rate(request_predict_seconds_bucket{model_name=~"$model"}[5m])))',
        legend: '{{model_name}} p50',
      },
      {
        expr: 'histogram_quantile(0.99, sum by (le, model_name) (rate(request_predict_seconds_bucket{model_name=~"$model"}[5m])))',
        legend: '{{model_name}} p99',
      },
    ],
  },
  {
    title: 'Series per forward call (batch size)',
    exprs: [
      {
        expr: 'sum by (model) (rate(nv_inference_count{model=~"$model"}[5m])) / sum by (model) (rate(nv_inference_exec_count{model=~"$model"}[5m]))',
        legend: '{{model}}',
      },
    ],
  },
  {
    title: 'Batcher queue depth',
    exprs: [{ expr: 'informer_batcher_queue_depth{model_name=~"$model"}', legend: '{{model_name}}' }],
  },
  {
    title: 'Live MSE: model vs naive (all steps)',
    exprs: [
      { expr: 'informer_live_mse{model_name=~"$model",step="all"}', legend: '{{model_name}} model' },
      { expr: 'informer_live_naive_mse{model_name=~"$model",step="all"}', legend: '{{model_name}} naive' },
    ],
  },
  {
    title: 'Skill vs naive (> 0: better than persistence)',
    exprs: [{ expr: 'informer_live_skill{model_name=~"$model"}', legend: '{{model_name}}' }],
  },
  {
    title: 'Live RMSE per horizon step',
    exprs: [{ expr: 'informer_live_rmse{model_name=~"$model",step!="all"}', legend: '{{model_name}} step {{step}}' }],
  },
  {
    title: 'Input drift (PSI; > 0.2 is a significant shift)',
    exprs: [{ expr: 'informer_drift_psi{model_name=~"$model"}', legend: '{{model_name}} {{column}}' }],
  },
  {
    title: 'Event-loop lag and resident memory',
    exprs: [
      { expr: 'nodejs_eventloop_lag_p99_seconds', legend: 'event-loop lag p99 (s)' },
      { expr: 'process_resident_memory_bytes / 1048576', legend: 'RSS (MiB)' },
    ],
  },
];

/** The dashboard as Grafana's JSON model (schemaVersion 39). */
export function grafanaDashboard(title = 'informer-node serving'): Record<string, unknown> {
  // Grafana's import placeholder for the data source chosen at import time (a literal, not a template).
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own placeholder syntax
  const datasource = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
  return {
    __inputs: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
    title,
    uid: 'informer-node-serving',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    tags: ['informer-node', 'forecasting'],
    templating: {
      list: [
        {
          name: 'model',
          label: 'model',
          type: 'query',
          datasource,
          query: 'label_values(nv_inference_request_success, model)',
          includeAll: true,
          multi: true,
          current: { text: 'All', value: '$__all' },
          refresh: 2,
        },
      ],
    },
    panels: PANELS.map((p, i) => ({
      id: i + 1,
      type: 'timeseries',
      title: p.title,
      datasource,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit ?? 'short' }, overrides: [] },
      targets: p.exprs.map((e, j) => ({ refId: String.fromCharCode(65 + j), datasource, expr: e.expr, legendFormat: e.legend })),
    })),
  };
}
