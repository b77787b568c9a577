// deploy: export + registration artifacts -> a serving model. `none` records that nothing was
// deployed; `local` loads (or hot-swaps) each registered model's champion into a running
// `informer serve --model-control explicit`, starting one in the background when none answers;
// `kubernetes` applies the exported InferenceService and waits until it is Ready (deploy-k8s.ts).
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { resolveModelUri } from '../../artifact/resolve.js';
import { DeployError } from '../errors.js';
import { readJson, type StepContext, type StepReport, writeJson } from '../step.js';
import { deployKubernetes } from './deploy-k8s.js';
import type { ExportEntry } from './export.js';
import { registrations } from './register.js';

export interface Deployment {
  target: 'none' | 'local' | 'kubernetes';
  url?: string;
  /** Process id of a server this step started (local). */
  startedPid?: number;
  models: { series: string | null; name: string; version: number; url: string; service: string }[];
}

async function live(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/v2/health/live`, { signal: AbortSignal.timeout(1000) });
    return r.ok;
  } catch {
    return false;
  }
}

/** Starts `informer serve --model-control explicit` detached; resolves once it answers. */
async function startServer(url: string, port: number, logFile: string): Promise<number> {
  const cli = fileURLToPath(new URL('../../cli/index.js', import.meta.url));
  const host = new URL(url).hostname;
  mkdirSync(join(logFile, '..'), { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--model-control', 'explicit', '--host', host, '--port', String(port), '--log-level', 'info'],
    {
      detached: true,
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new DeployError(`informer serve exited with code ${child.exitCode} while starting; see ${logFile}`, 'deploy');
    if (await live(url)) return child.pid!;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new DeployError(`informer serve did not answer at ${url} within 30s; see ${logFile}`, 'deploy');
}

async function loadInto(url: string, name: string, path: string, version: number): Promise<void> {
  let r: Response;
  try {
    r = await fetch(`${url}/v2/repository/models/${encodeURIComponent(name)}/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ parameters: { path, version: String(version) } }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (e) {
    throw new DeployError(`cannot reach ${url} to load ${name}: ${(e as Error).message}`, 'deploy', { cause: e });
  }
  if (r.status === 404)
    throw new DeployError(
      `the server at ${url} does not accept model loads; start it with informer serve --model-control explicit`,
      'deploy',
    );
  if (!r.ok) throw new DeployError(`the server at ${url} refused ${name}: ${r.status} ${await r.text()}`, 'deploy');
}

export async function deployStep(ctx: StepContext): Promise<StepReport> {
  const { deploy } = ctx.spec;
  const reg = registrations(ctx.input('registration'));
  const exports = readJson<{ exports: ExportEntry[] }>(ctx.input('export'), 'index.json').exports;
  const out = ctx.output('deployment');
  if (deploy.target === 'none') {
    writeJson(out, 'deployment.json', { target: 'none', models: [] } satisfies Deployment);
    return { uris: {}, summary: 'not deployed (deploy.target none)' };
  }
  if (deploy.target === 'kubernetes') {
    const d = await deployKubernetes(ctx, reg, exports, ctx.input('export'));
    writeJson(out, 'deployment.json', d);
    const uris: Record<string, string> = {};
    for (const m of d.models) uris[`service${m.series === null ? '' : ` ${m.series}`}`] = m.url;
    return { uris, summary: `${d.models.length} InferenceService(s) Ready` };
  }
  const url = deploy.url.replace(/\/+$/, '');
  let startedPid: number | undefined;
  if (!(await live(url))) {
    const host = new URL(url).hostname;
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host))
      throw new DeployError(
        `no informer serve answers at ${url}; start one there with --model-control explicit (only a local one is started for you)`,
        'deploy',
      );
    ctx.log(`  no server at ${url}: starting informer serve --model-control explicit`);
    startedPid = await startServer(url, deploy.port, join(ctx.store.root, '..', `informer-serve-${deploy.port}.log`));
  }
  const models: Deployment['models'] = [];
  for (const r of reg.models) {
    const e = exports.find((x) => x.series === r.series);
    const service = e?.service ?? r.name;
    // The alias decides what serves: a version that did not beat the champion leaves it in place.
    const path = resolveModelUri(`models:/${r.name}/@${reg.alias}`, ctx.store);
    const mv = r.promoted ? r.version : (r.previousChampion ?? r.version);
    await loadInto(url, service, path, mv);
    models.push({ series: r.series, name: r.name, version: mv, url: `${url}/v2/models/${service}`, service });
    ctx.log(`  ${service}: models:/${r.name}/${mv} (@${reg.alias}) serving at ${url}/v2/models/${service}`);
  }
  writeJson(out, 'deployment.json', { target: 'local', url, ...(startedPid ? { startedPid } : {}), models } satisfies Deployment);
  ctx.run.setTags({ 'informer.deploy.url': url, ...(startedPid ? { 'informer.deploy.pid': startedPid } : {}) });
  const uris: Record<string, string> = {};
  for (const m of models) uris[`endpoint${m.series === null ? '' : ` ${m.series}`}`] = m.url;
  return { uris, summary: `${models.length} model(s) serving at ${url}${startedPid ? ` (started server pid ${startedPid})` : ''}` };
}
