// lib/data/table: CSV parsing (delimiters, quotes, CRLF, BOM), Parquet round trip, dates and every error.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC, Table as ArrowTable, vectorFromArray, Utf8, Int64, Float64 } from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';

import { formatDate, parseCsv, parseDate, readTable } from '../dist/data/index.js';
import { ConfigError, FormatError, ValueError } from '../dist/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'informer-data-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name, content) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};
const utc = (...a) => Date.UTC(a[0], a[1] - 1, ...a.slice(2));
const arr = (x) => Array.from(x);

function throwsLike(t, fn, cls, patterns, msg) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof cls, `${msg}: throws ${cls.name} (got ${err?.name}: ${err?.message})`);
  for (const p of patterns) t.match(err?.message ?? '', p, `${msg}: message matches ${p}`);
}

async function rejectsLike(t, promise, cls, patterns, msg) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof cls, `${msg}: rejects with ${cls.name} (got ${err?.name}: ${err?.message})`);
  for (const p of patterns) t.match(err?.message ?? '', p, `${msg}: message matches ${p}`);
}

t.test('basic CSV: columns in file order, date column excluded, dates as UTC ms', (t) => {
  const tb = parseCsv('date,a,b\n2016-07-01 00:00:00,1,2.5\n2016-07-01 01:00:00,-3,4e2\n');
  t.same(tb.columns, ['a', 'b']);
  t.equal(tb.dateColumn, 'date');
  t.equal(tb.length, 2);
  t.ok(tb.dates instanceof Float64Array);
  t.same(arr(tb.dates), [utc(2016, 7, 1, 0), utc(2016, 7, 1, 1)]);
  t.ok(tb.data.a instanceof Float64Array);
  t.same(arr(tb.data.a), [1, -3]);
  t.same(arr(tb.data.b), [2.5, 400]);
  t.end();
});

t.test('delimiters are auto-detected from the header line', (t) => {
  for (const d of [',', ';', '\t', '|']) {
    const text = `${['date', 'x', 'y'].join(d)}\n${['2020-01-01', '1', '2'].join(d)}\n${['2020-01-02', '3', '4'].join(d)}`;
    const tb = parseCsv(text);
    t.same(tb.columns, ['x', 'y'], `delimiter ${JSON.stringify(d)}`);
    t.same(arr(tb.data.y), [2, 4]);
  }
  // A decimal comma inside quotes does not fool the semicolon detection.
  const eu = parseCsv('date;"v,1";w\n2020-01-01;1.5;2\n');
  t.same(eu.columns, ['v,1', 'w']);
  // Explicit delimiter overrides detection.
  const ex = parseCsv('date|a,b\n2020-01-01|1\n', { delimiter: '|' });
  t.same(ex.columns, ['a,b']);
  t.same(arr(ex.data['a,b']), [1]);
  throwsLike(t, () => parseCsv('a\n1\n', { delimiter: ',,' }), ConfigError, [/single character/], 'two-character delimiter');
  throwsLike(t, () => parseCsv('a\n1\n', { delimiter: '"' }), ConfigError, [/quote/], 'quote delimiter');
  t.end();
});

t.test('quoted fields, "" escapes, embedded delimiters and newlines', (t) => {
  const text = 'date,"a,b","say ""hi""","multi\nline"\n"2020-01-01",  "1" ,"2","3"\n2020-01-02,4,5,6\n';
  const tb = parseCsv(text);
  t.same(tb.columns, ['a,b', 'say "hi"', 'multi\nline']);
  t.same(arr(tb.data['a,b']), [1, 4]);
  t.same(arr(tb.data['multi\nline']), [3, 6]);
  t.end();
});

t.test('CRLF, BOM, trailing newline, blank lines, trimmed header names', (t) => {
  const tb = parseCsv('\uFEFFdate, a ,b\r\n2020-01-01,1,2\r\n\r\n2020-01-02,3,4\r\n\r\n');
  t.same(tb.columns, ['a', 'b']);
  t.equal(tb.length, 2);
  t.same(arr(tb.data.b), [2, 4]);
  const noNl = parseCsv('date,a\n2020-01-01,1');
  t.equal(noNl.length, 1);
  t.end();
});

