// Calendar features of timestamps (the reference utils/timefeatures.py::time_features), future
// timestamps for forecasts, and frequency inference. Timestamps are epoch ms read as UTC wall clock.

import { ConfigError, ValueError } from '../errors.js';
import { freqInfo, markColumns, type Embed, type FreqBase } from '../config.js';

const SEC = 1_000;
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Calendar fields of a timestamp, with pandas' conventions (weekday Monday = 0, ISO week). */
interface Calendar {
  year: number;
  month: number;
  day: number;
  weekday: number;
  dayOfYear: number;
  isoWeek: number;
  hour: number;
  minute: number;
  second: number;
}

function calendar(ms: number): Calendar {
  const days = Math.floor(ms / DAY);
  const inDay = ms - days * DAY;
  const dt = new Date(days * DAY);
  const year = dt.getUTCFullYear();
  const weekday = (((days + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday (3 with Monday = 0)
  // ISO week: the week (Monday..Sunday) belongs to the year of its Thursday.
  const thursday = days - weekday + 3;
  const isoYear = new Date(thursday * DAY).getUTCFullYear();
  return {
    year,
    month: dt.getUTCMonth() + 1,
    day: dt.getUTCDate(),
    weekday,
    dayOfYear: days - daysFromCivil(year, 1, 1) + 1,
    isoWeek: Math.floor((thursday - daysFromCivil(isoYear, 1, 1)) / 7) + 1,
    hour: Math.floor(inDay / HOUR),
    minute: Math.floor((inDay % HOUR) / MIN),
    second: Math.floor((inDay % MIN) / SEC),
  };
}

type Feature = (c: Calendar) => number;
// The reference formulas, verbatim (each in [-0.5, 0.5]).
const SecondOfMinute: Feature = (c) => c.second / 59 - 0.5;
const MinuteOfHour: Feature = (c) => c.minute / 59 - 0.5;
const HourOfDay: Feature = (c) => c.hour / 23 - 0.5;
const DayOfWeek: Feature = (c) => c.weekday / 6 - 0.5;
const DayOfMonth: Feature = (c) => (c.day - 1) / 30 - 0.5;
const DayOfYear: Feature = (c) => (c.dayOfYear - 1) / 365 - 0.5;
const MonthOfYear: Feature = (c) => (c.month - 1) / 11 - 0.5;
const WeekOfYear: Feature = (c) => (c.isoWeek - 1) / 52 - 0.5;

/** time_features_from_frequency_string: the features of each base frequency, in the reference order. */
const TIMEF: Readonly<Record<FreqBase, readonly Feature[]>> = {
  s: [SecondOfMinute, MinuteOfHour, HourOfDay, DayOfWeek, DayOfMonth, DayOfYear],
  t: [MinuteOfHour, HourOfDay, DayOfWeek, DayOfMonth, DayOfYear],
  h: [HourOfDay, DayOfWeek, DayOfMonth, DayOfYear],
  d: [DayOfWeek, DayOfMonth, DayOfYear],
  b: [DayOfWeek, DayOfMonth, DayOfYear],
  w: [DayOfMonth, WeekOfYear],
  m: [MonthOfYear],
};

// timeenc 0 (fixed/learned): integer month, day, weekday, hour, minute // 15; markColumns keeps the first 4 (h) or 5 (t).
const FIXED: readonly Feature[] = [(c) => c.month, (c) => c.day, (c) => c.weekday, (c) => c.hour, (c) => Math.floor(c.minute / 15)];

function checkDates(dates: Float64Array, what: string): void {
  if (!(dates instanceof Float64Array)) throw new ValueError(`${what}: dates must be a Float64Array of epoch milliseconds`);
  for (let i = 0; i < dates.length; i++) {
    if (!Number.isFinite(dates[i]!)) throw new ValueError(`${what}: date ${i} is not finite (${dates[i]})`);
  }
}

/**
 * Time features of `dates` (epoch ms) as the reference time_features(): row-major [N, columns] float32.
 * timeF: the features of the BASE frequency of `freq` ('15min' is minutely, 5 columns; the reference's
 * freq[-1:] truncation is not reproduced). fixed/learned: integer month, day, weekday, hour(, minute//15)
 * for hourly (4) or minutely (5) data; other frequencies throw ConfigError (see markColumns).
 */
export function timeFeatures(dates: Float64Array, freq: string, embed: Embed): { data: Float32Array; columns: number } {
  const columns = markColumns(freq, embed); // validates freq and embed
  checkDates(dates, 'timeFeatures');
  const feats = embed === 'timeF' ? TIMEF[freqInfo(freq).base] : FIXED.slice(0, columns);
  const data = new Float32Array(dates.length * columns);
  for (let i = 0; i < dates.length; i++) {
    const c = calendar(dates[i]!);
    for (let j = 0; j < columns; j++) data[i * columns + j] = feats[j]!(c);
  }
  return { data, columns };
}

/** Epoch ms of y-m-d (month may run past 12) at `inDay` ms after midnight, the day clamped to the month. */
function monthDate(y: number, m0: number, day: number, monthEnd: boolean, inDay: number): number {
  const first = Date.UTC(y, m0, 1);
  const len = new Date(Date.UTC(y, m0 + 1, 0)).getUTCDate();
  return first + ((monthEnd ? len : Math.min(day, len)) - 1) * DAY + inDay;
}

/**
 * The `steps` timestamps after `last` (epoch ms) at frequency `freq`. Fixed steps for s/t/h/d/w (times
 * their multiple); business days skip Saturdays and Sundays; months keep the day of the month (clamped
 * to the month's length), and month ends stay month ends (Jan 31 → Feb 28/29 → Mar 31).
 */
export function futureDates(last: number, steps: number, freq: string): Float64Array {
  const { base, multiple, stepMs } = freqInfo(freq);
  if (typeof last !== 'number' || !Number.isFinite(last))
    throw new ValueError(`futureDates: last must be a finite epoch-ms number, got ${String(last)}`);
  if (!Number.isSafeInteger(steps) || steps < 0) throw new ValueError(`futureDates: steps must be an integer >= 0, got ${String(steps)}`);
  const out = new Float64Array(steps);
  if (stepMs !== null) {
    for (let i = 0; i < steps; i++) out[i] = last + (i + 1) * stepMs;
    return out;
  }
  const days = Math.floor(last / DAY);
  const inDay = last - days * DAY;
  if (base === 'b') {
    let d = days;
    for (let i = 0; i < steps; i++) {
      for (let k = 0; k < multiple; k++) {
        do d++;
        while ((((d + 3) % 7) + 7) % 7 >= 5);
      }
      out[i] = d * DAY + inDay;
    }
    return out;
  }
  const dt = new Date(days * DAY);
  const [y, m0, day] = [dt.getUTCFullYear(), dt.getUTCMonth(), dt.getUTCDate()];
  const monthEnd = day === new Date(Date.UTC(y, m0 + 1, 0)).getUTCDate();
  for (let i = 0; i < steps; i++) out[i] = monthDate(y, m0 + (i + 1) * multiple, day, monthEnd, inDay);
  return out;
}

function where(dates: Float64Array, i: number): string {
  const f = (ms: number): string =>
    new Date(ms)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.000Z$|Z$/, '');
  return `between date ${i - 1} (${f(dates[i - 1]!)}) and date ${i} (${f(dates[i]!)})`;
}

/** A regular fixed step as a frequency string ('t', '15min', 'h', '2h', 'd', 'w', '30s'). */
function fixedFreq(step: number): string | null {
  const units: [number, string, string][] = [
    [WEEK, 'w', 'w'],
    [DAY, 'd', 'd'],
    [HOUR, 'h', 'h'],
    [MIN, 't', 'min'],
    [SEC, 's', 's'],
  ];
  for (const [ms, one, many] of units) {
    if (step % ms === 0) return step === ms ? one : `${step / ms}${many}`;
  }
  return null;
}

/**
 * Infers the frequency of strictly increasing dates: a constant step gives 's'/'t'/'h'/'d'/'w' or a
 * multiple ('15min', '2h'); weekday-only daily data with weekend gaps gives 'b'; the same day of each
 * month (or month ends), k months apart, gives 'm' / 'km'; a step that most gaps equal and every gap is
 * a multiple of (missing rows) gives that step. Throws ConfigError for fewer than 2 dates, sub-second
 * steps or irregular spacing (naming the first irregular gap; pass freq explicitly then).
 */
export function inferFreq(dates: Float64Array): string {
  checkDates(dates, 'inferFreq');
  if (dates.length < 2) throw new ConfigError(`inferFreq: need at least 2 dates to infer a frequency, got ${dates.length}`);
  const step = dates[1]! - dates[0]!;
  let regular = step > 0;
  let bad = 1;
  for (let i = 2; i < dates.length && regular; i++) {
    if (dates[i]! - dates[i - 1]! !== step) {
      regular = false;
      bad = i;
    }
  }
  // Calendar months first: a quarterly series can have equal steps by chance (Jan 1, Apr 1, Jul 1).
  if (step >= 28 * DAY) {
    const months = monthlyMultiple(dates);
    if (months !== null) return months === 1 ? 'm' : `${months}m`;
  }
  if (regular) {
    const f = fixedFreq(step);
    if (f === null)
      throw new ConfigError(`inferFreq: step of ${step} ms is not a whole number of seconds; sub-second frequencies are not supported`);
    return f;
  }
  if (isBusinessDaily(dates)) return 'b';
  // Missing rows (e.g. one lost minute in a trace) leave gaps that are whole multiples of the usual
  // step; the reference windows ignore such gaps, so the usual step is still the data's frequency.
  const gapped = stepWithGaps(dates);
  if (gapped !== null) {
    const f = fixedFreq(gapped);
    if (f !== null) return f;
  }
  throw new ConfigError(
    `inferFreq: the dates are not regularly spaced: the step changes from ${step} ms to ${dates[bad]! - dates[bad - 1]!} ms ` +
      `${where(dates, bad)}; fill the gaps or pass freq explicitly`,
  );
}

/** The smallest step, when every step is a multiple of it and most steps equal it; else null. */
function stepWithGaps(dates: Float64Array): number | null {
  let min = Infinity;
  for (let i = 1; i < dates.length; i++) min = Math.min(min, dates[i]! - dates[i - 1]!);
  if (!(min > 0)) return null;
  let same = 0;
  for (let i = 1; i < dates.length; i++) {
    const d = dates[i]! - dates[i - 1]!;
    if (d % min !== 0) return null;
    if (d === min) same++;
  }
  return same * 2 > dates.length - 1 ? min : null;
}

function isBusinessDaily(dates: Float64Array): boolean {
  for (let i = 0; i < dates.length; i++) {
    const wd = calendar(dates[i]!).weekday;
    if (wd >= 5) return false;
    if (i > 0) {
      const gap = dates[i]! - dates[i - 1]!;
      // Monday follows Friday 3 days later; every other step is 1 day.
      if (gap !== (wd === 0 ? 3 * DAY : DAY)) return false;
    }
  }
  return true;
}

function monthlyMultiple(dates: Float64Array): number | null {
  const c0 = calendar(dates[0]!);
  const inDay0 = dates[0]! - Math.floor(dates[0]! / DAY) * DAY;
  const c1 = calendar(dates[1]!);
  const k = (c1.year - c0.year) * 12 + (c1.month - c0.month);
  if (k < 1) return null;
  const monthEnd = c0.day === new Date(Date.UTC(c0.year, c0.month, 0)).getUTCDate();
  for (let i = 1; i < dates.length; i++) {
    if (dates[i] !== monthDate(c0.year, c0.month - 1 + i * k, c0.day, monthEnd, inDay0)) return null;
  }
  return k;
}
