// Live accuracy of a served model. Forecasts are checkable: the actual values arrive a few minutes
// later. The Monitor keeps the forecasts it was shown (dated, in data units, with the naive last-value
// forecast of the same history) in a bounded store; when actuals arrive it matches them by timestamp,
// and keeps rolling MAE / MSE / RMSE per horizon step, for the model and for the naive forecast, and
// the skill (1 - mse / naive mse). Memory stays bounded however long it runs.
import { ValueError } from '../errors.js';
import type { Forecast } from './predictor.js';
import { toMs } from './predictor.js';

export interface MonitorOptions {
  /** Forecasts kept waiting for their actuals; the oldest go first (default 10 000). */
  maxForecasts?: number;
  /** Matched points per horizon step the rolling errors cover (default 1 000). */
  window?: number;
}

/** Observed values, in the form `/forecast` takes history: `{ dates, values: { column: [...] } }`. */
export interface Actuals {
  dates: ArrayLike<unknown>;
  values: Record<string, ArrayLike<unknown>>;
}

export interface StepAccuracy {
  /** 1-based horizon step. */
  step: number;
  /** Matched (forecast, actual) values in the rolling window. */
  n: number;
  mae: number | null;
  mse: number | null;
  rmse: number | null;
  naiveMae: number | null;
  naiveMse: number | null;
  naiveRmse: number | null;
}

/** A matched point of the first horizon step (the target column): what the dashboard plots. */
export interface MatchedPoint {
  /** Epoch ms. */
  t: number;
  actual: number;
  forecast: number;
  naive: number;
}

export interface MonitorSnapshot {
  columns: string[];
  /** Forecast steps waiting for an actual. */
  pending: number;
  /** Actual values matched with a forecast, since the start. */
  matched: number;
  /** Actual values that matched no forecast (too old, or never forecast). */
  unmatched: number;
  steps: StepAccuracy[];
  /** Over every step of the rolling windows. */
  overall: Omit<StepAccuracy, 'step'> & { skill: number | null };
}

/** A fixed-size window of (model error, naive error) pairs with running sums. */
class Rolling {
  readonly #abs: Float64Array;
  readonly #sq: Float64Array;
  readonly #naiveAbs: Float64Array;
  readonly #naiveSq: Float64Array;
  #next = 0;
  n = 0;
  sums = { abs: 0, sq: 0, naiveAbs: 0, naiveSq: 0 };

  constructor(size: number) {
    this.#abs = new Float64Array(size);
    this.#sq = new Float64Array(size);
    this.#naiveAbs = new Float64Array(size);
    this.#naiveSq = new Float64Array(size);
  }

  add(err: number, naiveErr: number): void {
    const i = this.#next;
    if (this.n === this.#abs.length) {
      this.sums.abs -= this.#abs[i]!;
      this.sums.sq -= this.#sq[i]!;
      this.sums.naiveAbs -= this.#naiveAbs[i]!;
      this.sums.naiveSq -= this.#naiveSq[i]!;
    } else this.n++;
    this.#abs[i] = Math.abs(err);
    this.#sq[i] = err * err;
    this.#naiveAbs[i] = Math.abs(naiveErr);
    this.#naiveSq[i] = naiveErr * naiveErr;
    this.sums.abs += this.#abs[i]!;
    this.sums.sq += this.#sq[i]!;
    this.sums.naiveAbs += this.#naiveAbs[i]!;
    this.sums.naiveSq += this.#naiveSq[i]!;
    this.#next = (i + 1) % this.#abs.length;
  }
}

// The steps forecast for one timestamp: their cells in the rings (slot * predLen + step), oldest first;
// `head` skips the evicted ones. Plain integer arrays: no object per forecast.
interface Waiting {
  cells: number[];
  head: number;
}

const RECENT = 500;

