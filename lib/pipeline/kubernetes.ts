// Applying a KServe InferenceService (serving.kserve.io/v1beta1) with @kubernetes/client-node and
// waiting until it is Ready. The cluster comes from a kubeconfig file, or the default chain
// (KUBECONFIG, ~/.kube/config, then the in-cluster service account, which is how a KFP pod runs).
// An existing service is merge-patched, a new one created; every failure names the cluster's reason.
import { importLazily } from '../lazy.js';
import { DeployError } from './errors.js';

type Json = Record<string, unknown>;

export interface ApplyOptions {
  /** Default: metadata.namespace of the manifest, else the kubeconfig context's, else 'default'. */
  namespace?: string;
  /** A kubeconfig file (default: KUBECONFIG, ~/.kube/config or the in-cluster config). */
  kubeconfig?: string;
  /** How long to wait for Ready (seconds). */
  timeoutSeconds: number;
  /** Poll interval in ms (default 2000). */
  pollMs?: number;
  log?: (line: string) => void;
}

export interface AppliedService {
  name: string;
  namespace: string;
  /** status.url once Ready. */
  url: string;
  created: boolean;
  seconds: number;
}

type K8s = typeof import('@kubernetes/client-node');

const GROUP = 'serving.kserve.io';
const VERSION = 'v1beta1';
const PLURAL = 'inferenceservices';

/** `code reason: message` of a Kubernetes API error (its Status body), or the error's message. */
function apiReason(e: unknown): { code?: number; text: string } {
  const err = e as { code?: number; body?: unknown; message?: string };
  let body = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* not JSON */
    }
  }
  const b = body as { reason?: string; message?: string } | undefined;
  if (b && (b.reason || b.message)) return { code: err.code, text: `${err.code ?? ''} ${b.reason ?? ''}: ${b.message ?? ''}`.trim() };
  return { code: err.code, text: err.message ?? String(e) };
}

function readyState(obj: Json): { ready: boolean; reason?: string; message?: string; url?: string; failed?: string } {
  const status = (obj.status ?? {}) as {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    url?: string;
    modelStatus?: Json;
  };
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const failure =
    (status.modelStatus as
      | { lastFailureInfo?: { reason?: string; message?: string }; states?: { targetModelState?: string } }
      | undefined) ?? {};
  const failed =
    failure.states?.targetModelState === 'FailedToLoad' || failure.lastFailureInfo !== undefined
      ? `${failure.lastFailureInfo?.reason ?? 'FailedToLoad'}: ${failure.lastFailureInfo?.message ?? 'the model failed to load'}`
      : undefined;
  return {
    ready: ready?.status === 'True',
    reason: ready?.reason,
    message: ready?.message,
    url: status.url,
    ...(failed ? { failed } : {}),
  };
}

/** Creates or patches the InferenceService `manifest`, then waits until it is Ready. */
export async function applyInferenceService(manifest: Json, o: ApplyOptions): Promise<AppliedService> {
  const k8s = await importLazily<K8s>('@kubernetes/client-node', 'deploying to Kubernetes (deploy.target kubernetes)');
  const kc = new k8s.KubeConfig();
  try {
    if (o.kubeconfig !== undefined) kc.loadFromFile(o.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new DeployError(
      `cannot load the Kubernetes configuration${o.kubeconfig ? ` from ${o.kubeconfig}` : ''}: ${(e as Error).message}`,
      'deploy',
      { cause: e },
    );
  }
  if (kc.getCurrentCluster() === null)
    throw new DeployError('no Kubernetes cluster configured: set KUBECONFIG, pass deploy.kubeconfig, or run inside a cluster', 'deploy');
  const meta = (manifest.metadata ?? {}) as { name?: string; namespace?: string };
  const name = String(meta.name);
  const namespace = o.namespace ?? meta.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const body = { ...manifest, metadata: { ...meta, namespace } };
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  const where = `${GROUP}/${VERSION} InferenceService ${namespace}/${name} on ${kc.getCurrentCluster()?.server}`;
  let created = false;
  let generation: number | undefined;
  try {
    let existing: Json | null = null;
    try {
      existing = (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as Json;
    } catch (e) {
      if (apiReason(e).code !== 404) throw e;
    }
    if (existing === null) {
      const r = (await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body })) as Json;
      generation = (r.metadata as { generation?: number } | undefined)?.generation;
      created = true;
      log(`  created ${where}`);
    } else {
      const r = (await api.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      )) as Json;
      generation = (r.metadata as { generation?: number } | undefined)?.generation;
      log(`  patched ${where}`);
    }
  } catch (e) {
    if (e instanceof DeployError) throw e;
    throw new DeployError(`the cluster refused ${where}: ${apiReason(e).text}`, 'deploy', { cause: e });
  }
  const deadline = started + o.timeoutSeconds * 1000;
  let last: ReturnType<typeof readyState> = { ready: false };
  for (;;) {
    let obj: Json;
    try {
      obj = (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as Json;
    } catch (e) {
      throw new DeployError(`reading ${where} failed: ${apiReason(e).text}`, 'deploy', { cause: e });
    }
    const observed = (obj.status as { observedGeneration?: number } | undefined)?.observedGeneration;
    last = readyState(obj);
    if (last.failed !== undefined) throw new DeployError(`${where} failed: ${last.failed}`, 'deploy');
    const current = generation === undefined || observed === undefined || observed >= generation;
    if (last.ready && current && last.url) {
      log(`  ${namespace}/${name} is Ready at ${last.url}`);
      return { name, namespace, url: last.url, created, seconds: (Date.now() - started) / 1000 };
    }
    if (Date.now() >= deadline) {
      const why =
        last.reason || last.message
          ? `Ready is False: ${last.reason ?? ''}${last.message ? `: ${last.message}` : ''}`
          : 'no Ready condition yet';
      throw new DeployError(`${where} was not Ready within ${o.timeoutSeconds}s (${why})`, 'deploy');
    }
    await new Promise((r) => setTimeout(r, Math.min(o.pollMs ?? 2000, Math.max(0, deadline - Date.now()))));
  }
}
