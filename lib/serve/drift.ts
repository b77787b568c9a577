// Input drift of a served model: the newest row of each forecast request's history goes into a
// sliding window per column, compared with the training profile stored in the model folder
// (data/profile.ts) by the population stability index and the Kolmogorov-Smirnov distance. A warning is
// logged when a column's PSI exceeds the threshold (at most once a minute per column).
import { type DataProfile, ksDistance, psi } from '../data/profile.js';
import { ValueError } from '../errors.js';

export interface DriftOptions {
  /** Served values per column compared with the training profile (default 2 000). */
  window?: number;
  /** PSI above which a warning is logged (default 0.2). */
  psiThreshold?: number;
  /** Values a column needs before it is judged (default 100). */
  minValues?: number;
  /** Where warnings go (default console.warn). */
  warn?: (message: string) => void;
}

export interface ColumnDrift {
  column: string;
  n: number;
  psi: number | null;
  ks: number | null;
}

export class DriftMonitor {
  readonly columns: string[];
  readonly #profile: DataProfile;
  readonly #window: Float64Array[];
  readonly #size: number;
  readonly #threshold: number;
  readonly #min: number;
  readonly #warn: (message: string) => void;
  readonly #lastWarned = new Map<string, number>();
  #next = 0;
  #n = 0;
  #seen = 0;

  constructor(profile: DataProfile, columns: readonly string[], opts: DriftOptions = {}) {
    this.#size = opts.window ?? 2000;
    this.#threshold = opts.psiThreshold ?? 0.2;
    this.#min = opts.minValues ?? 100;
    if (!Number.isSafeInteger(this.#size) || this.#size < 10)
      throw new ValueError(`drift window must be an integer >= 10, got ${this.#size}`);
    if (!(this.#threshold > 0)) throw new ValueError(`psiThreshold must be > 0, got ${this.#threshold}`);
    for (const c of columns) if (!profile[c]) throw new ValueError(`the training profile has no column ${JSON.stringify(c)}`);
    this.columns = [...columns];
    this.#profile = profile;
    this.#window = columns.map(() => new Float64Array(this.#size));
    this.#warn = opts.warn ?? ((m) => console.warn(m));
  }

  /** One served row (the model's input columns, data units). */
  observe(row: readonly number[]): void {
    if (row.length !== this.columns.length) return;
    const i = this.#next;
    row.forEach((v, c) => {
      this.#window[c]![i] = v;
    });
    this.#next = (i + 1) % this.#size;
    this.#n = Math.min(this.#n + 1, this.#size);
    // Judged every 100 rows by PSI alone (cheap: a pass over the window); KS only for a warning.
    if (++this.#seen % 100 === 0) this.#check();
  }

  #check(): void {
    if (this.#n < this.#min) return;
    const now = Date.now();
    for (let c = 0; c < this.columns.length; c++) {
      const column = this.columns[c]!;
      const value = psi(this.#profile[column]!, this.#window[c]!.subarray(0, this.#n));
      if (value <= this.#threshold || now - (this.#lastWarned.get(column) ?? 0) < 60_000) continue;
      const d = { column, psi: value, n: this.#n, ks: ksDistance(this.#profile[column]!, this.#window[c]!.subarray(0, this.#n)) };
      this.#lastWarned.set(d.column, now);
      this.#warn(
        `informer serve: input drift in column ${JSON.stringify(d.column)}: PSI ${d.psi.toFixed(3)} > ${this.#threshold} over the last ${d.n} requests (KS ${d.ks?.toFixed(3)})`,
      );
    }
  }

  stats(): ColumnDrift[] {
    return this.columns.map((column, c) => {
      if (this.#n < this.#min) return { column, n: this.#n, psi: null, ks: null };
      const values = this.#window[c]!.subarray(0, this.#n);
      const profile = this.#profile[column]!;
      return { column, n: this.#n, psi: psi(profile, values), ks: ksDistance(profile, values) };
    });
  }
}
