// YAML the way MLflow writes it. MLflow dumps meta.yaml and MLmodel with PyYAML's SafeDumper
// (`default_flow_style=False`, keys sorted, width 80, indent 2); this emitter follows PyYAML's
// emitter rules (scalar analysis, YAML 1.1 implicit types, quoting style, line folding, indentless
// sequences in mappings) so files written here are byte-identical to MLflow's for the same data, and
// a string that YAML 1.1 would read as something else (`yes`, `'1'`, `null`, a date) is quoted.
// Reading uses the `yaml` package with the YAML 1.1 schema, which is what PyYAML reads.
import { parse } from 'yaml';
import { pyFloatRepr } from './pyformat.js';

/** Options of dumpYaml. */
export interface DumpYamlOptions {
  /** Sort mapping keys (PyYAML's default; MLflow always sorts). Default true. */
  sortKeys?: boolean;
  /** Write non-ASCII characters as is (MLflow's meta.yaml) rather than escaped (its MLmodel). Default true. */
  allowUnicode?: boolean;
}

/** Parses YAML with YAML 1.1 semantics, as PyYAML (and so MLflow) reads it. */
export function parseYaml(text: string): unknown {
  return parse(text, { version: '1.1' });
}

// YAML 1.1 implicit resolvers of PyYAML (resolver.py), keyed by the scalar's first character.
const RESOLVERS: Array<[string, RegExp]> = [
  ['yYnNtTfFoO', /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/],
  [
    '-+0123456789.',
    /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  ],
  [
    '-+0123456789',
    /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/,
  ],
  ['<', /^(?:<<)$/],
  ['~nN', /^(?:~|null|Null|NULL)$/],
  [
    '0123456789',
    /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  ],
  ['=', /^(?:=)$/],
];

/** Whether a plain scalar with this text would read back as a string. */
function plainIsString(text: string): boolean {
  if (text === '') return false; // the empty plain scalar is null
  const first = text[0]!;
  return !RESOLVERS.some(([firsts, re]) => firsts.includes(first) && re.test(text));
}

const BREAKS = '\n\x85\u2028\u2029';
const WS_OR_END = '\0 \t\r\n\x85\u2028\u2029';

interface Analysis {
  chars: string[];
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

function isPrintableUnicode(cp: number): boolean {
  return (
    (cp === 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp < 0x10ffff)) &&
    cp !== 0xfeff
  );
}

// PyYAML Emitter.analyze_scalar, restricted to what block context needs.
function analyze(text: string, allowUnicode: boolean): Analysis {
  const chars = Array.from(text);
  if (chars.length === 0) {
    return { chars, empty: true, multiline: false, allowBlockPlain: true, allowSingleQuoted: true };
  }
  let blockIndicators = text.startsWith('---') || text.startsWith('...');
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false, leadingBreak = false, trailingSpace = false, trailingBreak = false;
  let breakSpace = false, spaceBreak = false;
  let precededByWs = true;
  let followedByWs = chars.length === 1 || WS_OR_END.includes(chars[1]!);
  let prevSpace = false, prevBreak = false;
  const n = chars.length;
  for (let i = 0; i < n; i++) {
    const ch = chars[i]!;
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ('?:'.includes(ch) && followedByWs) blockIndicators = true;
      if (ch === '-' && followedByWs) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWs) blockIndicators = true;
      if (ch === '#' && precededByWs) blockIndicators = true;
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    const cp = ch.codePointAt(0)!;
    if (!(ch === '\n' || (cp >= 0x20 && cp <= 0x7e))) {
      if (isPrintableUnicode(cp)) {
        if (!allowUnicode) special = true;
      } else special = true;
    }
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === n - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (i === 0) leadingBreak = true;
      if (i === n - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false;
      prevBreak = true;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
    precededByWs = WS_OR_END.includes(ch);
    followedByWs = i + 2 >= n || WS_OR_END.includes(chars[i + 2]!);
  }
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (breakSpace) allowBlockPlain = allowSingleQuoted = false;
  if (spaceBreak || special) allowBlockPlain = allowSingleQuoted = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { chars, empty: false, multiline: lineBreaks, allowBlockPlain, allowSingleQuoted };
}

const ESCAPES: Record<string, string> = {
  '\0': '0', '\x07': 'a', '\x08': 'b', '\x09': 't', '\x0A': 'n', '\x0B': 'v', '\x0C': 'f',
  '\x0D': 'r', '\x1B': 'e', '"': '"', '\\': '\\', '\x85': 'N', '\xA0': '_', '\u2028': 'L', '\u2029': 'P',
};

interface Ctx {
  mapping?: boolean;
  simpleKey?: boolean;
}

