// Starts ../shared/tools/mlflow-server (MLflow 2.12.2's own tracking server) for integration tests:
// spawn it, read the URI from its first stdout line, stop it (the whole process group) at teardown.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MLFLOW_SERVER = join(repo, '..', 'shared', 'tools', 'mlflow-server');
export const HAVE_MLFLOW_SERVER = existsSync(MLFLOW_SERVER);

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((r, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => r(port));
    });
    s.on('error', reject);
  });
}

/** Starts the server on `port` with its data in `dataDir`; resolves to { uri, stop() } once it answers. */
export function startMlflowServer(port, dataDir) {
  const child = spawn(MLFLOW_SERVER, [String(port), dataDir], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let err = '';
  child.stderr.on('data', (c) => {
    err = (err + c).slice(-4000);
  });
  const stop = () =>
    new Promise((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', () => r());
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        r();
      }
    });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /MLFLOW_TRACKING_URI=(\S+)/.exec(out);
      if (m) resolve({ uri: m[1], stop, child });
    });
    child.once('exit', (code) => reject(new Error(`mlflow-server exited (${code}) before answering:\n${err}`)));
  });
}
