import t from 'tap';
import { inspect } from 'node:util';

import {
  ConfigError,
  DisposedError,
  ErrorCodes,
  FormatError,
  InformerError,
  NativeError,
  NativeStatus,
  ShapeError,
  StateDictError,
  ValueError,
  OutOfMemoryError,
  InternalError,
} from '../dist/errors.js';

const SUBCLASSES = [
  [ConfigError, 'ConfigError', 'ERR_INFORMER_CONFIG'],
  [ShapeError, 'ShapeError', 'ERR_INFORMER_SHAPE'],
  [ValueError, 'ValueError', 'ERR_INFORMER_VALUE'],
  [FormatError, 'FormatError', 'ERR_INFORMER_FORMAT'],
  [StateDictError, 'StateDictError', 'ERR_INFORMER_STATE_DICT'],
  [DisposedError, 'DisposedError', 'ERR_INFORMER_DISPOSED'],
  [NativeError, 'NativeError', 'ERR_INFORMER_NATIVE'],
];

t.test('InformerError base class', async (t) => {
  const e = new InformerError('boom');
  t.ok(e instanceof Error);
  t.ok(e instanceof InformerError);
  t.equal(e.name, 'InformerError');
  t.equal(e.code, 'ERR_INFORMER');
  t.equal(e.message, 'boom');
  t.equal(String(e), 'InformerError: boom');
  t.match(e.stack, /^InformerError: boom\n/);
  t.notOk('cause' in e, 'no cause property unless one is given');
});

t.test('subclasses: name, code, instanceof', async (t) => {
  const codes = new Set();
  for (const [Cls, name, code] of SUBCLASSES) {
    const e = new Cls(`msg of ${name}`);
    t.ok(e instanceof Error, `${name} is an Error`);
    t.ok(e instanceof InformerError, `${name} is an InformerError`);
    t.ok(e instanceof Cls, `${name} instanceof itself`);
    t.equal(e.name, name, `${name}.name`);
    t.equal(e.constructor.name, name);
    t.equal(e.code, code, `${name}.code`);
    t.equal(e.message, `msg of ${name}`);
    t.equal(String(e), `${name}: msg of ${name}`);
    t.match(e.stack, new RegExp(`^${name}: msg of ${name}`));
    for (const [Other, otherName] of SUBCLASSES) {
      if (Other !== Cls) t.notOk(e instanceof Other, `${name} is not a ${otherName}`);
    }
    codes.add(code);
  }
  t.equal(codes.size, SUBCLASSES.length, 'every class has its own code');
});

t.test('name is not an own enumerable property; code is', async (t) => {
  const e = new ConfigError('x');
  t.notOk(Object.keys(e).includes('name'));
  t.ok(Object.keys(e).includes('code'));
  t.match(inspect(e), /code: 'ERR_INFORMER_CONFIG'/);
  t.same(JSON.parse(JSON.stringify(e)).code, 'ERR_INFORMER_CONFIG');
});

t.test('cause is passed through', async (t) => {
  const inner = new Error('inner');
  const e = new FormatError('outer', { cause: inner });
  t.equal(e.cause, inner);
  const n = new NativeError('native', { cause: inner, status: 6 });
  t.equal(n.cause, inner);
  t.equal(n.status, 6);
  t.equal(new NativeError('no status').status, undefined);
});

t.test('ErrorCodes constants', async (t) => {
  t.equal(ErrorCodes.CONFIG, 'ERR_INFORMER_CONFIG');
  t.equal(ErrorCodes.NATIVE, 'ERR_INFORMER_NATIVE');
  t.ok(Object.isFrozen(ErrorCodes));
});

t.test('out-of-memory and internal errors are NativeErrors with their status', async (t) => {
  const oom = new OutOfMemoryError('allocating 4 GiB workspace');
  t.ok(oom instanceof NativeError);
  t.ok(oom instanceof InformerError);
  t.equal(oom.name, 'OutOfMemoryError');
  t.equal(oom.code, 'ERR_INFORMER_NATIVE');
  t.equal(oom.status, NativeStatus.OUT_OF_MEMORY);
  const internal = new InternalError('unexpected null');
  t.ok(internal instanceof NativeError);
  t.equal(internal.name, 'InternalError');
  t.equal(internal.status, NativeStatus.INTERNAL);
  t.notOk(internal instanceof OutOfMemoryError);
  t.equal(NativeStatus.INVALID_CONFIG, 1);
  t.equal(NativeStatus.INTERNAL, 6);
  t.equal(NativeStatus.DISPOSED, 7);
});

t.test('the native addon throws the registered class of each status, message verbatim', async (t) => {
  const { Informer } = await import('../dist/index.js');
  const { loadAddon } = await import('../dist/native.js');
  const { NativeModel } = loadAddon();
  const cfg = {
    seqLen: 12,
    labelLen: 6,
    predLen: 6,
    encIn: 1,
    decIn: 1,
    cOut: 1,
    dModel: 16,
    nHeads: 2,
    dFf: 32,
    eLayers: 1,
    dLayers: 1,
    freq: 'h',
  };
  const { toNativeConfig, resolveConfig } = await import('../dist/config.js');
  const native = toNativeConfig(resolveConfig(cfg));
  // 1 config (raised in C++, not by the TypeScript checks in front of it)
  t.throws(() => new NativeModel({ ...native, n_heads: 3 }), { name: 'ConfigError', message: 'd_model 16 is not divisible by n_heads 3' });
  const m = new NativeModel(native);
  // 2 shape, 3 value, 4 state dict
  t.throws(() => m.forwardSync({}, 1), ShapeError);
  t.throws(() => m.deterministicSamples(99), ValueError);
  t.throws(() => m.loadState([]), StateDictError);
  // 7 disposed
  m.dispose();
  t.throws(() => m.paramInfo(), { name: 'DisposedError', message: 'the model has been disposed' });
  // 5 out of memory: parameters far beyond any machine's memory
  t.throws(() => new Informer({ ...cfg, dModel: 65536, dFf: 1 << 20, nHeads: 1 }), { name: 'OutOfMemoryError', message: /out of memory/ });
});
