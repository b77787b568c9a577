// The Dockerfile, checked without a container runtime: everything its stages copy exists (in the
// checkout for the build stage, in an installed checkout for the runtime stage), the runtime runs as
// a non-root user, and the default command's options are ones `informer serve` accepts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lines = readFileSync(join(root, 'Dockerfile'), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = [];
for (const l of lines) {
  if (/^FROM /i.test(l)) stages.push([]);
  stages.at(-1)?.push(l);
}

t.test('two stages: a build stage and a slim runtime', async (t) => {
  t.equal(stages.length, 2);
  t.match(stages[0][0], /^FROM node:\d+-\S+ AS build$/);
  t.match(stages[1][0], /^FROM node:\d+-\S*slim$/);
});

t.test('the build stage copies files that exist in the checkout', async (t) => {
  for (const l of stages[0].filter((x) => /^COPY /.test(x))) {
    const parts = l.split(/\s+/).slice(1);
    for (const src of parts.slice(0, -1)) t.ok(existsSync(join(root, src)), `${src} exists`);
  }
});

t.test('the runtime stage copies what an installed checkout has, and runs as non-root', async (t) => {
  for (const l of stages[1].filter((x) => /^COPY --from=build /.test(x))) {
    const src = l.split(/\s+/)[2].replace(/^\/src\//, '');
    t.ok(existsSync(join(root, src)), `${src} exists after npm install`);
  }
  const user = stages[1].find((l) => /^USER /.test(l));
  t.ok(user && !/root|^USER 0$/.test(user), 'an unprivileged user');
  t.ok(
    stages[1].some((l) => /^HEALTHCHECK .*\/v2\/health\/ready/.test(l)),
    'a health check on the readiness endpoint',
  );
});

t.test("the default command's options are accepted by informer serve", async (t) => {
  const entry = JSON.parse(stages[1].find((l) => /^ENTRYPOINT /.test(l)).replace(/^ENTRYPOINT /, ''));
  const cmd = JSON.parse(stages[1].find((l) => /^CMD /.test(l)).replace(/^CMD /, ''));
  t.same(entry, ['informer']);
  t.equal(cmd[0], 'serve');
  const help = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'index.js'), 'serve', '--help'], { encoding: 'utf8' });
  t.equal(help.status, 0);
  for (const flag of cmd.filter((a) => a.startsWith('--'))) t.match(help.stdout, flag, `serve takes ${flag}`);
  t.equal(cmd[cmd.indexOf('--host') + 1], '0.0.0.0', 'listens on every interface in the container');
  const build = stages[0].find((l) => /^RUN .*npm ci/.test(l));
  t.match(build, /INFORMER_CUDA=(OFF|AUTO|ON) /, 'a valid INFORMER_CUDA');
});
