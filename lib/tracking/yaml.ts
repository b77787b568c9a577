// YAML the way MLflow writes it. MLflow dumps meta.yaml and MLmodel with PyYAML's CSafeDumper
// (libyaml; `default_flow_style=False`, keys sorted, width 80, indent 2); this emitter follows libyaml's
// emitter rules (scalar analysis, YAML 1.1 implicit types, quoting style, line folding, indentless
// sequences in mappings) so files written here are byte-identical to MLflow's for the same data, and
// a string that YAML 1.1 would read as something else (`yes`, `'1'`, `null`, a date) is quoted.
// Reading resolves plain scalars with the same (PyYAML) rules, so `1e5`, `y` or `0o17` stay strings
// as they do for MLflow; the `yaml` package does the parsing.
import type * as Yaml from 'yaml';

import { requireLazily } from '../lazy.js';

// The yaml package parses (writing is our own emitter below); it loads with the first parse.
const yaml = (): typeof Yaml => requireLazily<typeof Yaml>('yaml', 'reading YAML');
import { pyFloatRepr } from './pyformat.js';

/** Options of dumpYaml. */
export interface DumpYamlOptions {
  /** Sort mapping keys (PyYAML's default; MLflow always sorts). Default true. */
  sortKeys?: boolean;
  /** Write non-ASCII characters as is (MLflow's meta.yaml) rather than escaped (its MLmodel). Default true. */
  allowUnicode?: boolean;
}

// YAML 1.1 implicit resolvers of PyYAML (resolver.py), each tried only for its first characters.
type Kind = 'bool' | 'float' | 'int' | 'merge' | 'null' | 'timestamp' | 'value';
const RESOLVERS: Array<[Kind, string, RegExp]> = [
  ['bool', 'yYnNtTfFoO', /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/],
  [
    'float',
    '-+0123456789.',
    /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  ],
  [
    'int',
    '-+0123456789',
    /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  ],
  ['merge', '<', /^(?:<<)$/],
  ['null', '~nN', /^(?:~|null|Null|NULL)$/],
  [
    'timestamp',
    '0123456789',
    /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  ],
  ['value', '=', /^(?:=)$/],
];

function resolveKind(text: string): Kind | 'str' {
  if (text === '') return 'null'; // the empty plain scalar is null
  const first = text[0]!;
  for (const [kind, firsts, re] of RESOLVERS) if (firsts.includes(first) && re.test(text)) return kind;
  return 'str';
}

/** Whether a plain scalar with this text would read back as a string. */
function plainIsString(text: string): boolean {
  return resolveKind(text) === 'str';
}

// PyYAML's constructors for int and float (base-60 included); ints beyond 2^53 stay decimal strings.
function sexagesimal(body: string): number {
  return body.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

function constructInt(text: string): number | string {
  let t = text.replace(/_/g, '');
  const sign = t.startsWith('-') ? -1 : 1;
  if (t[0] === '-' || t[0] === '+') t = t.slice(1);
  let v: number;
  if (t === '0') v = 0;
  else if (t.startsWith('0b')) v = parseInt(t.slice(2), 2);
  else if (t.startsWith('0x')) v = parseInt(t.slice(2), 16);
  else if (t.startsWith('0')) v = parseInt(t, 8);
  else if (t.includes(':')) v = sexagesimal(t);
  else {
    v = Number(t);
    if (!Number.isSafeInteger(v)) return (sign < 0 ? '-' : '') + t;
  }
  return sign * v;
}

function constructFloat(text: string): number {
  let t = text.replace(/_/g, '').toLowerCase();
  const sign = t.startsWith('-') ? -1 : 1;
  if (t[0] === '-' || t[0] === '+') t = t.slice(1);
  if (t === '.inf') return sign * Infinity;
  if (t === '.nan') return NaN;
  return sign * (t.includes(':') ? sexagesimal(t) : Number(t));
}

function plainValue(text: string): unknown {
  switch (resolveKind(text)) {
    case 'null':
      return null;
    case 'bool':
      return /^(?:yes|true|on)$/i.test(text);
    case 'int':
      return constructInt(text);
    case 'float':
      return constructFloat(text);
    default:
      return text; // strings; timestamps are kept as their text
  }
}

function toData(node: unknown): unknown {
  if (node === null || node === undefined) return null;
  const { isMap, isScalar, isSeq } = yaml();
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) out[String(toData(pair.key))] = toData(pair.value);
    return out;
  }
  if (isSeq(node)) return node.items.map(toData);
  if (isScalar(node)) {
    const text = node.value === null || node.value === undefined ? '' : String(node.value);
    return node.type === 'PLAIN' ? plainValue(text) : text;
  }
  throw new Error('YAML anchors, aliases and tags are not supported here');
}

