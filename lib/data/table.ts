// Reads a time-series table (CSV with any delimiter, or Parquet) into numeric Float64 columns plus an
// optional date column as epoch milliseconds. Every bad cell is a typed error naming the file, column,
// line/row and value: the model cannot use missing values, so nothing is silently turned into NaN.

import { constants as bufferConstants } from 'node:buffer';
import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { ConfigError, FormatError, ValueError } from '../errors.js';

/** A numeric table with an optional date column. */
export interface Table {
  /** Numeric columns in file order (the date column excluded). */
  columns: string[];
  /** Name of the date column, or null when the table has none. */
  dateColumn: string | null;
  /** Epoch milliseconds, strictly increasing; naive wall-clock times are read as UTC (no shifts). */
  dates: Float64Array | null;
  data: Record<string, Float64Array>;
  /** Number of data rows. */
  length: number;
}

export interface TableOptions {
  /** CSV field delimiter (one character); auto-detected from the header line when not given. */
  delimiter?: string;
  /**
   * The date column. Default: 'date' (exact, then case-insensitive) if present, else the first column
   * whose first value is an ISO date string (Parquet: the first timestamp/date-typed column first).
   * null: the table has no date column. Numbers are epoch seconds when the column's largest magnitude
   * is below 1e11, else epoch milliseconds.
   */
  dateColumn?: string | null;
  /** Keep only these numeric columns (other columns may then hold anything); default all. */
  columns?: string[];
}

export interface ParseCsvOptions extends TableOptions {
  /** Names the text in error messages (readTable passes the file path). */
  source?: string;
}

// The largest CSV (decoded into one string) and Parquet file (read into one buffer) readTable reads.
const MAX_STRING_LENGTH = bufferConstants.MAX_STRING_LENGTH;
const BUFFER_MAX_BYTES = Math.min(bufferConstants.MAX_LENGTH, 2 ** 31 - 1); // fs.readFile reads at most 2 GiB

// ---------------------------------------------------------------------------------------------------
// Dates

const ISO_RE = /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const NUM_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(y: number, m: number): number {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return m === 2 && leap ? 29 : MONTH_DAYS[m - 1]!;
}

/** Epoch ms of an ISO-like date string ('2016-07-01', '2016-07-01 00:00:00', 'T', 'Z', offsets), or null. */
function parseIsoDate(s: string): number | null {
  const m = ISO_RE.exec(s);
  if (m === null) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[3]), Number(m[4])];
  const [h, mi, sec] = [Number(m[5] ?? 0), Number(m[6] ?? 0), Number(m[7] ?? 0)];
  const ms = m[8] === undefined ? 0 : Number(m[8].slice(0, 3).padEnd(3, '0')); // truncated to whole ms
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return null;
  // A UTC offset is checked but not applied: the wall-clock time is what the time features describe
  // (as pandas' .hour does on tz-aware data), and "no timezone shifts" keeps naive and 'Z' data equal.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // setUTCFullYear, unlike Date.UTC, keeps years 0..99 literal
  date.setUTCHours(h, mi, sec, ms);
  return date.getTime();
}

/** Epoch seconds (|v| < 1e11, i.e. before the year 5138) or milliseconds → ms. */
function epochToMs(v: number): number {
  return Math.abs(v) < 1e11 ? v * 1000 : v;
}

/**
 * Parses one timestamp: an ISO string (date-only, ' ' or 'T' separator, optional fraction, 'Z' or an
 * offset, which is ignored: wall-clock time is kept), epoch seconds/milliseconds as a number or a numeric
 * string, a bigint (ms) or a Date. Returns epoch ms, or null when it cannot be parsed.
 */
export function parseDate(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? epochToMs(value) : null;
  if (typeof value === 'bigint') return epochToMs(Number(value));
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.getTime();
  if (typeof value !== 'string') return null;
  const s = value.trim();
  if (NUM_RE.test(s)) return epochToMs(Number(s));
  return parseIsoDate(s);
}

/** 'YYYY-MM-DD HH:MM:SS' (UTC wall clock, '.mmm' only when there are milliseconds). */
export function formatDate(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const iso = new Date(ms).toISOString(); // 2016-07-01T00:00:00.000Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return ms % 1000 === 0 ? base : `${base}${iso.slice(19, 23)}`;
}

// ---------------------------------------------------------------------------------------------------
// Shared column building (CSV and Parquet both produce raw cell values per column)

/** Where a cell is, for messages: "line 3" (CSV, physical line) or "row 3" (Parquet, 1-based). */
type Locate = (row: number) => string;

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'bigint') return `${v}n`;
  return String(v);
}