t.test('dates: ISO forms, epoch seconds and milliseconds, detection', (t) => {
  const forms = [
    '2016-07-01 00:00:00',
    '2016-07-01T00:00:00',
    '2016-07-01T00:00:00Z',
    '2016-07-01',
    '2016-07-01 00:00',
    '2016/07/01 00:00:00',
  ];
  for (const f of forms) t.equal(parseDate(f), utc(2016, 7, 1), f);
  t.equal(parseDate('2016-07-01T05:30:00+02:00'), utc(2016, 7, 1, 5, 30), 'offset checked but wall clock kept');
  t.equal(parseDate('2016-07-01 00:00:01.250'), utc(2016, 7, 1, 0, 0, 1, 250));
  t.equal(parseDate('2016-02-30'), null, 'no Feb 30');
  t.equal(parseDate('2016-07-01 24:00:00'), null);
  t.equal(parseDate('yesterday'), null);
  t.equal(parseDate(1467331200), utc(2016, 7, 1), 'epoch seconds');
  t.equal(parseDate(1467331200000), utc(2016, 7, 1), 'epoch ms');
  t.equal(formatDate(utc(2016, 7, 1, 13, 5)), '2016-07-01 13:05:00');

  const iso = parseCsv('date,v\n2016-07-01T00:00:00Z,1\n2016-07-01T01:00:00Z,2\n');
  t.same(arr(iso.dates), [utc(2016, 7, 1, 0), utc(2016, 7, 1, 1)]);
  const secs = parseCsv('date,v\n0,1\n60,2\n120,3\n');
  t.same(arr(secs.dates), [0, 60000, 120000], 'small epoch numbers are seconds');
  const ms = parseCsv('date,v\n1467331200000,1\n1467334800000,2\n');
  t.same(arr(ms.dates), [utc(2016, 7, 1, 0), utc(2016, 7, 1, 1)], 'large epoch numbers are milliseconds');
  // One unit for the whole column: ms starting at 0 are not read as seconds.
  const msFromZero = parseCsv('ts,v\n0,1\n200000000000,2\n', { dateColumn: 'ts' });
  t.same(arr(msFromZero.dates), [0, 200000000000]);

  const named = parseCsv('timestamp,v\n2020-01-01,1\n2020-01-02,2\n');
  t.equal(named.dateColumn, 'timestamp', 'first column of ISO dates is the date column');
  const upper = parseCsv('v,Date\n1,2020-01-01\n2,2020-01-02\n');
  t.equal(upper.dateColumn, 'Date');
  t.same(upper.columns, ['v']);
  const none = parseCsv('a,b\n1,2\n3,4\n');
  t.equal(none.dateColumn, null);
  t.equal(none.dates, null);
  t.same(none.columns, ['a', 'b'], 'numeric columns are never guessed to be epoch dates');
  const off = parseCsv('date,v\n2020-01-01,1\n', { dateColumn: null, columns: ['v'] });
  t.equal(off.dateColumn, null, 'dateColumn null: no date column');
  t.equal(off.dates, null);
  t.end();
});

t.test('columns option keeps a subset (other columns may hold text)', (t) => {
  const tb = parseCsv('date,name,a,b\n2020-01-01,x,1,2\n2020-01-02,y,3,4\n', { columns: ['b', 'a'] });
  t.same(tb.columns, ['a', 'b'], 'file order');
  t.same(Object.keys(tb.data).sort(), ['a', 'b']);
  throwsLike(
    t,
    () => parseCsv('date,a\n2020-01-01,1\n', { columns: ['zz'] }),
    ConfigError,
    [/unknown column "zz"/, /available columns: "date", "a"/],
    'unknown column',
  );
  t.end();
});

t.test('CSV errors name the source, line, column and value', (t) => {
  const src = { source: 'my.csv' };
  throwsLike(t, () => parseCsv('', src), FormatError, [/my\.csv/, /empty/], 'empty file');
  throwsLike(t, () => parseCsv('\uFEFF  \n\n', src), FormatError, [/empty/], 'blank file');
  throwsLike(t, () => parseCsv('date,a\n', src), FormatError, [/no data rows/], 'header only');
  throwsLike(
    t,
    () => parseCsv('date,a,b\n2020-01-01,1,2\n2020-01-02,3\n', src),
    FormatError,
    [/my\.csv: line 3/, /2 fields but the header has 3/],
    'ragged row',
  );
  throwsLike(
    t,
    () => parseCsv('date,a\n2020-01-01,1\n2020-01-02,abc\n', src),
    ValueError,
    [/line 3/, /column "a"/, /non-numeric value "abc"/],
    'non-numeric',
  );
  throwsLike(
    t,
    () => parseCsv('date,a,b\n2020-01-01,1,2\n2020-01-02,,4\n', src),
    ValueError,
    [/line 3/, /column "a"/, /empty cell/],
    'empty cell',
  );
  throwsLike(t, () => parseCsv('date,a\n2020-01-01,NaN\n', src), ValueError, [/line 2/, /missing or non-finite value "NaN"/], 'NaN cell');
  throwsLike(t, () => parseCsv('date,a\n2020-01-01,1e999\n', src), ValueError, [/non-finite/], 'overflow');
  throwsLike(
    t,
    () => parseCsv('date,a\n2020-01-01,1\n2020-13-01,2\n', src),
    ValueError,
    [/line 3/, /date column "date"/, /cannot parse date "2020-13-01"/],
    'bad date',
  );
  throwsLike(
    t,
    () => parseCsv('date,a\n2020-01-02,1\n2020-01-01,2\n', src),
    ValueError,
    [/not strictly increasing/, /line 3 \(2020-01-01 00:00:00\) comes before line 2/],
    'decreasing dates',
  );
  throwsLike(t, () => parseCsv('date,a\n2020-01-01,1\n2020-01-01,2\n', src), ValueError, [/line 3 .* repeats line 2/], 'duplicate dates');
  throwsLike(
    t,
    () => parseCsv('date,a\n2020-01-01,1\n', { ...src, dateColumn: 'time' }),
    ConfigError,
    [/no date column "time"/, /available columns: "date", "a"/],
    'missing date column',
  );
  throwsLike(t, () => parseCsv('date,a\n2020-01-01,"1\n', src), FormatError, [/line 2/, /never closed/], 'unterminated quote');
  throwsLike(t, () => parseCsv('date,a\n2020-01-01,"1"x\n', src), FormatError, [/line 2/, /after a closing quote/], 'text after quote');
  throwsLike(t, () => parseCsv('a,a\n1,2\n', src), FormatError, [/duplicate column name "a"/], 'duplicate header');
  // Line numbers count physical lines, also after a quoted field spanning two lines.
  throwsLike(
    t,
    () => parseCsv('date,"x\ny",b\n2020-01-01,1,2\n2020-01-02,1,zz\n', src),
    ValueError,
    [/line 4/],
    'line after multi-line header',
  );
  t.end();
});