/** Parses YAML as PyYAML's safe_load (and so MLflow) reads it: YAML 1.1 implicit types. */
export function parseYaml(text: string): unknown {
  const doc = yaml().parseDocument(text, { schema: 'failsafe', version: '1.1' });
  if (doc.errors.length > 0) throw doc.errors[0];
  return toData(doc.contents);
}

// libyaml's character classes (yaml_private.h): MLflow dumps through CSafeDumper, i.e. libyaml.
const isBreak = (ch: string): boolean => ch === '\n' || ch === '\r' || ch === '\x85' || ch === '\u2028' || ch === '\u2029';
const isBlankz = (ch: string | undefined): boolean => ch === undefined || ch === ' ' || ch === '\t' || ch === '\0' || isBreak(ch);
function isPrintable(cp: number): boolean {
  return cp === 0x0a || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff);
}

interface Analysis {
  chars: string[];
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
}

// libyaml yaml_emitter_analyze_scalar, restricted to what block context needs.
function analyze(text: string, unicode: boolean): Analysis {
  const chars = Array.from(text);
  const n = chars.length;
  if (n === 0) return { chars, multiline: false, blockPlainAllowed: true, singleQuotedAllowed: true };
  let blockIndicators = text.startsWith('---') || text.startsWith('...');
  let lineBreaks = false,
    special = false;
  let leadingSpace = false,
    leadingBreak = false,
    trailingSpace = false,
    trailingBreak = false;
  let breakSpace = false,
    spaceBreak = false,
    prevSpace = false,
    prevBreak = false;
  let precededByWs = true;
  for (let i = 0; i < n; i++) {
    const ch = chars[i]!;
    const followedByWs = isBlankz(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ((ch === '?' || ch === ':' || ch === '-') && followedByWs) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWs) blockIndicators = true;
      if (ch === '#' && precededByWs) blockIndicators = true;
    }
    const cp = ch.codePointAt(0)!;
    if (!isPrintable(cp) || (cp > 0x7f && !unicode)) special = true;
    if (isBreak(ch)) lineBreaks = true;
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === n - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (isBreak(ch)) {
      if (i === 0) leadingBreak = true;
      if (i === n - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false;
      prevBreak = true;
    } else {
      prevSpace = prevBreak = false;
    }
    precededByWs = isBlankz(ch);
  }
  let blockPlainAllowed = !(leadingSpace || leadingBreak || trailingSpace || trailingBreak);
  let singleQuotedAllowed = true;
  if (breakSpace) blockPlainAllowed = singleQuotedAllowed = false;
  if (spaceBreak || special) blockPlainAllowed = singleQuotedAllowed = false;
  if (lineBreaks || blockIndicators) blockPlainAllowed = false;
  return { chars, multiline: lineBreaks, blockPlainAllowed, singleQuotedAllowed };
}

const ESCAPES: Record<number, string> = {
  0x00: '0',
  0x07: 'a',
  0x08: 'b',
  0x09: 't',
  0x0a: 'n',
  0x0b: 'v',
  0x0c: 'f',
  0x0d: 'r',
  0x1b: 'e',
  0x22: '"',
  0x5c: '\\',
  0x85: 'N',
  0xa0: '_',
  0x2028: 'L',
  0x2029: 'P',
};

interface Ctx {
  mapping?: boolean;
  simpleKey?: boolean;
}