function listNames(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}

function numericCell(v: unknown, source: string, col: string, locate: Locate, row: number): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const s = v.trim();
    if (NUM_RE.test(s)) {
      const x = Number(s);
      if (Number.isFinite(x)) return x;
    }
  } else if (typeof v === 'bigint') {
    return Number(v);
  }
  // Error paths only: the location string is built when it is needed.
  const at = `${source}: ${locate(row)}, column "${col}"`;
  if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) {
    const what = typeof v === 'string' ? 'empty cell' : 'empty (null) cell';
    throw new ValueError(`${at}: ${what} (missing values are not allowed; fill or drop them first)`);
  }
  const s = typeof v === 'string' ? v.trim() : '';
  if (typeof v === 'number' || NUM_RE.test(s) || /^(nan|na|n\/a|null|none|[+-]?inf(inity)?)$/i.test(s)) {
    throw new ValueError(`${at}: missing or non-finite value ${show(v)} (fill or drop missing values first)`);
  }
  throw new ValueError(`${at}: non-numeric value ${show(v)}`);
}

function dateColumnValues(raw: ArrayLike<unknown>, source: string, col: string, locate: Locate): Float64Array {
  const n = raw.length;
  // Epoch numbers: one unit for the whole column, decided by its largest magnitude, so that a column of
  // milliseconds that starts near 0 is not read as seconds up to 1e11 and as milliseconds after.
  const num = new Float64Array(n).fill(NaN);
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const v = raw[i];
    const x =
      typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'string' && NUM_RE.test(v.trim()) ? Number(v) : NaN;
    if (Number.isFinite(x)) {
      num[i] = x;
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }
  }
  const scale = maxAbs < 1e11 ? 1000 : 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = raw[i];
    const t = !Number.isNaN(num[i]!) ? num[i]! * scale : typeof v === 'string' ? parseIsoDate(v.trim()) : parseDate(v);
    if (t === null) {
      const empty = v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
      throw new ValueError(
        `${source}: ${locate(i)}, date column "${col}": ${empty ? 'empty cell' : `cannot parse date ${show(v)}`} ` +
          "(expected ISO 'YYYY-MM-DD[ HH:MM[:SS]]' or epoch seconds/milliseconds)",
      );
    }
    out[i] = t;
    if (i > 0 && !(t > out[i - 1]!)) {
      throw new ValueError(
        `${source}: dates in column "${col}" are not strictly increasing: ${locate(i)} (${formatDate(t)}) ` +
          `${t === out[i - 1] ? 'repeats' : 'comes before'} ${locate(i - 1)} (${formatDate(out[i - 1]!)}); sort the rows and drop duplicates`,
      );
    }
  }
  return out;
}

interface RawColumns {
  names: string[];
  /** One accessor per column: its cell values. */
  cells: (col: number) => ArrayLike<unknown>;
  length: number;
  /** Columns whose type already says they hold dates (Arrow timestamp/date). */
  typedDate?: (col: number) => boolean;
  /** Columns that hold strings (CSV: all). */
  isText?: (col: number) => boolean;
}

function pickDateColumn(raw: RawColumns, opts: TableOptions, source: string): number {
  const { names } = raw;
  if (opts.dateColumn === null) return -1;
  if (opts.dateColumn !== undefined) {
    if (typeof opts.dateColumn !== 'string') throw new ConfigError(`dateColumn must be a string or null, got ${show(opts.dateColumn)}`);
    const i = names.indexOf(opts.dateColumn);
    if (i < 0) throw new ConfigError(`${source}: no date column "${opts.dateColumn}"; available columns: ${listNames(names)}`);
    return i;
  }
  let i = names.indexOf('date');
  if (i < 0) i = names.findIndex((n) => n.toLowerCase() === 'date');
  if (i >= 0) return i;
  if (raw.typedDate !== undefined) {
    i = names.findIndex((_, c) => raw.typedDate!(c));
    if (i >= 0) return i;
  }
  // Only ISO strings mark a column as dates here: any numeric column would also parse as epoch numbers.
  return names.findIndex((_, c) => {
    if (raw.isText !== undefined && !raw.isText(c)) return false;
    const first = raw.cells(c)[0];
    return typeof first === 'string' && parseIsoDate(first.trim()) !== null;
  });
}

