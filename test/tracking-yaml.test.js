// The YAML and value formats MLflow reads: PyYAML's quoting rules (YAML 1.1), Python float repr,
// str() and json.dumps. When python3 with PyYAML is on the machine, the emitter is also compared
// byte for byte with PyYAML's CSafeDumper (what MLflow calls) on MLflow-shaped and random data.
import t from 'tap';
import { spawnSync } from 'node:child_process';

import { dumpYaml, parseYaml, pyFloatRepr, pyJsonDumps, pyStr } from '../dist/tracking/index.js';

t.test('scalars are quoted exactly when YAML 1.1 would read them as something else', async (t) => {
  const doc = {
    artifact_uri: 'file:///tmp/mlruns/1/abc/artifacts',
    experiment_id: '1',
    big_id: '606783375233873416',
    status: 3,
    end_time: null,
    empty: '',
    yes: 'yes',
    on: 'On',
    none: 'None',
    tilde: '~',
    date: '2024-01-01',
    stamp: '2024-01-12 05:17:31.634689',
    float_like: '1.5',
    exp_like: '1e5',
    version: '3.10.12',
    colon: 'a: b',
    hash: 'a #b',
    quote: "it's",
    lead: ' x',
    dash: '- x',
    multi: 'a\nb',
    tab: 'a\tb',
    unicode: 'héllo',
    list: [],
    map: {},
  };
  t.equal(
    dumpYaml(doc),
    [
      'artifact_uri: file:///tmp/mlruns/1/abc/artifacts',
      "big_id: '606783375233873416'",
      "colon: 'a: b'",
      "dash: '- x'",
      "date: '2024-01-01'",
      "empty: ''",
      'end_time: null',
      'exp_like: 1e5',
      "experiment_id: '1'",
      "float_like: '1.5'",
      "hash: 'a #b'",
      "lead: ' x'",
      'list: []',
      'map: {}',
      "multi: 'a",
      '',
      "  b'",
      'none: None',
      "'on': 'On'",
      "quote: it's",
      "stamp: '2024-01-12 05:17:31.634689'",
      'status: 3',
      'tab: "a\\tb"',
      "tilde: '~'",
      'unicode: héllo',
      'version: 3.10.12',
      "'yes': 'yes'",
      '',
    ].join('\n'),
  );
  t.same(parseYaml(dumpYaml(doc)), doc, 'reads back to the same data');
  t.equal(dumpYaml({ u: 'héllo' }, { allowUnicode: false }), 'u: "h\\xE9llo"\n');
  t.equal(dumpYaml({ b: 1, a: 2 }, { sortKeys: false }), 'b: 1\na: 2\n');
  t.equal(dumpYaml({ a: [{ b: 1, c: [1, 2] }, 'x'] }), 'a:\n- b: 1\n  c:\n  - 1\n  - 2\n- x\n');
  t.equal(
    dumpYaml({ inputs: '[{"name": "x_enc", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 96, 7]}}]' }),
    'inputs: \'[{"name": "x_enc", "type": "tensor", "tensor-spec": {"dtype": "float32",\n  "shape": [-1, 96, 7]}}]\'\n',
    'long lines fold at 80 columns like PyYAML',
  );
});