t.test('readTable reads CSV files and reports file errors', async (t) => {
  const p = file('semi.csv', '\uFEFFdate;a;b\r\n2020-01-01;1;2\r\n2020-01-02;3;4\r\n');
  const tb = await readTable(p);
  t.same(tb.columns, ['a', 'b']);
  t.same(arr(tb.data.a), [1, 3]);
  await rejectsLike(t, readTable(file('empty.csv', '')), FormatError, [/empty\.csv/, /empty/], 'empty file');
  await rejectsLike(t, readTable(join(dir, 'missing.csv')), FormatError, [/missing\.csv/, /ENOENT/], 'missing file');
  await rejectsLike(
    t,
    readTable(file('bad.csv', 'date,a\n2020-01-01,x\n')),
    ValueError,
    [/bad\.csv: line 2, column "a"/],
    'bad cell names the file',
  );
});

function parquetBytes(arrowTable) {
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(arrowTable, 'stream')));
}

t.test('Parquet round trip (timestamps, ints, floats), by extension and by magic bytes', async (t) => {
  const dates = [utc(2016, 7, 1, 0), utc(2016, 7, 1, 1), utc(2016, 7, 1, 2)];
  const at = tableFromArrays({
    value: new Float64Array([1.5, 2.5, 3.5]),
    date: dates.map((d) => new Date(d)),
    count: new Int32Array([7, 8, 9]),
    OT: new Float32Array([0.5, 0.25, 0.125]),
  });
  const bytes = parquetBytes(at);
  for (const name of ['x.parquet', 'x.pq', 'x.bin']) {
    const tb = await readTable(file(name, bytes));
    t.equal(tb.dateColumn, 'date', name);
    t.same(tb.columns, ['value', 'count', 'OT'], `${name}: file order, date excluded`);
    t.same(arr(tb.dates), dates);
    t.same(arr(tb.data.value), [1.5, 2.5, 3.5]);
    t.same(arr(tb.data.count), [7, 8, 9]);
    t.same(arr(tb.data.OT), [0.5, 0.25, 0.125]);
    t.ok(tb.data.OT instanceof Float64Array);
  }
});

t.test('Parquet: string dates, epoch ints, nulls and bad types', async (t) => {
  const strDates = new ArrowTable({
    date: vectorFromArray(['2020-01-01 00:00:00', '2020-01-01 00:15:00'], new Utf8()),
    v: vectorFromArray([1, 2], new Float64()),
  });
  const a = await readTable(file('s.parquet', parquetBytes(strDates)));
  t.same(arr(a.dates), [utc(2020, 1, 1), utc(2020, 1, 1, 0, 15)]);

  const epoch = new ArrowTable({
    ts: vectorFromArray([0n, 60n, 120n], new Int64()),
    v: vectorFromArray([1, 2, 3], new Float64()),
  });
  const b = await readTable(file('e.parquet', parquetBytes(epoch)), { dateColumn: 'ts' });
  t.same(arr(b.dates), [0, 60000, 120000], 'int64 epoch seconds');

  const withNull = new ArrowTable({
    date: vectorFromArray(['2020-01-01', '2020-01-02'], new Utf8()),
    v: vectorFromArray([1, null], new Float64()),
  });
  await rejectsLike(
    t,
    readTable(file('n.parquet', parquetBytes(withNull))),
    ValueError,
    [/n\.parquet: row 2, column "v"/, /null/],
    'null cell',
  );

  const textCol = new ArrowTable({
    date: vectorFromArray(['2020-01-01', '2020-01-02'], new Utf8()),
    name: vectorFromArray(['a', 'b'], new Utf8()),
    v: vectorFromArray([1, 2], new Float64()),
  });
  const p = file('t.parquet', parquetBytes(textCol));
  await rejectsLike(t, readTable(p), ValueError, [/row 1, column "name"/, /non-numeric value "a"/], 'text column');
  const c = await readTable(p, { columns: ['v'] });
  t.same(c.columns, ['v'], 'text column skipped with the columns option');

  await rejectsLike(
    t,
    readTable(file('junk.parquet', 'PAR1 not really')),
    FormatError,
    [/junk\.parquet/, /not a readable Parquet file/],
    'corrupt parquet',
  );
});