function buildTable(src: RawColumns, opts: TableOptions, source: string, locate: Locate): Table {
  if (src.length === 0) throw new FormatError(`${source}: no data rows`);
  const cache = new Map<number, ArrayLike<unknown>>();
  const raw: RawColumns = {
    ...src,
    cells: (c) => {
      if (!cache.has(c)) cache.set(c, src.cells(c));
      return cache.get(c)!;
    },
  };
  const dateIdx = pickDateColumn(raw, opts, source);
  const dateColumn = dateIdx >= 0 ? raw.names[dateIdx]! : null;
  let keep = raw.names.map((_, i) => i).filter((i) => i !== dateIdx);
  if (opts.columns !== undefined) {
    if (!Array.isArray(opts.columns)) throw new ConfigError(`columns must be an array of column names, got ${show(opts.columns)}`);
    const unknown = opts.columns.filter((c) => !raw.names.includes(c));
    if (unknown.length > 0) {
      throw new ConfigError(
        `${source}: unknown column${unknown.length > 1 ? 's' : ''} ${listNames(unknown)}; available columns: ${listNames(raw.names)}`,
      );
    }
    keep = keep.filter((i) => opts.columns!.includes(raw.names[i]!));
  }
  const data: Record<string, Float64Array> = {};
  for (const c of keep) {
    const name = raw.names[c]!;
    const cells = raw.cells(c);
    const col = new Float64Array(raw.length);
    for (let r = 0; r < raw.length; r++) col[r] = numericCell(cells[r], source, name, locate, r);
    data[name] = col;
  }
  return {
    columns: keep.map((i) => raw.names[i]!),
    dateColumn,
    dates: dateIdx >= 0 ? dateColumnValues(raw.cells(dateIdx), source, dateColumn!, locate) : null,
    data,
    length: raw.length,
  };
}

// ---------------------------------------------------------------------------------------------------
// CSV

const QUOTE = 34;
const LF = 10;
const CR = 13;
const CANDIDATES = [',', '\t', ';', '|'];

/** Counts each candidate delimiter outside quotes on the first line; the most frequent wins. */
function detectDelimiter(text: string): string {
  const counts = new Map<string, number>(CANDIDATES.map((c) => [c, 0]));
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best = ',';
  for (const c of CANDIDATES) if (counts.get(c)! > counts.get(best)!) best = c;
  return best;
}

/** RFC 4180 records with the 1-based line each starts on; blank lines are skipped (as pandas does). */
function splitRecords(text: string, delim: string, source: string): { rows: string[][]; lines: number[] } {
  const d = delim.charCodeAt(0);
  const n = text.length;
  const rows: string[][] = [];
  const lines: number[] = [];
  let i = 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let anyQuoted = false;
    for (;;) {
      // A field is quoted when its first non-blank character is a quote.
      let j = i;
      while (j < n && text.charCodeAt(j) === 32) j++;
      if (j < n && text.charCodeAt(j) === QUOTE) {
        anyQuoted = true;
        const qLine = line;
        let s = '';
        let chunk = j + 1;
        i = chunk;
        for (;;) {
          if (i >= n) throw new FormatError(`${source}: line ${qLine}: quoted field is never closed`);
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) === QUOTE) {
              s += text.slice(chunk, i + 1);
              i += 2;
              chunk = i;
              continue;
            }
            s += text.slice(chunk, i);
            i++;
            break;
          }
          if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) line++;
          i++;
        }
        while (i < n && text.charCodeAt(i) === 32) i++;
        fields.push(s);
      } else {
        const b = i;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === d || c === LF || c === CR) break;
          i++;
        }
        fields.push(text.slice(b, i));
      }
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === d) {
        i++;
        continue;
      }
      if (c === CR || c === LF) {
        i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
        line++;
        break;
      }
      throw new FormatError(
        `${source}: line ${line}: unexpected ${show(text[i])} after a closing quote (expected the delimiter ${show(delim)} or a line end)`,
      );
    }
    if (fields.length === 1 && !anyQuoted && fields[0]!.trim() === '') continue;
    rows.push(fields);
    lines.push(start);
  }
  return { rows, lines };
}

/** Parses CSV text (see readTable for the rules). */
export function parseCsv(text: string, opts: ParseCsvOptions = {}): Table {
  const source = opts.source ?? 'CSV';
  const { raw, locate } = csvColumns(text, opts, source);
  return buildTable(raw, opts, source, locate);
}

