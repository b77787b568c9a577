import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { MAX_HEADER_BYTES, decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors } from '../dist/safetensors.js';
import { FormatError, InformerError, ShapeError } from '../dist/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The golden fixtures: $INFORMER_FIXTURES, test/fixtures, or the shared folder next to the repo. */
function findFixtures() {
  const candidates = [
    process.env.INFORMER_FIXTURES,
    path.join(here, 'fixtures'),
    path.resolve(here, '../../shared/fixtures'),
    '/work/shared/fixtures',
  ].filter(Boolean);
  return candidates.find((d) => fs.existsSync(path.join(d, 'seed.safetensors')));
}
const FIXTURES = findFixtures();

function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'informer-st-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Calls fn and checks that it throws an instance of Cls whose message matches every pattern. */
function throwsLike(t, fn, Cls, patterns = [], msg = '') {
  try {
    fn();
  } catch (e) {
    t.ok(e instanceof Cls, `${msg} throws ${Cls.name}`, { got: `${e?.name}: ${e?.message}` });
    t.ok(e instanceof InformerError || !(Cls.prototype instanceof InformerError), `${msg} is an InformerError`);
    for (const p of [].concat(patterns)) t.match(e.message, p, `${msg} message matches ${p}`);
    return e;
  }
  t.fail(`${msg} did not throw`);
  return undefined;
}

