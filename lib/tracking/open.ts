// One way to open "the tracking store at this URI": an http(s) URI is a tracking server
// (ServerStore), anything else a local FileStore folder (RunStore). Default $MLFLOW_TRACKING_URI.
import type { RunStore, RunStoreOptions } from './store.js';
import { RunStore as LocalStore } from './store.js';
import { ServerStore } from './remote/server-store.js';
import { isServerUri } from './remote/tracking.js';

/** Opens the store at `uri` (a folder, `file://` URI, or `http(s)://` tracking server); default $MLFLOW_TRACKING_URI, then ./mlruns. */
export function openStore(uri?: string, options: RunStoreOptions = {}): RunStore {
  const raw = (uri ?? process.env.MLFLOW_TRACKING_URI ?? '').trim();
  return isServerUri(raw) ? ServerStore.connect(raw, options) : LocalStore.open(uri, options);
}