function csvColumns(text: string, opts: ParseCsvOptions, source: string): { raw: RawColumns; locate: Locate } {
  if (typeof text !== 'string') throw new ConfigError(`parseCsv: text must be a string, got ${show(text)}`);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new FormatError(`${source}: the file is empty`);
  let delim = opts.delimiter;
  if (delim === undefined) delim = detectDelimiter(text);
  else if (typeof delim !== 'string' || delim.length !== 1 || delim === '"' || delim === '\n' || delim === '\r') {
    throw new ConfigError(`delimiter must be a single character other than a quote or newline, got ${show(delim)}`);
  }
  const { rows, lines } = splitRecords(text, delim, source);
  const header = rows[0]!.map((h, i) => h.trim() || `Unnamed: ${i}`);
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw new FormatError(`${source}: line ${lines[0]}: duplicate column name ${show(h)} in the header`);
    seen.add(h);
  }
  for (let r = 1; r < rows.length; r++) {
    if (rows[r]!.length !== header.length) {
      throw new FormatError(
        `${source}: line ${lines[r]}: ${rows[r]!.length} field${rows[r]!.length === 1 ? '' : 's'} but the header has ${header.length} ` +
          `(delimiter ${show(delim)}${opts.delimiter === undefined ? ', auto-detected' : ''})`,
      );
    }
  }
  const body = rows.slice(1);
  const raw: RawColumns = {
    names: header,
    length: body.length,
    cells: (c) => body.map((row) => row[c]!),
  };
  return { raw, locate: (r) => `line ${lines[r + 1]}` };
}

// ---------------------------------------------------------------------------------------------------
// Parquet: parquet-wasm decodes into Arrow arrays in WebAssembly memory, arrow-js-ffi reads them as
// apache-arrow vectors through the Arrow C data interface (copied out, so the wasm table can be
// freed at once, with no IPC serialisation in between). Loaded lazily so CSV users never pay for
// the WebAssembly module.

async function parseParquet(bytes: Uint8Array, opts: TableOptions, source: string): Promise<Table> {
  return buildTable(await parquetColumns(bytes, source), opts, source, (r) => `row ${r + 1}`);
}

