// Run artifacts on a tracking server: through its artifact proxy (`mlflow-artifacts:/` URIs and the
// `/api/2.0/mlflow-artifacts/artifacts/...` endpoints), files streamed both ways. `file:` artifact
// roots (a server without --serve-artifacts on this machine) are written directly; any other
// scheme (s3://, gs://, ...) is an ArtifactStoreError naming the URI.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TEMP_PREFIX, copyFileAtomic, writeFileAtomic } from '../../fs/atomic.js';
import { ArtifactStoreError } from '../errors.js';
import { uriToPath } from '../uri.js';
import type { HttpClient } from './http.js';

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';
const MANIFEST = '.informer-uploaded.json';

/** Where an artifact URI lives: a path behind the server's proxy, or a local folder. */
export type ArtifactLocation = { kind: 'proxy'; path: string } | { kind: 'local'; dir: string };

/** Resolves an artifact URI (a run's artifact_uri, a model version's source); ArtifactStoreError if unsupported. */
export function artifactLocation(uri: string): ArtifactLocation {
  const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(uri);
  if (proxied !== null) return { kind: 'proxy', path: proxied[1]!.replace(/\/+$/, '') };
  const http = /^https?:\/\/[^/]+(?:\/.*)?\/api\/2\.0\/mlflow-artifacts\/artifacts\/*(.*)$/.exec(uri);
  if (http !== null) return { kind: 'proxy', path: http[1]!.replace(/\/+$/, '') };
  if (/^file:/i.test(uri)) return { kind: 'local', dir: uriToPath(uri) };
  throw new ArtifactStoreError(
    `artifacts at '${uri}' cannot be written or read by informer-node (only the server's artifact proxy, mlflow-artifacts:/, ` +
      'and local file: roots are); start the server with --serve-artifacts or give the experiment an mlflow-artifacts:/ location',
  );
}

function encodePath(p: string): string {
  return p
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');
}

function listLocal(dir: string, prefix = ''): Array<{ rel: string; file: string }> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => !e.name.startsWith(TEMP_PREFIX))
    .flatMap((e) =>
      e.isDirectory()
        ? listLocal(path.join(dir, e.name), `${prefix}${e.name}/`)
        : e.isFile()
          ? [{ rel: `${prefix}${e.name}`, file: path.join(dir, e.name) }]
          : [],
    )
    .sort((a, b) => (a.rel < b.rel ? -1 : 1));
}

function readManifest(file: string): Record<string, string> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

/**
 * Uploads the files of a run's local artifact folder that changed since the last upload (by size
 * and modification time, kept in a manifest beside the folder). Returns how many were sent.
 */
export async function uploadArtifacts(client: HttpClient, localDir: string, artifactUri: string): Promise<number> {
  const where = artifactLocation(artifactUri);
  const manifestFile = path.join(path.dirname(localDir), MANIFEST);
  const manifest = readManifest(manifestFile);
  let sent = 0;
  for (const { rel, file } of listLocal(localDir)) {
    const st = fs.statSync(file);
    const stamp = `${st.size}:${st.mtimeMs}`;
    if (manifest[rel] === stamp) continue;
    if (where.kind === 'proxy') await client.request({ method: 'PUT', endpoint: `${PROXY}/${encodePath(`${where.path}/${rel}`)}`, file });
    else copyFileAtomic(file, path.join(where.dir, rel));
    manifest[rel] = stamp;
    writeFileAtomic(manifestFile, JSON.stringify(manifest));
    sent++;
  }
  return sent;
}

/** The files below a proxied artifact folder, recursively, with sizes. */
export async function listRemote(client: HttpClient, dir: string): Promise<Array<{ rel: string; size: number }>> {
  const res = await client.request({ method: 'GET', endpoint: PROXY, query: { path: dir } });
  const out: Array<{ rel: string; size: number }> = [];
  for (const f of (res.files ?? []) as Array<{ path?: string; is_dir?: boolean; file_size?: number }>) {
    const name = String(f.path ?? '');
    if (name === '') continue;
    if (f.is_dir) for (const sub of await listRemote(client, `${dir}/${name}`)) out.push({ rel: `${name}/${sub.rel}`, size: sub.size });
    else out.push({ rel: name, size: Number(f.file_size ?? -1) });
  }
  return out;
}

/** The files at an artifact URI ('/'-separated paths relative to it), sorted. */
export async function listArtifactFiles(client: HttpClient, uri: string): Promise<string[]> {
  const where = artifactLocation(uri);
  const files = where.kind === 'local' ? listLocal(where.dir).map((f) => f.rel) : (await listRemote(client, where.path)).map((f) => f.rel);
  return files.sort();
}

/**
 * Makes `localDir` a copy of the artifacts at `uri` (a folder or one file): files missing locally or
 * of another size are downloaded, each through a temp file. Returns how many were fetched.
 */
export async function downloadArtifacts(client: HttpClient, uri: string, localDir: string): Promise<number> {
  const where = artifactLocation(uri);
  if (where.kind === 'local') {
    let n = 0;
    for (const { rel, file } of listLocal(where.dir)) {
      copyFileAtomic(file, path.join(localDir, rel));
      n++;
    }
    return n;
  }
  let files = await listRemote(client, where.path);
  if (files.length === 0) {
    // Not a folder: a single file (or nothing, which the download reports as not found).
    const name = path.posix.basename(where.path);
    files = [{ rel: name, size: -1 }];
    where.path = path.posix.dirname(where.path);
  }
  let fetched = 0;
  for (const { rel, size } of files) {
    const dest = path.join(localDir, ...rel.split('/'));
    try {
      if (size >= 0 && fs.statSync(dest).size === size) continue;
    } catch {
      // missing: fetch it
    }
    await client.request({ method: 'GET', endpoint: `${PROXY}/${encodePath(`${where.path}/${rel}`)}`, toFile: dest });
    fetched++;
  }
  return fetched;
}
