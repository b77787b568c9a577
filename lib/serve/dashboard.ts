// The live dashboard at GET /dashboard: one static page that polls /dashboard/data every few seconds
// and draws, per model, forecast vs actual over time (with the naive forecast), skill and errors
// against the naive forecast, input drift per column, latency percentiles and request rate. Charts
// are uPlot, served from the package (/dashboard/uplot.js), so the page works offline.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { ConfigError } from '../errors.js';

const require = createRequire(import.meta.url);

let assets: { js: string; css: string } | undefined;

/** uPlot's script and stylesheet, read once. */
export function dashboardAssets(): { js: string; css: string } {
  if (assets) return assets;
  let dir: string;
  try {
    dir = require.resolve('uplot/dist/uPlot.iife.min.js').replace(/uPlot\.iife\.min\.js$/, '');
  } catch (e) {
    throw new ConfigError("the dashboard needs the package 'uplot', which is not installed; add it with: npm install uplot", { cause: e });
  }
  assets = { js: readFileSync(`${dir}uPlot.iife.min.js`, 'utf8'), css: readFileSync(`${dir}uPlot.min.css`, 'utf8') };
  return assets;
}

/** A bounded record of a model's recent requests: latencies and arrival times. */
export class RequestWindow {
  readonly #latency = new Float64Array(1000);
  readonly #arrivals = new Float64Array(4096);
  #n = 0;
  #a = 0;

  record(ms: number): void {
    this.#latency[this.#n % this.#latency.length] = ms;
    this.#arrivals[this.#a % this.#arrivals.length] = Date.now();
    this.#n++;
    this.#a++;
  }

  /** p50 / p99 latency (ms) of the last 1,000 requests and requests per second over the last minute. */
  summary(): { p50: number | null; p99: number | null; ratePerSecond: number } {
    const n = Math.min(this.#n, this.#latency.length);
    const sorted = Float64Array.from(this.#latency.subarray(0, n)).sort();
    const q = (p: number) => (n ? sorted[Math.min(n - 1, Math.floor(p * (n - 1) + 0.5))]! : null);
    const since = Date.now() - 60_000;
    let recent = 0;
    const m = Math.min(this.#a, this.#arrivals.length);
    for (let i = 0; i < m; i++) if (this.#arrivals[i]! >= since) recent++;
    return { p50: q(0.5), p99: q(0.99), ratePerSecond: recent / 60 };
  }
}

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>informer-node: live monitoring</title>
<link rel="stylesheet" href="/dashboard/uplot.css">
<style>
  body { font: 14px system-ui, sans-serif; margin: 16px; color: #222; background: #fafafa; }
  h1 { font-size: 18px; margin: 0 0 12px; }
  .model { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; margin-bottom: 16px; }
  .model h2 { font-size: 16px; margin: 0 0 8px; }
  .stats { display: flex; gap: 24px; flex-wrap: wrap; margin-bottom: 8px; }
  .stat b { display: block; font-size: 20px; }
  .good { color: #1a7f37; } .bad { color: #cf222e; }
  table { border-collapse: collapse; margin-top: 8px; }
  td, th { padding: 2px 10px; border-bottom: 1px solid #eee; text-align: right; }
  #updated { color: #777; font-size: 12px; }
</style>
</head>
<body>
<h1>informer-node: live monitoring <span id="updated"></span></h1>
<div id="models"></div>
<script src="/dashboard/uplot.js"></script>
<script>
const fmt = (x, d = 4) => (x === null || x === undefined ? '–' : Number(x).toFixed(d));
const sig = (x) => (x === null || x === undefined ? '–' : Number(x).toPrecision(3));
const charts = {};
window.__dashboard = { models: {} };
function card(m) {
  let el = document.querySelector('.model[data-model="' + m.name + '"]');
  if (!el) {
    el = document.createElement('div');
    el.className = 'model';
    el.dataset.model = m.name;
    el.innerHTML = '<h2></h2><div class="stats"></div><div class="chart"></div><table class="drift"></table>';
    document.getElementById('models').appendChild(el);
  }
  return el;
}
function render(data) {
  for (const m of data.models) {
    const el = card(m);
    const o = (m.monitoring && m.monitoring.overall) || {};
    el.querySelector('h2').textContent = m.name + ' (version ' + m.version + ')';
    const skill = o.skill;
    el.querySelector('.stats').innerHTML =
      '<div class="stat">skill vs naive<b class="skill ' + (skill > 0 ? 'good' : skill < 0 ? 'bad' : '') + '">' + fmt(skill, 3) + '</b></div>' +
      '<div class="stat">MSE model / naive<b class="mse">' + sig(o.mse) + ' / ' + sig(o.naiveMse) + '</b></div>' +
      '<div class="stat">matched values<b class="matched">' + (m.monitoring ? m.monitoring.matched : '–') + '</b></div>' +
      '<div class="stat">latency p50 / p99<b class="latency">' + fmt(m.requests.p50, 2) + ' / ' + fmt(m.requests.p99, 2) + ' ms</b></div>' +
      '<div class="stat">requests/s (1 min)<b class="rate">' + fmt(m.requests.ratePerSecond, 2) + '</b></div>';
    const drift = m.drift || [];
    el.querySelector('.drift').innerHTML = drift.length
      ? '<tr><th>column</th><th>PSI</th><th>KS</th><th>values</th></tr>' +
        drift.map((d) => '<tr><td>' + d.column + '</td><td class="' + (d.psi > 0.2 ? 'bad' : '') + '">' + fmt(d.psi, 3) + '</td><td>' + fmt(d.ks, 3) + '</td><td>' + d.n + '</td></tr>').join('')
      : '';
    const pts = m.recent || [];
    const series = [pts.map((p) => p.t / 1000), pts.map((p) => p.actual), pts.map((p) => p.forecast), pts.map((p) => p.naive)];
    const box = el.querySelector('.chart');
    if (!charts[m.name]) {
      charts[m.name] = new uPlot({
        width: Math.max(400, box.clientWidth || 800), height: 260, title: 'step-1 forecast vs actual (' + (m.monitoring ? m.monitoring.columns.at(-1) : '') + ')',
        series: [{}, { label: 'actual', stroke: '#222' }, { label: 'forecast', stroke: '#0969da' }, { label: 'naive', stroke: '#bf8700', dash: [4, 4] }],
      }, series, box);
    } else charts[m.name].setData(series);
    window.__dashboard.models[m.name] = { points: pts.length, skill };
  }
  document.getElementById('updated').textContent = 'updated ' + new Date(data.generatedAt).toLocaleTimeString();
  window.__dashboard.updates = (window.__dashboard.updates || 0) + 1;
}
async function poll() {
  try { render(await (await fetch('/dashboard/data')).json()); } catch (e) { document.getElementById('updated').textContent = 'update failed: ' + e.message; }
}
poll();
setInterval(poll, 5000);
</script>
</body>
</html>
`;
