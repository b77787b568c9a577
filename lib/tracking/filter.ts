// MLflow's basic search filter language: `<entity>.<key> <op> <value>` clauses joined by AND, e.g.
// `params.lr = '0.001' and metrics.mse < 0.5 and tags."mlflow.user" LIKE 'ann%'`. Entities:
// metrics./params./tags./attributes. (and MLflow's singular/alias prefixes); a bare name is an
// attribute. Ops: = != < <= > >= LIKE ILIKE IN NOT IN. Keys with odd characters go in "..." or `...`.
// Beyond MLflow, < <= > >= also work on params/tags: numerically when both sides are numbers.
import { ValueError } from '../errors.js';

export type Entity = 'metric' | 'param' | 'tag' | 'attribute';
export type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';

/** One parsed comparison. */
export interface Clause {
  entity: Entity;
  key: string;
  op: Op;
  value: string | number | Array<string | number>;
}

const PREFIXES: Record<string, Entity> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

type Token = { t: 'word' | 'str' | 'num' | 'op' | 'punct'; v: string };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1,
        v = '';
      for (;;) {
        if (j >= s.length) throw new ValueError(`unterminated ${c}...${c} in filter '${s}'`);
        if (s[j] === c) {
          if (s[j + 1] === c) {
            v += c;
            j += 2;
            continue;
          } // doubled quote escapes itself (SQL)
          break;
        }
        v += s[j++];
      }
      out.push({ t: c === "'" ? 'str' : 'word', v: c === '"' ? `"${v}` : c === '`' ? `"${v}` : v });
      i = j + 1;
    } else if (/[<>=!]/.test(c)) {
      const two = s.slice(i, i + 2);
      if (['<=', '>=', '!=', '<>', '=='].includes(two)) {
        out.push({ t: 'op', v: two === '<>' ? '!=' : two === '==' ? '=' : two });
        i += 2;
      } else if (c === '!') throw new ValueError(`unexpected '!' in filter '${s}'`);
      else {
        out.push({ t: 'op', v: c });
        i++;
      }
    } else if (c === '(' || c === ')' || c === ',' || c === '.') {
      out.push({ t: 'punct', v: c });
      i++;
    } else {
      const m = /^[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)(?![\w])/.exec(s.slice(i));
      if (
        m !== null &&
        (out.length === 0 || out[out.length - 1]!.t === 'op' || out[out.length - 1]!.v === '(' || out[out.length - 1]!.v === ',')
      ) {
        out.push({ t: 'num', v: m[0] });
        i += m[0].length;
        continue;
      }
      const w = /^[A-Za-z0-9_\-:/]+/.exec(s.slice(i));
      if (w === null) throw new ValueError(`unexpected character '${c}' in filter '${s}'`);
      out.push({ t: 'word', v: w[0] });
      i += w[0].length;
    }
  }
  return out;
}

/** Parses a filter string into clauses (all must hold). An empty or blank string gives none. */
export function parseFilter(filter: string | undefined): Clause[] {
  if (filter === undefined || filter.trim() === '') return [];
  const toks = tokenize(filter);
  const clauses: Clause[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new ValueError(`invalid filter '${filter}': ${msg}`);
  };
  const ident = (): { entity: Entity; key: string } => {
    const first = toks[i++];
    if (first === undefined || first.t !== 'word') return fail('expected an identifier such as metrics.mse or params.lr');
    const quoted = first.v.startsWith('"');
    if (!quoted && toks[i]?.v === '.' && toks[i]?.t === 'punct') {
      const entity = PREFIXES[first.v.toLowerCase()];
      if (entity === undefined) return fail(`unknown entity '${first.v}' (use metrics., params., tags. or attributes.)`);
      i++;
      // The key runs until the comparator: it may contain dots (tags.mlflow.runName).
      let key = '';
      while (i < toks.length && toks[i]!.t !== 'op' && !/^(?:LIKE|ILIKE|IN|NOT)$/i.test(toks[i]!.v)) {
        const t = toks[i++]!;
        key += t.t === 'word' && t.v.startsWith('"') ? t.v.slice(1) : t.v;
      }
      if (key === '') return fail(`missing key after '${first.v}.'`);
      return { entity, key };
    }
    return { entity: 'attribute', key: quoted ? first.v.slice(1) : first.v };
  };
  const literal = (): string | number => {
    const t = toks[i++];
    if (t === undefined) return fail('expected a value');
    if (t.t === 'str') return t.v;
    if (t.t === 'num') return Number(t.v);
    if (t.t === 'word' && t.v.startsWith('"')) return t.v.slice(1); // "double-quoted" value
    return fail(`expected a quoted string or a number, got '${t.v}'`);
  };
  for (;;) {
    const { entity, key } = ident();
    const t = toks[i++];
    if (t === undefined) fail(`missing comparator after '${key}'`);
    let op: Op;
    if (t!.t === 'op') op = t!.v as Op;
    else if (/^LIKE$/i.test(t!.v)) op = 'LIKE';
    else if (/^ILIKE$/i.test(t!.v)) op = 'ILIKE';
    else if (/^IN$/i.test(t!.v)) op = 'IN';
    else if (/^NOT$/i.test(t!.v) && /^IN$/i.test(toks[i]?.v ?? '')) {
      i++;
      op = 'NOT IN';
    } else return fail(`unknown comparator '${t!.v}'`);
    let value: Clause['value'];
    if (op === 'IN' || op === 'NOT IN') {
      if (toks[i++]?.v !== '(') fail(`${op} needs a parenthesised list`);
      const list: Array<string | number> = [];
      for (;;) {
        list.push(literal());
        const sep = toks[i++]?.v;
        if (sep === ')') break;
        if (sep !== ',') fail(`expected ',' or ')' in ${op} list`);
      }
      value = list;
    } else value = literal();
    if (entity === 'metric' && typeof value !== 'number')
      fail(`metrics compare with numbers: metrics.${key} ${op} ${JSON.stringify(value)}`);
    if ((op === 'LIKE' || op === 'ILIKE') && typeof value !== 'string') fail(`${op} needs a quoted pattern`);
    clauses.push({ entity, key, op, value });
    if (i >= toks.length) break;
    if (!/^AND$/i.test(toks[i]!.v)) fail(`expected AND, got '${toks[i]!.v}' (OR is not supported, as in MLflow)`);
    i++;
  }
  return clauses;
}