async function parquetColumns(bytes: Uint8Array, source: string): Promise<RawColumns> {
  const [{ readParquet, wasmMemory }, ffi, arrow] = await Promise.all([
    import('parquet-wasm'),
    import('arrow-js-ffi'),
    import('apache-arrow'),
  ]);
  let table: import('apache-arrow').Table;
  try {
    const ffiTable = readParquet(bytes).intoFFI();
    try {
      table = ffi.parseTable(
        wasmMemory().buffer,
        ffiTable.arrayAddrs(),
        ffiTable.schemaAddr(),
        true,
      ) as unknown as import('apache-arrow').Table;
    } finally {
      ffiTable.drop();
    }
  } catch (e) {
    throw new FormatError(`${source}: not a readable Parquet file (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const fields = table.schema.fields;
  const { Type } = arrow;
  const isDateType = (t: number): boolean => t === Type.Timestamp || t === Type.Date;
  // Dictionary-encoded columns (pandas categoricals) are judged by their value type.
  const valueType = (c: number): number => {
    const type = fields[c]!.type as { typeId: number; dictionary?: { typeId: number } };
    return type.typeId === Type.Dictionary && type.dictionary !== undefined ? type.dictionary.typeId : type.typeId;
  };
  const raw: RawColumns = {
    names: fields.map((f) => f.name),
    length: table.numRows,
    typedDate: (c) => isDateType(fields[c]!.type.typeId),
    isText: (c) => [Type.Utf8, Type.LargeUtf8].includes(valueType(c)),
    cells: (c) => {
      const field = fields[c]!;
      const t = field.type.typeId;
      const vt = valueType(c);
      if (!isDateType(t) && vt !== Type.Int && vt !== Type.Float && vt !== Type.Utf8 && vt !== Type.LargeUtf8) {
        throw new ValueError(
          `${source}: column "${field.name}" has Arrow type ${String(field.type)}, which is neither numeric, text nor a date`,
        );
      }
      const vec = table.getChildAt(c)!;
      // Timestamp and date values come back from get() as epoch ms numbers whatever their unit; they are
      // wrapped in Dates so that parseDate does not mistake early ones for epoch seconds.
      const out = new Array<unknown>(vec.length);
      for (let i = 0; i < vec.length; i++) {
        let v: unknown;
        try {
          v = vec.get(i);
        } catch (e) {
          // apache-arrow refuses 64-bit values (timestamps, int64) a double cannot hold exactly.
          throw new ValueError(`${source}: row ${i + 1}, column "${field.name}": ${e instanceof Error ? e.message : String(e)}`, {
            cause: e,
          });
        }
        out[i] = isDateType(t) && typeof v === 'number' ? new Date(v) : v;
      }
      return out;
    },
  };
  return raw;
}

// ---------------------------------------------------------------------------------------------------

async function readBytes(path: string): Promise<{ bytes: Uint8Array; parquet: boolean }> {
  if (typeof path !== 'string' || path === '') throw new ConfigError(`readTable: path must be a non-empty string, got ${show(path)}`);
  const ext = extname(path).toLowerCase();
  const parquetName = ext === '.parquet' || ext === '.pq';
  let bytes: Uint8Array;
  try {
    // A CSV is decoded into one string, so it must fit in the longest string V8 can make; refuse a
    // bigger file before reading any of it rather than fail deep inside the decoder.
    const { size } = await stat(path);
    const limit = parquetName ? BUFFER_MAX_BYTES : MAX_STRING_LENGTH;
    if (size > limit) {
      throw new FormatError(
        `${path}: the file is ${size} bytes; ${parquetName ? 'Parquet' : 'CSV'} files up to ${limit} bytes can be read` +
          `${parquetName ? '' : ' (convert bigger data to Parquet, or split it by date)'}`,
      );
    }
    bytes = await readFile(path);
  } catch (e) {
    if (e instanceof FormatError) throw e;
    const code = (e as { code?: string }).code;
    throw new FormatError(`${path}: cannot read the file${code !== undefined ? ` (${code})` : ''}`, { cause: e });
  }
  if (bytes.length === 0) throw new FormatError(`${path}: the file is empty`);
  const magic = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x41 && bytes[2] === 0x52 && bytes[3] === 0x31;
  return { bytes, parquet: parquetName || magic };
}

/**
 * Reads a CSV or Parquet file into a Table. Parquet is chosen by the extension (.parquet, .pq) or the
 * magic bytes 'PAR1'; anything else is CSV (UTF-8, optional BOM, CRLF or LF, quoted fields with ""
 * escapes, blank lines skipped, delimiter ',', ';', tab or '|' auto-detected from the header line).
 * Throws FormatError (empty file, ragged row, bad quoting, unreadable Parquet), ValueError (empty,
 * non-numeric or non-finite cell, unparseable or non-increasing date) and ConfigError (unknown column).
 */
export async function readTable(path: string, opts: TableOptions = {}): Promise<Table> {
  const { bytes, parquet } = await readBytes(path);
  if (parquet) return parseParquet(bytes, opts, path);
  return parseCsv(new TextDecoder('utf-8').decode(bytes), { ...opts, source: path });
}

/**
 * Reads a long-format CSV or Parquet file (one row per series and date) into one Table per value of
 * `seriesColumn`, in order of first appearance. Each series is checked as readTable checks a file
 * (numeric cells, increasing dates), and errors name the series and the file's own line or row.
 */
export async function readSeriesTables(path: string, seriesColumn: string, opts: TableOptions = {}): Promise<Map<string, Table>> {
  if (typeof seriesColumn !== 'string' || seriesColumn === '')
    throw new ConfigError(`readSeriesTables: seriesColumn must be a non-empty string, got ${show(seriesColumn)}`);
  const { bytes, parquet } = await readBytes(path);
  let raw: RawColumns;
  let locate: Locate;
  if (parquet) {
    raw = await parquetColumns(bytes, path);
    locate = (r) => `row ${r + 1}`;
  } else {
    ({ raw, locate } = csvColumns(new TextDecoder('utf-8').decode(bytes), opts, path));
  }
  const sc = raw.names.indexOf(seriesColumn);
  if (sc < 0) throw new ConfigError(`${path}: no series column "${seriesColumn}"; available columns: ${listNames(raw.names)}`);
  const ids = raw.cells(sc);
  const groups = new Map<string, number[]>();
  for (let r = 0; r < raw.length; r++) {
    const v = ids[r];
    const id = typeof v === 'string' ? v.trim() : v === null || v === undefined ? '' : String(v);
    if (id === '') throw new ValueError(`${path}: ${locate(r)}, column "${seriesColumn}": empty series id`);
    let g = groups.get(id);
    if (g === undefined) groups.set(id, (g = []));
    g.push(r);
  }
  const out = new Map<string, Table>();
  const columns = opts.columns ?? raw.names.filter((n, i) => i !== sc && n !== opts.dateColumn);
  for (const [id, rows] of groups) {
    const sub: RawColumns = {
      names: raw.names,
      length: rows.length,
      typedDate: raw.typedDate,
      isText: raw.isText,
      cells: (c) => {
        const all = raw.cells(c);
        return rows.map((r) => all[r]);
      },
    };
    out.set(
      id,
      buildTable(sub, { ...opts, columns: columns.filter((c) => c !== seriesColumn) }, `${path} (series ${JSON.stringify(id)})`, (r) =>
        locate(rows[r]!),
      ),
    );
  }
  return out;
}