/** Builds a safetensors file from an arbitrary header object (or raw header text) and data bytes. */
function rawFile(header, data = new Uint8Array(0), { pad = true, lengthOverride } = {}) {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  let json = new TextEncoder().encode(text);
  if (pad && json.length % 8 !== 0) {
    const p = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lengthOverride ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Header and data start of an encoded file, parsed independently of the library. */
function parseRaw(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { n, header, dataStart: 8 + n };
}

function sample() {
  return {
    'b.weight': { data: new Float32Array([1.5, -2.25, 3e-8, Infinity, -0, NaN]), shape: [2, 3] },
    'a.index': { data: new Int32Array([7, -8, 2147483647, -2147483648]), shape: [4] },
    'c.samples': {
      data: new BigInt64Array([0n, 11n, -1n, 9007199254740993n, -9223372036854775808n, 9223372036854775807n]),
      shape: [3, 2],
    },
    'd.num_batches_tracked': { data: new BigInt64Array([5n]), shape: [] },
    'e.empty': { data: new Float32Array(0), shape: [0, 4] },
  };
}

t.test('round trip F32 / I32 / I64 / scalar / empty tensors with metadata', async (t) => {
  const tensors = sample();
  const metadata = { config: JSON.stringify({ seq_len: 12 }), format: 'informer-test', 'ünïcödé ✓': 'välue ✓' };
  const bytes = encodeSafetensors(tensors, metadata);
  t.ok(bytes instanceof Uint8Array);
  const { n, header, dataStart } = parseRaw(bytes);
  t.equal(n % 8, 0, 'header padded to a multiple of 8');
  t.equal(dataStart % 8, 0);
  t.same(header.__metadata__, metadata);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  t.same(names, [...names].sort(), 'tensors in sorted-name order');
  let pos = 0;
  for (const name of names) {
    t.equal(header[name].data_offsets[0], pos, `${name} contiguous`);
    pos = header[name].data_offsets[1];
  }
  t.equal(dataStart + pos, bytes.length, 'no trailing bytes');
  t.same(header['c.samples'], { dtype: 'I64', shape: [3, 2], data_offsets: header['c.samples'].data_offsets });
  t.equal(header['a.index'].dtype, 'I32');
  t.equal(header['b.weight'].dtype, 'F32');
  t.same(header['d.num_batches_tracked'].shape, []);

  const back = decodeSafetensors(bytes);
  t.same(back.metadata, metadata);
  t.same(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, orig] of Object.entries(tensors)) {
    const got = back.tensors[name];
    t.equal(got.data.constructor, orig.data.constructor, `${name} dtype`);
    t.same(got.shape, orig.shape, `${name} shape`);
    t.same(Array.from(got.data), Array.from(orig.data), `${name} values`);
    t.not(got.data.buffer, orig.data.buffer, `${name} is a copy`);
  }
  t.ok(Object.is(back.tensors['b.weight'].data[4], -0), '-0 preserved');
  t.ok(Number.isNaN(back.tensors['b.weight'].data[5]), 'NaN preserved');
  t.equal(back.tensors['d.num_batches_tracked'].data.length, 1, 'scalar has one element');
});

t.test('no metadata: empty object back, and no __metadata__ entry written', async (t) => {
  const bytes = encodeSafetensors({ x: { data: new Float32Array([1, 2]), shape: [2] } });
  t.notOk('__metadata__' in parseRaw(bytes).header);
  const back = decodeSafetensors(bytes);
  t.same(back.metadata, {});
  t.same(Array.from(back.tensors.x.data), [1, 2]);
  const none = decodeSafetensors(encodeSafetensors({}));
  t.same(none.tensors, {});
});

t.test('reads typed-array views at odd offsets and copies into aligned arrays', async (t) => {
  const bytes = encodeSafetensors(sample(), { k: 'v' });
  // Place the file at byte offset 3 of a bigger buffer: the data start is then unaligned.
  const big = new Uint8Array(bytes.length + 5);
  big.set(bytes, 3);
  const view = big.subarray(3, 3 + bytes.length);
  const back = readSafetensors(view);
  t.same(Array.from(back.tensors['c.samples'].data), Array.from(sample()['c.samples'].data));
  t.equal(back.tensors['c.samples'].data.byteOffset % 8, 0);
  t.same(Array.from(back.tensors['a.index'].data), [7, -8, 2147483647, -2147483648]);
  // An ArrayBuffer works too.
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  t.same(readSafetensors(ab).metadata, { k: 'v' });
  // Buffers (from the file pool) are copied out, so mutating the source does not change the tensors.
  const buf = Buffer.from(bytes);
  const fromBuf = readSafetensors(buf);
  buf.fill(0);
  t.same(Array.from(fromBuf.tensors['a.index'].data), [7, -8, 2147483647, -2147483648]);
});

t.test('a tensor named __proto__ is an own property, not the prototype', async (t) => {
  const tensors = Object.create(null);
  Object.defineProperty(tensors, '__proto__', {
    value: { data: new Float32Array([1]), shape: [1] },
    enumerable: true,
  });
  const back = decodeSafetensors(encodeSafetensors(tensors));
  t.equal(Object.getPrototypeOf(back.tensors), Object.prototype);
  t.ok(Object.hasOwn(back.tensors, '__proto__'));
});

t.test('write / read a file; atomic write leaves no temp file', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'model.safetensors');
  writeSafetensors(file, sample(), { a: '1' });
  t.same(fs.readdirSync(dir), ['model.safetensors']);
  const back = readSafetensors(file);
  t.same(back.metadata, { a: '1' });
  t.same(back.tensors['b.weight'].shape, [2, 3]);
  t.same(fs.readFileSync(file), Buffer.from(encodeSafetensors(sample(), { a: '1' })), 'file = encode()');

  // Overwrite.
  writeSafetensors(file, { only: { data: new Int32Array([3]), shape: [1] } });
  t.same(Object.keys(readSafetensors(file).tensors), ['only']);
  t.same(fs.readdirSync(dir), ['model.safetensors']);
});

