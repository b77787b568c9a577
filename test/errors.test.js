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
  errorFromNative,
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

t.test('errorFromNative maps status codes 1..6', async (t) => {
  const table = [
    [1, ConfigError, 'ERR_INFORMER_CONFIG'],
    [2, ShapeError, 'ERR_INFORMER_SHAPE'],
    [3, ValueError, 'ERR_INFORMER_VALUE'],
    [4, StateDictError, 'ERR_INFORMER_STATE_DICT'],
    [5, NativeError, 'ERR_INFORMER_NATIVE'],
    [6, NativeError, 'ERR_INFORMER_NATIVE'],
  ];
  for (const [status, Cls, code] of table) {
    const e = errorFromNative(status, `native message ${status}`);
    t.ok(e instanceof Cls, `status ${status} -> ${Cls.name}`);
    t.ok(e instanceof InformerError);
    t.equal(e.code, code);
    t.match(e.message, `native message ${status}`, 'keeps the native message');
  }
  t.equal(errorFromNative(1, 'd_model 30 is not divisible by n_heads 4').message,
    'd_model 30 is not divisible by n_heads 4', 'message is kept verbatim');
  t.equal(NativeStatus.INVALID_CONFIG, 1);
  t.equal(NativeStatus.INTERNAL, 6);
});

t.test('errorFromNative: out of memory and internal', async (t) => {
  const oom = errorFromNative(5, 'allocating 4 GiB workspace');
  t.ok(oom instanceof NativeError);
  t.equal(oom.status, 5);
  t.match(oom.message, /out of memory/);
  t.match(oom.message, /allocating 4 GiB workspace/);
  t.equal(errorFromNative(5, 'out of memory (workspace)').message, 'out of memory (workspace)',
    'no double prefix');
  t.equal(errorFromNative(5, '').message, 'out of memory');
  const internal = errorFromNative(6, 'unexpected null');
  t.ok(internal instanceof NativeError);
  t.equal(internal.status, 6);
  t.equal(internal.message, 'unexpected null');
  t.ok(errorFromNative(6, '').message.length > 0, 'empty message gets a default');
  t.ok(errorFromNative(2, '').message.length > 0);
});

t.test('errorFromNative: unknown codes are NativeErrors naming the code', async (t) => {
  for (const status of [0, 7, 42, -1]) {
    const e = errorFromNative(status, 'weird');
    t.ok(e instanceof NativeError, `status ${status}`);
    t.equal(e.status, status);
    t.match(e.message, String(status));
    t.match(e.message, /weird/);
  }
});
