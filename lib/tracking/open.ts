// One way to open "the tracking store at this URI": an http(s) URI is a tracking server
// (ServerStore), anything else a local FileStore folder (RunStore). Default $MLFLOW_TRACKING_URI.
// Importing this module is what lets RunStore.open reach servers (server-store.ts registers itself).
import './remote/server-store.js';
import { RunStore, type RunStoreOptions } from './store.js';

/** Opens the store at `uri` (a folder, `file://` URI, or `http(s)://` tracking server); default $MLFLOW_TRACKING_URI, then ./mlruns. */
export function openStore(uri?: string, options: RunStoreOptions = {}): RunStore {
  return RunStore.open(uri, options);
}