// A port of the parts of PyYAML's Emitter used by `yaml.safe_dump(data, default_flow_style=False)`.
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
    private readonly allowUnicode: boolean,
  ) {}

  dump(value: unknown): string {
    this.node(value, {});
    this.writeIndent(); // document end: final line break
    return this.out;
  }

  private write(s: string, width = Array.from(s).length): void {
    this.out += s;
    this.column += width;
  }

  private increaseIndent(flow: boolean, indentless = false): void {
    this.indents.push(this.indent);
    if (this.indent === null) this.indent = flow ? this.bestIndent : 0;
    else if (!indentless) this.indent += this.bestIndent;
  }

  private popIndent(): void {
    this.indent = this.indents.pop() ?? null;
  }

  private writeIndicator(ind: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWhitespace ? ind : ' ' + ind;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.write(data);
  }

  private writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      this.writeLineBreak();
    }
    if (this.column < indent) {
      this.whitespace = true;
      this.write(' '.repeat(indent - this.column));
    }
  }

  private writeLineBreak(data = '\n'): void {
    this.whitespace = true;
    this.indention = true;
    this.out += data;
    this.column = 0;
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
        if (this.isSimpleKey(k)) {
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

  // libyaml (which MLflow uses through CSafeDumper) takes a key as simple up to 128 UTF-8 bytes.
  private isSimpleKey(key: string): boolean {
    return key !== '' && !/[\n\x85\u2028\u2029]/.test(key) && Buffer.byteLength(key, 'utf8') <= 128;
  }

  private scalar(value: unknown): void {
    if (value === null || value === undefined) return this.writePlain(Array.from('null'));
    if (typeof value === 'boolean') return this.writePlain(Array.from(value ? 'true' : 'false'));
    if (typeof value === 'number') return this.writePlain(Array.from(yamlNumber(value)));
    if (typeof value === 'bigint') return this.writePlain(Array.from(value.toString()));
    const text = String(value);
    const a = analyze(text, this.allowUnicode);
    const split = !this.simpleKeyContext;
    if (
      plainIsString(text) &&
      !(this.simpleKeyContext && (a.empty || a.multiline)) &&
      a.allowBlockPlain
    ) {
      return this.writePlain(a.chars, split);
    }
    if (a.allowSingleQuoted && !(this.simpleKeyContext && a.multiline)) {
      return this.writeSingleQuoted(a.chars, split);
    }
    this.writeDoubleQuoted(a.chars, split);
  }

  private writePlain(text: string[], split = true): void {
    if (text.length === 0) return;
    if (!this.whitespace) this.write(' ');
    this.whitespace = false;
    this.indention = false;
    let spaces = false, breaks = false;
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end]! : null;
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > this.bestWidth && split) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else this.write(text.slice(start, end).join(''), end - start);
          start = end;
        }
      } else if (breaks) {
        if (ch === null || !BREAKS.includes(ch)) {
          this.writeBreaks(text, start, end);
          this.whitespace = false;
          this.indention = false;
          start = end;
        }
      } else if (ch === null || (' ' + BREAKS).includes(ch)) {
        this.write(text.slice(start, end).join(''), end - start);
        start = end;
      }
      if (ch !== null) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
    }
  }

  private writeBreaks(text: string[], start: number, end: number): void {
    if (text[start] === '\n') this.writeLineBreak();
    for (const br of text.slice(start, end)) this.writeLineBreak(br === '\n' ? '\n' : br);
    this.writeIndent();
  }

  private writeSingleQuoted(text: string[], split: boolean): void {
    this.writeIndicator("'", true);
    let spaces = false, breaks = false;
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end]! : null;
      if (spaces) {
        if (ch === null || ch !== ' ') {
          if (start + 1 === end && this.column > this.bestWidth && split && start !== 0 && end !== text.length) {
            this.writeIndent();
          } else this.write(text.slice(start, end).join(''), end - start);
          start = end;
        }
      } else if (breaks) {
        if (ch === null || !BREAKS.includes(ch)) {
          this.writeBreaks(text, start, end);
          start = end;
        }
      } else if (ch === null || (' ' + BREAKS).includes(ch) || ch === "'") {
        if (start < end) {
          this.write(text.slice(start, end).join(''), end - start);
          start = end;
        }
      }
      if (ch === "'") {
        this.write("''");
        start = end + 1;
      }
      if (ch !== null) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
    }
    this.writeIndicator("'", false);
  }

  private writeDoubleQuoted(text: string[], split: boolean): void {
    this.writeIndicator('"', true);
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end]! : null;
      const cp = ch === null ? 0 : ch.codePointAt(0)!;
      if (
        ch === null ||
        '"\\\x85\u2028\u2029\uFEFF'.includes(ch) ||
        !((cp >= 0x20 && cp <= 0x7e) ||
          (this.allowUnicode && ((cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd))))
      ) {
        if (start < end) {
          this.write(text.slice(start, end).join(''), end - start);
          start = end;
        }
        if (ch !== null) {
          let data: string;
          if (ESCAPES[ch] !== undefined) data = '\\' + ESCAPES[ch];
          else if (cp <= 0xff) data = '\\x' + hex(cp, 2);
          else if (cp <= 0xffff) data = '\\u' + hex(cp, 4);
          else data = '\\U' + hex(cp, 8);
          this.write(data);
          start = end + 1;
        }
      }
      if (
        end > 0 && end < text.length - 1 && (ch === ' ' || start >= end) &&
        this.column + (end - start) > this.bestWidth && split
      ) {
        const data = text.slice(start, end).join('') + '\\';
        if (start < end) start = end;
        this.write(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (text[start] === ' ') this.write('\\');
      }
    }
    this.writeIndicator('"', false);
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
  const ca = Array.from(a), cb = Array.from(b);
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
