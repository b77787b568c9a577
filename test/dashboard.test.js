// The live dashboard in a real browser: Debian's chromium (system binary, driven by playwright-core;
// no browser is downloaded) loads /dashboard from a server fed with forecasts and actuals; the test
// checks what is drawn against the server's own numbers and saves a screenshot as a test artifact
// (test-artifacts/dashboard.png).
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { ForecastDataset, Informer, readTable } from '../dist/index.js';
import { Predictor, createServer } from '../dist/serve/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

t.test(
  'the dashboard draws forecast vs actual, skill, drift and traffic',
  { skip: CHROMIUM ? false : 'chromium not installed (Debian: apt install chromium)' },
  async (t) => {
    const { chromium } = await import('playwright-core');
    const table = await readTable(path.join(root, 'data', 'alibaba_pod.csv'));
    const ds = ForecastDataset.fromTable(table, { features: 'S', target: 'cpu_utilization', seqLen: 12, labelLen: 6, predLen: 3 });
    const model = new Informer({ ...ds.modelConfig(), dModel: 16, nHeads: 2, eLayers: 1, dLayers: 1, dFf: 32, seed: 2 });
    t.teardown(() => model.dispose());
    const server = await createServer({ models: { pod: new Predictor(model, ds) }, drift: { minValues: 20 } });
    const base = await server.listen(0);
    t.teardown(() => server.close());
    const col = table.data.cpu_utilization;
    const rows = (from, to) => ({
      dates: Array.from(table.dates.subarray(from, to)),
      values: { cpu_utilization: Array.from(col.subarray(from, to)) },
    });
    for (let end = 1000; end < 1060; end++) {
      await fetch(`${base}/v2/models/pod/forecast`, { method: 'POST', body: JSON.stringify(rows(end - 12, end)) });
    }
    await fetch(`${base}/v2/models/pod/actuals`, { method: 'POST', body: JSON.stringify(rows(1000, 1063)) });
    const want = await (await fetch(`${base}/v2/models/pod/monitoring`)).json();

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    const failed = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    await page.goto(`${base}/dashboard`);
    await page.waitForFunction(() => window.__dashboard?.models?.pod !== undefined, null, { timeout: 20_000 });
    t.same(failed, [], 'every asset loads from the server (no CDN)');

    const drawn = await page.evaluate(() => window.__dashboard.models.pod);
    t.equal(drawn.points, 60, 'one step-1 point per forecast, each matched with its actual');
    t.equal(drawn.skill, want.overall.skill);
    t.equal(await page.textContent('.model[data-model="pod"] h2'), 'pod (version 1)');
    t.equal(await page.textContent('.model[data-model="pod"] .skill'), want.overall.skill.toFixed(3));
    t.equal(await page.textContent('.model[data-model="pod"] .matched'), String(want.matched));
    t.equal(await page.locator('.model[data-model="pod"] .chart canvas').count(), 1, 'the chart is drawn on a canvas');
    t.match(await page.textContent('.model[data-model="pod"] .drift'), /cpu_utilization/);
    t.match(await page.textContent('.model[data-model="pod"] .rate'), /^\d+\.\d{2}$/);
    t.equal((await page.locator('.u-legend .u-series').allTextContents()).length, 4, 'the legend shows the three series and the time axis');

    const dir = path.join(root, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    const shot = path.join(dir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.ok(existsSync(shot), `screenshot saved: ${shot}`);
  },
);