// A port of the parts of libyaml's emitter used by `yaml.dump(data, Dumper=CSafeDumper,
// default_flow_style=False)`: block mappings and sequences, empty collections as {} and [].
class Emitter {
  private out = '';
  private column = 0;
  private whitespace = true;
  private indention = true;
  private indent: number | null = null;
  private readonly indents: Array<number | null> = [];
  private mappingContext = false;
  private simpleKeyContext = false;
  private readonly bestIndent = 2;
  private readonly bestWidth = 80;

  constructor(
    private readonly sortKeys: boolean,
    private readonly unicode: boolean,
  ) {}

  dump(value: unknown): string {
    this.node(value, {});
    this.writeIndent(); // document end: final line break
    return this.out;
  }

  private put(s: string): void {
    this.out += s;
    this.column += s.length;
  }

  private write(ch: string): void {
    this.out += ch;
    this.column += 1;
  }

  private putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }

  private writeBreak(ch: string): void {
    if (ch === '\n') return this.putBreak();
    this.out += ch;
    this.column = 0;
  }

  private increaseIndent(flow: boolean, indentless = false): void {
    this.indents.push(this.indent);
    if (this.indent === null) this.indent = flow ? this.bestIndent : 0;
    else if (!indentless) this.indent += this.bestIndent;
  }

  private popIndent(): void {
    this.indent = this.indents.pop() ?? null;
  }

  private writeIndicator(ind: string, needWhitespace: boolean, isWhitespace = false, isIndention = false): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    this.put(ind);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  private writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak();
    while (this.column < indent) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }

  private node(value: unknown, ctx: Ctx): void {
    this.mappingContext = ctx.mapping === true;
    this.simpleKeyContext = ctx.simpleKey === true;
    if (Array.isArray(value)) {
      if (value.length === 0) return this.emptyCollection('[', ']');
      const indentless = this.mappingContext && !this.indention;
      this.increaseIndent(false, indentless);
      for (const item of value) {
        this.writeIndent();
        this.writeIndicator('-', true, false, true);
        this.node(item, {});
      }
      return this.popIndent();
    }
    if (value !== null && typeof value === 'object') {
      let entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      if (entries.length === 0) return this.emptyCollection('{', '}');
      if (this.sortKeys) entries = entries.sort(([a], [b]) => comparePy(a, b));
      this.increaseIndent(false);
      for (const [k, v] of entries) {
        this.writeIndent();
        // libyaml: a key is simple when it is one line of at most 128 UTF-8 bytes.
        if (!/[\n\r\x85\u2028\u2029]/.test(k) && Buffer.byteLength(k, 'utf8') <= 128) {
          this.node(k, { mapping: true, simpleKey: true });
          this.writeIndicator(':', false);
        } else {
          this.writeIndicator('?', true, false, true);
          this.node(k, { mapping: true });
          this.writeIndent();
          this.writeIndicator(':', true, false, true);
        }
        this.node(v, { mapping: true });
      }
      return this.popIndent();
    }
    this.increaseIndent(true);
    this.scalar(value);
    this.popIndent();
  }

  private emptyCollection(open: string, close: string): void {
    this.writeIndicator(open, true, true);
    this.increaseIndent(true);
    this.popIndent();
    this.writeIndicator(close, false);
  }

  private scalar(value: unknown): void {
    if (value === null || value === undefined) return this.writePlain(['n', 'u', 'l', 'l'], false);
    if (typeof value === 'boolean') return this.writePlain(Array.from(String(value)), false);
    if (typeof value === 'number') return this.writePlain(Array.from(yamlNumber(value)), false);
    if (typeof value === 'bigint') return this.writePlain(Array.from(value.toString()), false);
    const text = String(value);
    const a = analyze(text, this.unicode);
    const allowBreaks = !this.simpleKeyContext;
    if (this.simpleKeyContext && a.multiline) return this.writeDoubleQuoted(a.chars, allowBreaks);
    if (a.blockPlainAllowed && plainIsString(text) && !(text === '' && this.simpleKeyContext)) {
      return this.writePlain(a.chars, allowBreaks);
    }
    if (a.singleQuotedAllowed) return this.writeSingleQuoted(a.chars, allowBreaks);
    this.writeDoubleQuoted(a.chars, allowBreaks);
  }

  private writePlain(chars: string[], allowBreaks: boolean): void {
    if (!this.whitespace && chars.length > 0) this.put(' ');
    let spaces = false,
      breaks = false;
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i]!;
      if (ch === ' ') {
        if (allowBreaks && !spaces && this.column > this.bestWidth && chars[i + 1] !== ' ') this.writeIndent();
        else this.write(ch);
        spaces = true;
      } else if (isBreak(ch)) {
        if (!breaks && ch === '\n') this.putBreak();
        this.writeBreak(ch);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        this.write(ch);
        this.indention = false;
        spaces = breaks = false;
      }
    }
    this.whitespace = false;
    this.indention = false;
  }

  private writeSingleQuoted(chars: string[], allowBreaks: boolean): void {
    this.writeIndicator("'", true);
    const n = chars.length;
    let spaces = false,
      breaks = false;
    for (let i = 0; i < n; i++) {
      const ch = chars[i]!;
      if (ch === ' ') {
        if (allowBreaks && !spaces && this.column > this.bestWidth && i !== 0 && i !== n - 1 && chars[i + 1] !== ' ') {
          this.writeIndent();
        } else this.write(ch);
        spaces = true;
      } else if (isBreak(ch)) {
        if (!breaks && ch === '\n') this.putBreak();
        this.writeBreak(ch);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (ch === "'") this.write("'");
        this.write(ch);
        this.indention = false;
        spaces = breaks = false;
      }
    }
    if (breaks) this.writeIndent();
    this.writeIndicator("'", false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeDoubleQuoted(chars: string[], allowBreaks: boolean): void {
    this.writeIndicator('"', true);
    const n = chars.length;
    let spaces = false;
    for (let i = 0; i < n; i++) {
      const ch = chars[i]!;
      const cp = ch.codePointAt(0)!;
      if (!isPrintable(cp) || (!this.unicode && cp > 0x7f) || isBreak(ch) || ch === '"' || ch === '\\') {
        const esc = ESCAPES[cp];
        if (esc !== undefined) this.put(`\\${esc}`);
        else if (cp <= 0xff) this.put(`\\x${hex(cp, 2)}`);
        else if (cp <= 0xffff) this.put(`\\u${hex(cp, 4)}`);
        else this.put(`\\U${hex(cp, 8)}`);
        spaces = false;
      } else if (ch === ' ') {
        if (allowBreaks && !spaces && this.column > this.bestWidth && i !== 0 && i !== n - 1) {
          this.writeIndent();
          if (chars[i + 1] === ' ') this.put('\\');
        } else this.write(ch);
        spaces = true;
      } else {
        this.write(ch);
        spaces = false;
      }
    }
    this.writeIndicator('"', false);
    this.whitespace = false;
    this.indention = false;
  }
}

function hex(n: number, width: number): string {
  return n.toString(16).toUpperCase().padStart(width, '0');
}

// PyYAML represent_int / represent_float for a JS number.
function yamlNumber(v: number): string {
  if (Number.isInteger(v)) return BigInt(v).toString();
  if (Number.isNaN(v)) return '.nan';
  if (v === Infinity) return '.inf';
  if (v === -Infinity) return '-.inf';
  const r = pyFloatRepr(v);
  return !r.includes('.') && r.includes('e') ? r.replace('e', '.0e') : r;
}

// Python sorts str keys by code point; JS's default sort compares UTF-16 units.
function comparePy(a: string, b: string): number {
  const ca = Array.from(a),
    cb = Array.from(b);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i]!.codePointAt(0)! - cb[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

/** Serialises plain data (objects, arrays, strings, numbers, booleans, null) as PyYAML's safe_dump would. */
export function dumpYaml(value: unknown, options: DumpYamlOptions = {}): string {
  return new Emitter(options.sortKeys ?? true, options.allowUnicode ?? true).dump(value);
}