t.test('a failed write does not replace an existing file and leaves no temp file', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'keep.safetensors');
  writeSafetensors(file, sample());
  const before = fs.readFileSync(file);

  throwsLike(
    t,
    () => writeSafetensors(file, { bad: { data: new Float32Array(5), shape: [2, 3] } }),
    ShapeError,
    [/bad/, /\[2, 3\]/, /6/, /5/],
    'length mismatch',
  );
  throwsLike(
    t,
    () => writeSafetensors(file, { bad: { data: new Float64Array(6), shape: [6] } }),
    ShapeError,
    [/bad/, /Float64Array/],
    'unsupported array type',
  );
  throwsLike(t, () => writeSafetensors(file, { bad: { data: new Float32Array(2), shape: [2.5] } }), ShapeError, [/bad/], 'fractional dim');
  throwsLike(
    t,
    () => writeSafetensors(file, { bad: { data: new Float32Array(2), shape: [-1, -2] } }),
    ShapeError,
    [/bad/],
    'negative dims',
  );
  throwsLike(t, () => writeSafetensors(file, { bad: null }), ShapeError, [/bad/], 'null tensor');
  throwsLike(t, () => writeSafetensors(file, sample(), { n: 3 }), FormatError, [/"n"/, /string/], 'metadata not a string');
  throwsLike(
    t,
    () => writeSafetensors(file, { __metadata__: { data: new Float32Array(1), shape: [1] } }),
    FormatError,
    [/__metadata__/],
    'reserved name',
  );

  t.same(fs.readFileSync(file), before, 'existing file untouched');
  t.same(fs.readdirSync(dir), ['keep.safetensors'], 'no temp file');

  // An I/O failure after the temp file was written (rename onto a directory) removes the temp file.
  const sub = path.join(dir, 'adir');
  fs.mkdirSync(sub);
  fs.writeFileSync(path.join(sub, 'x'), 'x');
  t.throws(() => writeSafetensors(sub, sample()));
  t.same(fs.readdirSync(dir).sort(), ['adir', 'keep.safetensors'], 'temp file removed after rename failure');

  // A missing folder fails before anything is created.
  t.throws(() => writeSafetensors(path.join(dir, 'missing', 'x.safetensors'), sample()), { code: 'ENOENT' });
  t.same(fs.readdirSync(dir).sort(), ['adir', 'keep.safetensors']);
});

t.test('reading a missing file is the usual ENOENT error', async (t) => {
  t.throws(() => readSafetensors(path.join(os.tmpdir(), 'no-such-informer-file.safetensors')), { code: 'ENOENT' });
});