function likeToRegExp(pattern: string, flags: string): RegExp {
  let re = '';
  for (const ch of pattern) re += ch === '%' ? '.*' : ch === '_' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`, flags);
}

function asNumber(v: string | number): number | null {
  if (typeof v === 'number') return v;
  return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null;
}

function compare(actual: string | number, op: Op, expected: Clause['value']): boolean {
  if (op === 'IN' || op === 'NOT IN') {
    const hit = (expected as Array<string | number>).some((e) => String(e) === String(actual));
    return op === 'IN' ? hit : !hit;
  }
  const exp = expected as string | number;
  if (op === 'LIKE' || op === 'ILIKE') return likeToRegExp(String(exp), op === 'ILIKE' ? 'is' : 's').test(String(actual));
  let a: string | number = String(actual),
    e: string | number = String(exp);
  if (typeof actual === 'number') {
    // metrics and numeric attributes compare as numbers
    const en = asNumber(exp);
    if (en !== null) {
      a = actual;
      e = en;
    }
  } else if (op !== '=' && op !== '!=') {
    // ordering on params/tags: numeric when both sides are numbers
    const an = asNumber(actual),
      en = asNumber(exp);
    if (an !== null && en !== null) {
      a = an;
      e = en;
    }
  }
  switch (op) {
    case '=':
      return a === e;
    case '!=':
      return a !== e;
    case '<':
      return a < e;
    case '<=':
      return a <= e;
    case '>':
      return a > e;
    case '>=':
      return a >= e;
  }
  return false;
}

/** Value lookup for one entity: undefined/null when the run (or model...) does not have it. */
export type Lookup = (entity: Entity, key: string) => string | number | null | undefined;

/** True when every clause holds. A missing key makes its clause false (as in MLflow). */
export function matchesFilter(clauses: Clause[], lookup: Lookup): boolean {
  return clauses.every((c) => {
    const v = lookup(c.entity, c.key);
    return v !== undefined && v !== null && compare(v, c.op, c.value);
  });
}

/** One parsed order-by term: `metrics.mse DESC`. */
export interface OrderBy {
  entity: Entity;
  key: string;
  ascending: boolean;
}

/** Parses order-by strings such as `metrics.mse ASC` or `attributes.start_time DESC`. */
export function parseOrderBy(terms: string[] | undefined): OrderBy[] {
  return (terms ?? []).map((term) => {
    const m = /^(.*?)(?:\s+(ASC|DESC))?\s*$/i.exec(term.trim());
    const [{ entity, key }] = parseFilter(`${m![1]} = 0`).map((c) => ({ entity: c.entity, key: c.key }));
    return { entity: entity!, key: key!, ascending: (m![2] ?? 'ASC').toUpperCase() === 'ASC' };
  });
}

/** Sorts items by order-by terms; missing values go last. */
export function sortBy<T>(items: T[], order: OrderBy[], lookup: (item: T) => Lookup): T[] {
  return [...items].sort((x, y) => {
    for (const o of order) {
      const a = lookup(x)(o.entity, o.key),
        b = lookup(y)(o.entity, o.key);
      const am = a === undefined || a === null,
        bm = b === undefined || b === null;
      if (am || bm) {
        if (am !== bm) return am ? 1 : -1;
        continue;
      }
      const an = asNumber(a!),
        bn = asNumber(b!);
      const d = an !== null && bn !== null ? an - bn : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
      if (d !== 0 && !Number.isNaN(d)) return o.ascending ? d : -d;
    }
    return 0;
  });
}