export class Monitor {
  readonly predLen: number;
  readonly columns: string[];
  readonly #maxForecasts: number;
  // The forecasts kept, in rings of maxForecasts slots (a new forecast takes the oldest one's slot):
  // per cell (slot * predLen + step) its timestamp, values [C] and whether it still waits for an
  // actual; per slot the naive forecast [C]. Typed arrays: a full store costs the collector nothing.
  readonly #times: Float64Array;
  readonly #values: Float64Array;
  readonly #naive: Float64Array;
  readonly #waiting: Uint8Array;
  readonly #used: Uint8Array;
  #slot = 0;
  readonly #byTime = new Map<number, Waiting>();
  #pending = 0;
  #matched = 0;
  #unmatched = 0;
  readonly #steps: Rolling[];
  // The newest matched points of step 1, target column, for plots (a ring of RECENT).
  readonly #recent: MatchedPoint[] = [];
  #recentNext = 0;

  constructor(predLen: number, columns: string[], opts: MonitorOptions = {}) {
    const maxForecasts = opts.maxForecasts ?? 10_000;
    const window = opts.window ?? 1000;
    for (const [k, v] of [
      ['maxForecasts', maxForecasts],
      ['window', window],
      ['predLen', predLen],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new ValueError(`Monitor ${k} must be an integer >= 1, got ${String(v)}`);
    }
    if (!Array.isArray(columns) || columns.length === 0) throw new ValueError('Monitor needs the forecast columns');
    this.predLen = predLen;
    this.columns = [...columns];
    this.#maxForecasts = maxForecasts;
    const C = columns.length;
    this.#times = new Float64Array(maxForecasts * predLen);
    this.#values = new Float64Array(maxForecasts * predLen * C);
    this.#naive = new Float64Array(maxForecasts * C);
    this.#waiting = new Uint8Array(maxForecasts * predLen);
    this.#used = new Uint8Array(maxForecasts);
    this.#steps = Array.from({ length: predLen }, () => new Rolling(window * columns.length));
  }

  /** Remembers a served forecast and the last observed values of its history (the naive forecast). */
  recordForecast(f: Forecast, last: readonly number[]): void {
    if (f.timestamps.length !== this.predLen || last.length !== this.columns.length) {
      throw new ValueError(
        `a forecast of ${f.timestamps.length} steps x ${last.length} columns does not fit ${this.predLen} x ${this.columns.length}`,
      );
    }
    const P = this.predLen;
    const C = this.columns.length;
    const slot = this.#slot;
    if (this.#used[slot]) this.#evict(slot);
    this.#used[slot] = 1;
    this.#slot = (slot + 1) % this.#maxForecasts;
    for (let c = 0; c < C; c++) this.#naive[slot * C + c] = last[c]!;
    for (let step = 0; step < P; step++) {
      const cell = slot * P + step;
      const t = f.timestamps[step]!;
      this.#times[cell] = t;
      this.#waiting[cell] = 1;
      const row = f.values[step]!;
      for (let c = 0; c < C; c++) this.#values[cell * C + c] = row[c]!;
      let w = this.#byTime.get(t);
      if (w === undefined) {
        w = { cells: [], head: 0 };
        this.#byTime.set(t, w);
      }
      w.cells.push(cell);
      this.#pending++;
    }
  }

  // A slot's cells still waiting are at the head of their timestamps' lists (forecasts arrive in
  // order), so eviction is O(steps), however many forecasts share a timestamp.
  #evict(slot: number): void {
    const P = this.predLen;
    for (let step = 0; step < P; step++) {
      const cell = slot * P + step;
      if (!this.#waiting[cell]) continue;
      this.#waiting[cell] = 0;
      this.#pending--;
      const t = this.#times[cell]!;
      const w = this.#byTime.get(t);
      if (!w) continue;
      while (w.head < w.cells.length && !this.#waiting[w.cells[w.head]!]) w.head++;
      if (w.head === w.cells.length) this.#byTime.delete(t);
      else if (w.head > 64 && w.head * 2 > w.cells.length) {
        w.cells = w.cells.slice(w.head);
        w.head = 0;
      }
    }
  }

  /** Matches observed values with the forecasts made for their timestamps. */
  recordActuals(a: Actuals): { matched: number; unmatched: number } {
    if (typeof a !== 'object' || a === null || a.dates === undefined || typeof a.values !== 'object' || a.values === null) {
      throw new ValueError('actuals must be { "dates": [...], "values": { column: [...] } }');
    }
    const n = a.dates.length;
    const cols = this.columns.map((name) => {
      const col = a.values[name];
      if (col === undefined)
        throw new ValueError(`actuals have no column ${JSON.stringify(name)}; the model forecasts ${this.columns.join(', ')}`);
      if (col.length !== n) throw new ValueError(`actuals column ${JSON.stringify(name)} has ${col.length} values, dates has ${n}`);
      return col;
    });
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = toMs(a.dates[i]);
      if (t === null || !Number.isFinite(t)) throw new ValueError(`actuals date ${i} (${JSON.stringify(a.dates[i])}) is not a date`);
      cols.forEach((col, c) => {
        const v = col[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new ValueError(`actuals column ${JSON.stringify(this.columns[c])} at ${i} is ${JSON.stringify(v)}, not a finite number`);
        }
      });
      times.push(t);
    }
    let matched = 0;
    let unmatched = 0;
    times.forEach((t, i) => {
      const list = this.#byTime.get(t);
      if (!list) {
        unmatched += this.columns.length;
        return;
      }
      const C = this.columns.length;
      const P = this.predLen;
      for (let k = list.head; k < list.cells.length; k++) {
        const cell = list.cells[k]!;
        if (!this.#waiting[cell]) continue;
        this.#waiting[cell] = 0;
        this.#pending--;
        const step = cell % P;
        const slot = (cell - step) / P;
        cols.forEach((col, c) => {
          const actual = col[i] as number;
          this.#steps[step]!.add(this.#values[cell * C + c]! - actual, this.#naive[slot * C + c]! - actual);
          matched++;
        });
        if (step === 0) {
          const c = cols.length - 1; // the target is the last column
          this.#remember({ t, actual: cols[c]![i] as number, forecast: this.#values[cell * C + c]!, naive: this.#naive[slot * C + c]! });
        }
      }
      this.#byTime.delete(t);
    });
    this.#matched += matched;
    this.#unmatched += unmatched;
    return { matched, unmatched };
  }

  #remember(point: MatchedPoint): void {
    if (this.#recent.length < RECENT) this.#recent.push(point);
    else this.#recent[this.#recentNext] = point;
    this.#recentNext = (this.#recentNext + 1) % RECENT;
  }

  /** The newest matched points of the first step (target column), oldest first (at most 500). */
  recent(): MatchedPoint[] {
    const ordered =
      this.#recent.length < RECENT
        ? [...this.#recent]
        : [...this.#recent.slice(this.#recentNext), ...this.#recent.slice(0, this.#recentNext)];
    return ordered.sort((a, b) => a.t - b.t);
  }

  snapshot(): MonitorSnapshot {
    const ratio = (x: number, n: number) => (n > 0 ? x / n : null);
    const sqrt = (x: number | null) => (x === null ? null : Math.sqrt(x));
    const steps = this.#steps.map((r, i) => {
      const mse = ratio(r.sums.sq, r.n);
      const naiveMse = ratio(r.sums.naiveSq, r.n);
      return {
        step: i + 1,
        n: r.n,
        mae: ratio(r.sums.abs, r.n),
        mse,
        rmse: sqrt(mse),
        naiveMae: ratio(r.sums.naiveAbs, r.n),
        naiveMse,
        naiveRmse: sqrt(naiveMse),
      };
    });
    const total = this.#steps.reduce(
      (acc, r) => ({
        n: acc.n + r.n,
        abs: acc.abs + r.sums.abs,
        sq: acc.sq + r.sums.sq,
        naiveAbs: acc.naiveAbs + r.sums.naiveAbs,
        naiveSq: acc.naiveSq + r.sums.naiveSq,
      }),
      { n: 0, abs: 0, sq: 0, naiveAbs: 0, naiveSq: 0 },
    );
    const mse = ratio(total.sq, total.n);
    const naiveMse = ratio(total.naiveSq, total.n);
    return {
      columns: [...this.columns],
      pending: this.#pending,
      matched: this.#matched,
      unmatched: this.#unmatched,
      steps,
      overall: {
        n: total.n,
        mae: ratio(total.abs, total.n),
        mse,
        rmse: sqrt(mse),
        naiveMae: ratio(total.naiveAbs, total.n),
        naiveMse,
        naiveRmse: sqrt(naiveMse),
        skill: mse !== null && naiveMse !== null && naiveMse > 0 ? 1 - mse / naiveMse : null,
      },
    };
  }
}