t.test('corrupt files give FormatError naming the file', async (t) => {
  const dir = tmpdir(t);
  const good = encodeSafetensors(sample(), { config: '{}' });
  const { n } = parseRaw(good);
  const file = path.join(dir, 'cut.safetensors');

  t.test('truncated at several offsets', async (t) => {
    const cuts = [0, 1, 4, 7, 8, 9, 8 + Math.floor(n / 2), 8 + n - 1, 8 + n, 8 + n + 3, good.length - 8, good.length - 1];
    for (const cut of cuts) {
      fs.writeFileSync(file, good.subarray(0, cut));
      throwsLike(t, () => readSafetensors(file), FormatError, [file], `cut at ${cut}`);
    }
    throwsLike(t, () => readSafetensors(good.subarray(0, 5)), FormatError, [/5 bytes/, /shorter than/], 'short');
    throwsLike(t, () => readSafetensors(good.subarray(0, 8 + 10)), FormatError, [/header length/, /larger than/], 'header cut');
    throwsLike(
      t,
      () => readSafetensors(good.subarray(0, good.length - 1)),
      FormatError,
      [/tensor "e\.empty"|tensor "d\.num_batches_tracked"|outside|data section/],
      'data cut',
    );
  });

  t.test('header length too large', async (t) => {
    const huge = new Uint8Array(good);
    new DataView(huge.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES) + 1n, true);
    throwsLike(t, () => readSafetensors(huge), FormatError, [/header length/, /limit/]);
    new DataView(huge.buffer).setBigUint64(0, 0xffffffffffffffffn, true);
    throwsLike(t, () => readSafetensors(huge), FormatError, [/header length/]);
    new DataView(huge.buffer).setBigUint64(0, BigInt(good.length), true);
    throwsLike(t, () => readSafetensors(huge), FormatError, [/header length/, /larger than/]);
  });

  t.test('bad header text', async (t) => {
    throwsLike(t, () => readSafetensors(rawFile('{"a": ')), FormatError, [/not valid JSON/]);
    throwsLike(t, () => readSafetensors(rawFile('')), FormatError, [/not valid JSON/]);
    throwsLike(t, () => readSafetensors(rawFile('[1, 2]')), FormatError, [/JSON object/, /array/]);
    throwsLike(t, () => readSafetensors(rawFile('null')), FormatError, [/JSON object/]);
    throwsLike(t, () => readSafetensors(rawFile('42')), FormatError, [/JSON object/]);
    const bad = rawFile('{"x": 1}');
    bad[9] = 0xff; // invalid UTF-8
    throwsLike(t, () => readSafetensors(bad), FormatError, [/UTF-8/]);
  });

  const f32 = (n) => new Uint8Array(new Float32Array(n).buffer);
  const entry = (over = {}) => ({ dtype: 'F32', shape: [2], data_offsets: [0, 8], ...over });

  t.test('bad entries', async (t) => {
    const cases = [
      ['entry not an object', { w: 3 }, [/"w"/, /object/]],
      ['missing dtype', { w: { shape: [2], data_offsets: [0, 8] } }, [/"w"/, /dtype/]],
      ['missing shape', { w: { dtype: 'F32', data_offsets: [0, 8] } }, [/"w"/, /shape/]],
      ['missing data_offsets', { w: { dtype: 'F32', shape: [2] } }, [/"w"/, /data_offsets/]],
      ['dtype not a string', { w: entry({ dtype: 1 }) }, [/"w"/, /dtype/]],
      ['shape not an array', { w: entry({ shape: 2 }) }, [/"w"/, /shape/]],
      ['negative dim', { w: entry({ shape: [-2] }) }, [/"w"/, /non-negative integers/]],
      ['fractional dim', { w: entry({ shape: [1.5] }) }, [/"w"/, /non-negative integers/]],
      ['string dim', { w: entry({ shape: ['2'] }) }, [/"w"/, /non-negative integers/]],
      ['offsets not a pair', { w: entry({ data_offsets: [0] }) }, [/"w"/, /data_offsets/]],
      ['offsets not integers', { w: entry({ data_offsets: [0, '8'] }) }, [/"w"/, /data_offsets/]],
      ['negative offsets', { w: entry({ data_offsets: [-8, 0] }) }, [/"w"/, /data_offsets/]],
      ['begin after end', { w: entry({ data_offsets: [8, 0] }) }, [/"w"/, /begin after end/]],
      ['offsets out of range', { w: entry({ data_offsets: [0, 16], shape: [4] }) }, [/"w"/, /outside/], 2],
      ['wrong byte length', { w: entry({ shape: [3] }) }, [/"w"/, /12 bytes/, /span 8/]],
      ['wrong byte length for I64', { w: entry({ dtype: 'I64' }) }, [/"w"/, /16 bytes/]],
      ['unsupported dtype F64', { w: entry({ dtype: 'F64', shape: [1] }) }, [/"w"/, /unsupported dtype "F64"/]],
      ['unsupported dtype F16', { w: entry({ dtype: 'F16', shape: [4] }) }, [/"w"/, /unsupported dtype "F16"/]],
      ['unsupported dtype BF16', { w: entry({ dtype: 'BF16', shape: [4] }) }, [/"w"/, /unsupported dtype "BF16"/]],
      ['unknown dtype', { w: entry({ dtype: 'Q4' }) }, [/"w"/, /unknown dtype "Q4"/]],
      ['metadata not an object', { __metadata__: 'x', w: entry() }, [/__metadata__/]],
      ['metadata value a number', { __metadata__: { a: 1 }, w: entry() }, [/__metadata__/, /"a"/, /string/]],
      ['metadata value an object', { __metadata__: { cfg: { x: 1 } }, w: entry() }, [/"cfg"/, /string/]],
      ['overlapping regions', { v: entry({ data_offsets: [0, 8] }), w: entry({ data_offsets: [0, 8] }) }, [/overlap/]],
      ['gap between regions', { v: entry({ shape: [1], data_offsets: [0, 4] }), w: entry({ shape: [1], data_offsets: [8, 12] }) }, [/gap/]],
    ];
    for (const [label, header, patterns, floats] of cases) {
      const data = f32(floats ?? Math.max(2, ...Object.values(header).map((e) => (e?.data_offsets?.[1] ?? 8) / 4)));
      throwsLike(
        t,
        () => decodeSafetensors(rawFile(header, data), 'bad.safetensors'),
        FormatError,
        [/^bad\.safetensors: /, ...patterns],
        label,
      );
    }
    throwsLike(t, () => decodeSafetensors(rawFile({ w: entry() }, f32(3))), FormatError, [/trailing/], 'trailing bytes');
  });

  t.test('valid hand-made files', async (t) => {
    // Unpadded header, null metadata, zero-length tensor in the middle, entry with extra fields.
    const header = {
      __metadata__: null,
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8], extra: true },
      b: { dtype: 'I32', shape: [0], data_offsets: [8, 8] },
      c: { dtype: 'I64', shape: [], data_offsets: [8, 16] },
    };
    const data = new Uint8Array(16);
    new DataView(data.buffer).setFloat32(0, 1.5, true);
    new DataView(data.buffer).setFloat32(4, -2, true);
    new DataView(data.buffer).setBigInt64(8, -3n, true);
    const back = decodeSafetensors(rawFile(header, data, { pad: false }));
    t.same(back.metadata, {});
    t.same(Array.from(back.tensors.a.data), [1.5, -2]);
    t.equal(back.tensors.b.data.length, 0);
    t.same(back.tensors.c.shape, []);
    t.equal(back.tensors.c.data[0], -3n);
  });

  t.test('readSafetensors rejects other argument types', async (t) => {
    t.throws(() => readSafetensors(42), TypeError);
    t.throws(() => readSafetensors(null), TypeError);
  });
});