t.test('Python float repr, str() and json.dumps', async (t) => {
  const cases = [
    [0.5, '0.5'],
    [1, '1.0'],
    [0, '0.0'],
    [-0, '-0.0'],
    [1e-7, '1e-07'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1e16, '1e+16'],
    [1e15, '1000000000000000.0'],
    [123456789.125, '123456789.125'],
    [1 / 3, '0.3333333333333333'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [-2.5e-300, '-2.5e-300'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
  ];
  for (const [v, want] of cases) t.equal(pyFloatRepr(v), want, String(v));
  t.equal(pyStr(96), '96');
  t.equal(pyStr(0.001), '0.001');
  t.equal(pyStr(true), 'True');
  t.equal(pyStr(null), 'None');
  t.equal(pyStr('x'), 'x');
  t.equal(pyStr(2 ** 70), '1180591620717411303424');
  t.equal(pyJsonDumps([{ a: 1, b: 'é', c: [true, null, 0.5] }]), '[{"a": 1, "b": "\\u00e9", "c": [true, null, 0.5]}]');
});

const PY = `
import json, sys, yaml
Dumper = getattr(yaml, 'CSafeDumper', yaml.SafeDumper)
cases = json.load(sys.stdin)
out = [yaml.dump(c['v'], Dumper=Dumper, default_flow_style=False, allow_unicode=c['u'], sort_keys=True) for c in cases]
print(json.dumps({'libyaml': Dumper is not yaml.SafeDumper, 'out': out}))
`;

function python(input) {
  const r = spawnSync('python3', ['-c', PY], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  return r.status === 0 ? JSON.parse(r.stdout) : null;
}

t.test('byte-identical to PyYAML (as MLflow calls it), when python3 + PyYAML are available', async (t) => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = (a) => a[Math.floor(rnd() * a.length)];
  const atoms = [
    'a',
    'x y',
    ':',
    '#',
    "'",
    '"',
    '-',
    '?',
    '[',
    '{',
    ',',
    '&',
    '*',
    '!',
    '|',
    '>',
    '%',
    '@',
    '`',
    '.',
    '0',
    '1',
    'e',
    '+',
    '_',
    '\n',
    '\t',
    'é',
    '€',
    '😀',
    '\\',
    '/',
    'yes',
    'null',
    '~',
    'True',
    '2024-01-01',
    '0x1F',
    '.inf',
    '=',
    '<<',
    '---',
    ' ',
    '\u00a0',
    '\u2028',
    'file:///tmp/mlruns/1',
    'a fairly long run of words to make lines wrap past eighty columns',
  ];
  const str = () => Array.from({ length: Math.floor(rnd() * (rnd() < 0.2 ? 40 : 6)) }, () => pick(atoms)).join('');
  const val = (d) => {
    const r = rnd();
    if (d < 3 && r < 0.15)
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 4) }, (_, i) => [str() || `k${i}`, val(d + 1)]));
    if (d < 3 && r < 0.25) return Array.from({ length: Math.floor(rnd() * 4) }, () => val(d + 1));
    if (r < 0.3) return Math.floor(rnd() * 1e13);
    if (r < 0.33) return null;
    if (r < 0.36) return rnd() < 0.5;
    return str();
  };
  const cases = [
    {
      u: true,
      v: {
        artifact_uri: 'file:///home/ada/mlruns/1/0f3a/artifacts',
        end_time: null,
        entry_point_name: '',
        experiment_id: '1',
        lifecycle_stage: 'active',
        run_id: '0f3a',
        run_name: 'swift-heron-417',
        run_uuid: '0f3a',
        source_name: '',
        source_type: 4,
        source_version: '',
        start_time: 1700000000000,
        status: 1,
        tags: [],
        user_id: 'ada',
        deleted_time: null,
      },
    },
    {
      u: true,
      v: { aliases: { champion: '1' }, creation_timestamp: 1, description: null, last_updated_timestamp: 2, name: 'informer model' },
    },
    {
      u: false,
      v: {
        flavors: { onnx: { providers: ['CUDAExecutionProvider', 'CPUExecutionProvider'], code: null } },
        signature: {
          inputs: '[{"name": "x_enc", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 96, 7]}}]',
          params: null,
        },
      },
    },
    ...Array.from({ length: 300 }, () => ({
      u: rnd() < 0.5,
      v: { key: val(0), nested: { inner: val(1), list: [val(2), val(2)] }, [str() || 'z']: val(0) },
    })),
  ];
  const py = python(JSON.stringify(cases));
  if (py === null) {
    t.skip('python3 with PyYAML is not available');
    return;
  }
  if (!py.libyaml) t.comment('PyYAML without libyaml: comparing with the pure-Python dumper (may differ on exotic strings)');
  let same = 0;
  cases.forEach((c, i) => {
    const mine = dumpYaml(c.v, { allowUnicode: c.u });
    if (mine === py.out[i]) same++;
    else if (py.libyaml) t.equal(mine, py.out[i], `case ${i}`);
  });
  if (py.libyaml) t.equal(same, cases.length, 'every document identical');
  for (let i = 0; i < 3; i++) t.equal(dumpYaml(cases[i].v, { allowUnicode: cases[i].u }), py.out[i], `MLflow-shaped case ${i}`);
});
