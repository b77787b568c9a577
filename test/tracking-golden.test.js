// Golden bytes: a small run written with an injected clock, user, source and random generator must
// produce exactly these files (the MLflow FileStore layout, byte for byte as MLflow writes it).
import t from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import * as tracking from '../dist/tracking/index.js';
import * as artifact from '../dist/artifact/index.js';

const pkgVersion = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

const EXP = '8623206283555110438';
const RUN = '2442ffeede6ab0781f47fb14845f2683';
const R = `${EXP}/${RUN}`;
const SIG =
  '[{\\"name\\": \\"x_enc\\", \\"type\\": \\"tensor\\", \\"tensor-spec\\": {\\"dtype\\": \\"float32\\", \\"shape\\": [-1, 96, 7]}}]';

const GOLDEN = {
  '.trash/': null,
  '0/': null,
  '0/meta.yaml':
    "artifact_location: ${ROOT}/0\ncreation_time: 1700000000000\nexperiment_id: '0'\nlast_update_time: 1700000000000\nlifecycle_stage: active\nname: Default\n",
  [`${EXP}/`]: null,
  [`${EXP}/meta.yaml`]: `artifact_location: \${ROOT}/${EXP}\ncreation_time: 1700000000000\nexperiment_id: '${EXP}'\nlast_update_time: 1700000000000\nlifecycle_stage: active\nname: informer-golden\n`,
  [`${R}/`]: null,
  [`${R}/meta.yaml`]:
    `artifact_uri: \${ROOT}/${R}/artifacts\nend_time: 1700000001030\nentry_point_name: ''\nexperiment_id: '${EXP}'\n` +
    `lifecycle_stage: active\nrun_id: ${RUN}\nrun_name: golden-run\nrun_uuid: ${RUN}\nsource_name: ''\nsource_type: 4\n` +
    `source_version: ''\nstart_time: 1700000001000\nstatus: 3\ntags: []\nuser_id: ada\n`,
  [`${R}/artifacts/`]: null,
  [`${R}/artifacts/model/`]: null,
  [`${R}/artifacts/model/MLmodel`]:
    'artifact_path: model\nflavors:\n  informer_node:\n    config_file: config.json\n    data: model.safetensors\n' +
    `    informer_node_version: ${pkgVersion}\nmlflow_version: 2.22.0\nmodel_size_bytes: 35\nmodel_uuid: 7fc3c2c1eb9394af89bee45c15f85978\n` +
    `run_id: ${RUN}\nsignature:\n  inputs: '[{"name": "x_enc", "type": "tensor", "tensor-spec": {"dtype": "float32",\n` +
    `    "shape": [-1, 96, 7]}}]'\n  outputs: null\n  params: null\nutc_time_created: '2023-11-14 22:13:21.030000'\n`,
  [`${R}/artifacts/model/config.json`]: '{\n  "seqLen": 96,\n  "dModel": 8\n}\n',
  [`${R}/artifacts/model/model.safetensors`]: 'W',
  [`${R}/metrics/`]: null,
  [`${R}/metrics/loss/`]: null,
  [`${R}/metrics/loss/train`]: '1700000001020 1e-07 2\n',
  [`${R}/metrics/mse`]: '1700000001010 0.5 0\n1700000001020 0.25 1\n',
  [`${R}/metrics/odd`]: '1700000001020 nan 1\n',
  [`${R}/params/`]: null,
  [`${R}/params/lr`]: '0.001',
  [`${R}/params/seq_len`]: '96',
  [`${R}/params/use_amp`]: 'False',
  [`${R}/tags/`]: null,
  [`${R}/tags/mlflow.log-model.history`]:
    `[{"run_id": "${RUN}", "artifact_path": "model", "utc_time_created": "2023-11-14 22:13:21.030000", ` +
    `"model_uuid": "7fc3c2c1eb9394af89bee45c15f85978", "flavors": {"informer_node": {"config_file": "config.json", ` +
    `"data": "model.safetensors", "informer_node_version": "${pkgVersion}"}}, "signature": {"inputs": "${SIG}", ` +
    `"outputs": null, "params": null}}]`,
  [`${R}/tags/mlflow.runName`]: 'golden-run',
  [`${R}/tags/mlflow.source.name`]: 'train.mjs',
  [`${R}/tags/mlflow.source.type`]: 'LOCAL',
  [`${R}/tags/mlflow.user`]: 'ada',
  [`${R}/tags/team`]: 'forecast',
  'models/': null,
  'models/informer/': null,
  'models/informer/aliases/': null,
  'models/informer/aliases/champion': '1',
  'models/informer/meta.yaml':
    "aliases:\n  champion: '1'\ncreation_timestamp: 1700000001030\ndescription: null\nlast_updated_timestamp: 1700000001040\nname: informer\n",
  'models/informer/version-1/': null,
  'models/informer/version-1/meta.yaml':
    'aliases: []\ncreation_timestamp: 1700000001030\ncurrent_stage: None\ndescription: null\nlast_updated_timestamp: 1700000001030\n' +
    `name: informer\nrun_id: ${RUN}\nrun_link: null\nsource: \${ROOT}/${R}/artifacts/model\nstatus: READY\nstatus_message: null\n` +
    `storage_location: \${ROOT}/${R}/artifacts/model\nuser_id: ada\nversion: 1\n`,
};

function snapshot(root) {
  const out = {};
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out[`${relative(root, p)}/`] = null;
        walk(p);
      } else out[relative(root, p)] = readFileSync(p, 'utf8').split(tracking.pathToUri(root)).join('${ROOT}');
    }
  };
  walk(root);
  return out;
}

t.test('a small run is written byte for byte as MLflow lays it out', async (t) => {
  const root = t.testdir();
  let clock = 1700000000000;
  let n = 0;
  const randomHex = (bytes) =>
    createHash('sha256')
      .update(`golden-${n++}`)
      .digest('hex')
      .slice(0, bytes * 2);
  tracking.setTrackingUri(root, { now: () => clock, user: 'ada', sourceName: 'train.mjs', randomHex });
  t.teardown(() => tracking.setTrackingUri(undefined));

  tracking.setExperiment('informer-golden');
  clock += 1000;
  const info = tracking.startRun({ runName: 'golden-run', tags: { team: 'forecast' } }, () => {
    tracking.logParams({ lr: 0.001, seq_len: 96, use_amp: false });
    clock += 10;
    tracking.logMetric('mse', 0.5, 0);
    clock += 10;
    tracking.logMetric('mse', 0.25, 1);
    tracking.logMetric('odd', NaN, 1);
    tracking.logMetric('loss/train', 1e-7, 2);
    clock += 10;
    return artifact.logModel({ save: (p) => writeFileSync(p, 'W'), config: { seqLen: 96, dModel: 8 } }, 'model', {
      signature: { inputs: [{ name: 'x_enc', type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 96, 7] } }] },
      registeredModelName: 'informer',
    });
  });
  clock += 10;
  tracking.setAlias('informer', 'champion', 1);

  t.equal(info.runId, RUN);
  t.equal(info.modelUri, `runs:/${RUN}/model`);
  t.equal(info.registeredModelVersion, 1);
  const got = snapshot(root);
  t.same(Object.keys(got).sort(), Object.keys(GOLDEN).sort(), 'exactly the expected files and folders');
  for (const [file, bytes] of Object.entries(GOLDEN)) t.equal(got[file], bytes, file);
});