t.test('golden fixture seed.safetensors', { skip: FIXTURES ? false : 'fixtures not found' }, async (t) => {
  const file = path.join(FIXTURES, 'seed.safetensors');
  const { tensors, metadata } = readSafetensors(file);
  const w = tensors['param.projection.weight'];
  t.ok(w.data instanceof Float32Array);
  t.same(w.shape, [1, 32]);
  const s0 = tensors['sample.0'];
  t.ok(s0.data instanceof BigInt64Array, 'sample.0 is I64');
  t.same(s0.shape, [12, 12]);
  t.ok(
    Array.from(s0.data).every((v) => v >= 0n && v < 12n),
    'key samples within [0, L_K)',
  );
  t.same(tensors['sample.1'].shape, [18, 15]);
  t.same(tensors['param.enc_embedding.position_embedding.pe'].shape, [1, 5000, 32]);
  t.same(tensors.loss.shape, [1]);
  t.same(tensors['input.x_enc'].shape, [32, 12, 1]);
  t.same(tensors['input.x_mark_enc'].shape, [32, 12, 4]);
  // pe[0] = [sin 0, cos 0, ...] = [0, 1, 0, 1, ...]
  const pe = tensors['param.enc_embedding.position_embedding.pe'].data;
  t.same(Array.from(pe.subarray(0, 4)), [0, 1, 0, 1]);
  t.equal(metadata.format, 'informer-fixture-v1');
  t.equal(JSON.parse(metadata.config).name, 'seed');
  for (const [name, tt] of Object.entries(tensors)) {
    if (!(tt.data instanceof Float32Array || tt.data instanceof BigInt64Array)) t.fail(`${name} has dtype ${tt.data.constructor.name}`);
  }

  // Independent check of the offsets: every tensor's bytes equal the file's bytes at its data_offsets.
  const bytes = fs.readFileSync(file);
  const { header, dataStart } = parseRaw(bytes);
  let checked = 0;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const got = tensors[name];
    const raw = bytes.subarray(dataStart + info.data_offsets[0], dataStart + info.data_offsets[1]);
    if (!Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(raw)) t.fail(`${name} bytes differ`);
    checked++;
  }
  t.equal(checked, Object.keys(tensors).length, 'every tensor checked');

  // Re-encoding gives the same data section (the fixture is also sorted and contiguous).
  const again = encodeSafetensors(tensors, metadata);
  const re = parseRaw(again);
  t.ok(Buffer.from(again.subarray(re.dataStart)).equals(bytes.subarray(dataStart)), 'same data section');
  t.same(decodeSafetensors(again).metadata, metadata);
});

t.test('golden fixtures with BatchNorm (paper_small, full_fixed)', { skip: FIXTURES ? false : 'fixtures not found' }, async (t) => {
  for (const name of ['paper_small', 'full_fixed']) {
    const file = path.join(FIXTURES, `${name}.safetensors`);
    if (!fs.existsSync(file)) continue;
    const { tensors } = readSafetensors(file);
    const nbt = tensors['param.encoder.conv_layers.0.norm.num_batches_tracked'];
    t.ok(nbt.data instanceof BigInt64Array, `${name}: num_batches_tracked is I64`);
    t.same(nbt.shape, []);
    t.equal(nbt.data[0], 0n);
    t.equal(tensors['bn_after_train.encoder.conv_layers.0.norm.num_batches_tracked'].data[0], 1n);
    t.same(tensors['param.projection.weight'].shape, [7, 64]);
  }
  if (fs.existsSync(path.join(FIXTURES, 'paper_small.safetensors'))) {
    const { tensors } = readSafetensors(path.join(FIXTURES, 'paper_small.safetensors'));
    t.same(tensors['sample.0'].shape, [96, 25]);
    t.same(tensors['sample.1'].shape, [48, 20]);
    t.same(tensors['sample.2'].shape, [72, 25]);
  }
});

// ---------------------------------------------------------------------------------------------------
// lib/tensor.ts helpers (kept here with the container tests; they could move to test/tensor.test.js).

t.test('tensor helpers', async (t) => {
  const { tensor, numel, assertShape, assertFinite, assertDtype, isTensor, dtypeOf, formatShape, unravelIndex } = await import(
    '../dist/tensor.js'
  );
  const { ValueError } = await import('../dist/errors.js');

  t.equal(numel([]), 1, 'scalar');
  t.equal(numel([2, 3, 4]), 24);
  t.equal(numel([5, 0]), 0);
  throwsLike(t, () => numel([2, -1]), ShapeError, [/-1/]);
  throwsLike(t, () => numel([1.5]), ShapeError, [/1\.5/]);

  const shape = [2, 3];
  const x = tensor(new Float32Array(6), shape);
  t.same(x.shape, [2, 3]);
  t.not(x.shape, shape, 'shape copied');
  t.equal(tensor(new BigInt64Array(1), []).data.length, 1);
  throwsLike(t, () => tensor(new Float32Array(5), [2, 3]), ShapeError, [/\[2, 3\]/, /6 elements/, /5/]);
  throwsLike(t, () => tensor(new Float32Array(5), [2, 3], 'xEnc'), ShapeError, [/^xEnc: /]);
  throwsLike(t, () => tensor(new Float64Array(2), [2]), ShapeError, [/Float64Array/]);
  throwsLike(t, () => tensor([1, 2], [2]), ShapeError, [/Array\(2\)/]);
  throwsLike(t, () => tensor(new Float32Array(2), [2, -1]), ShapeError, [/non-negative integers/]);
  throwsLike(t, () => tensor(new Float32Array(2), '2'), ShapeError, [/array/]);

  t.ok(isTensor(x));
  t.ok(isTensor({ data: new Int32Array(0), shape: [0, 7] }));
  t.notOk(isTensor({ data: new Float32Array(5), shape: [2, 3] }), 'length mismatch');
  t.notOk(isTensor({ data: new Float64Array(6), shape: [2, 3] }));
  t.notOk(isTensor({ data: [1], shape: [1] }));
  t.notOk(isTensor({ data: new Float32Array(1), shape: [-1] }));
  t.notOk(isTensor(null));
  t.notOk(isTensor(new Float32Array(1)));

  t.equal(dtypeOf(new Float32Array(1)), 'F32');
  t.equal(dtypeOf(new Int32Array(1)), 'I32');
  t.equal(dtypeOf(new BigInt64Array(1)), 'I64');
  t.equal(dtypeOf(new Uint8Array(1)), undefined);
  t.equal(dtypeOf(Buffer.alloc(4)), undefined);
  t.equal(dtypeOf(new DataView(new ArrayBuffer(4))), undefined);
  t.equal(formatShape([32, 12, 7]), '[32, 12, 7]');
  t.equal(formatShape([]), '[]');
  t.same(unravelIndex(17, [2, 3, 4]), [1, 1, 1]);
  t.same(unravelIndex(0, []), []);

  const xEnc = tensor(new Float32Array(32 * 12 * 7), [32, 12, 7]);
  t.same(assertShape('xEnc', xEnc, [null, 12, 7]), [32, 12, 7]);
  const e = throwsLike(t, () => assertShape('xEnc', xEnc, [null, 12, 1], ['B', 'seqLen', 'encIn']), ShapeError, [
    /^xEnc: expected shape \[B, 12, 1\], got \[32, 12, 7\]/,
    /encIn: expected 1, got 7/,
  ]);
  t.equal(e?.code, 'ERR_INFORMER_SHAPE');
  throwsLike(t, () => assertShape('xEnc', xEnc, [null, 12, 1]), ShapeError, [
    /^xEnc: expected shape \[\*, 12, 1\], got \[32, 12, 7\]/,
    /dim 2: expected 1, got 7/,
  ]);
  throwsLike(t, () => assertShape('xEnc', xEnc, [null, 12]), ShapeError, [/expected 2 dims, got 3/]);
  throwsLike(t, () => assertShape('xEnc', { data: new Float32Array(3), shape: [2, 2] }, [2, 2]), ShapeError, [
    /^xEnc: /,
    /4 elements/,
    /3/,
  ]);
  throwsLike(t, () => assertShape('xEnc', new Float32Array(4), [4]), ShapeError, [/^xEnc: expected a Tensor/]);
  throwsLike(t, () => assertShape('xEnc', undefined, [4]), ShapeError, [/^xEnc: expected a Tensor/, /undefined/]);
  throwsLike(t, () => assertShape('xEnc', { data: new Float64Array(4), shape: [4] }, [4]), ShapeError, [/Float64Array/]);

  t.equal(assertDtype('idx', tensor(new BigInt64Array(2), [2]), ['I32', 'I64']), 'I64');
  throwsLike(t, () => assertDtype('idx', tensor(new Float32Array(2), [2]), 'I64'), ShapeError, [
    /^idx: expected dtype I64 \(BigInt64Array\), got F32 \(Float32Array\)/,
  ]);

  assertFinite('ok', new Float32Array([0, -1, 3.4e38, -0]));
  const v = throwsLike(t, () => assertFinite('xEnc', new Float32Array([0, 1, NaN, 2, Infinity])), ValueError, [
    /^xEnc: /,
    /NaN/,
    /flat index 2/,
    /2 non-finite values/,
  ]);
  t.equal(v?.code, 'ERR_INFORMER_VALUE');
  throwsLike(t, () => assertFinite('y', new Float32Array([1, -Infinity]), [1, 2]), ValueError, [/-Infinity/, /flat index 1/, /\[0, 1\]/]);
});
