// The AWS CLI's shorthand syntax for structure and list-of-structure options, as its user guide
// ("Using shorthand syntax with the AWS CLI") and its parser (awscli/shorthand.py) define it:
//   parameter = keyval *("," keyval)        keyval  = key "=" [values]
//   values    = csv-list / "[" list "]" / "{" keyval,... "}"
//   csv-list  = value *("," value)          (a value not followed by "=": `Values=a,b,Next=c`)
// Values may be 'single' or "double" quoted, `\,` is a literal comma. The parse knows no model;
// shapeShorthand then fits it to an operation's declared members as the CLI's model visitor does
// (a lone value where a list is declared becomes a list of one; integers and booleans converted).
import type { Member, Members } from '../api/index.js';
import { UsageError } from '../errors/index.js';
import { MAX_BODY_DEPTH } from '../server/json-protocol.js';

/** A parsed shorthand value: text, a list, or a structure (no prototype: user keys stay keys). */
export type ShorthandValue = string | ShorthandValue[] | { [key: string]: ShorthandValue };

/** A shorthand syntax error, worded and pointed at as the AWS CLI does. */
export class ShorthandSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShorthandSyntaxError';
  }
}

const KEY_CHAR = /[A-Za-z0-9\-_.#/:]/;
const WHITESPACE = /\s/;
/** A value's first character: not a quote, space, comma, "=", bracket or brace. */
const START = '!#-&(-+\\--<>-Z\\\\-z|-\\uffff';
/** A first value continues with anything but a comma, "]" or "}" ("=" allowed: `Value=a=b`). */
const FIRST = new RegExp(`(?:\\\\,|[${START}])(?:\\\\,|[\\s!#-&(-+\\--\\\\^-|~-\\uffff])*`, 'y');
/** A later csv value may not contain "=" (that would start the next key). */
const SECOND = new RegExp(`(?:\\\\,|[${START}])(?:\\\\,|[\\s!#-&(-+\\--<>-\\uffff])*`, 'y');
/**
 * How deeply an option's value may nest (its own structure the first level): what the HTTP
 * endpoint takes in a request body (MAX_BODY_DEPTH), less the body's own level, so the CLI and
 * the endpoint refuse the same inputs, and a deeper one cannot overflow the stack of this
 * recursive parser or of the trail record's checks.
 */
export const MAX_OPTION_DEPTH = MAX_BODY_DEPTH - 1;
/** How many "[" and "{" may nest inside the option's own structure. */
export const MAX_SHORTHAND_DEPTH = MAX_OPTION_DEPTH - 1;
const SINGLE_QUOTED = /'(?:\\'|[^'])*'/y;
const DOUBLE_QUOTED = /"(?:\\"|[^"])*"/y;

/** Parses shorthand text into strings, lists and structures (throws ShorthandSyntaxError). */
export function parseShorthand(text: string): { [key: string]: ShorthandValue } {
  return new Parser(text).parameter();
}

class Parser {
  private i = 0;
  /** "[" and "{" open around the cursor. */
  private depth = 0;
  constructor(private readonly s: string) {}

  parameter(): { [key: string]: ShorthandValue } {
    const out = Object.create(null) as { [key: string]: ShorthandValue };
    let [key, value] = this.keyval();
    out[key] = value;
    let last = this.i;
    while (this.i < this.s.length) {
      this.expect(',', true);
      [key, value] = this.keyval();
      if (Object.hasOwn(out, key)) {
        throw new ShorthandSyntaxError(
          `Second instance of key "${key}" encountered for input:\n${this.location(last + 1)}\nThis is often because there is a preceding "," instead of a space.`,
        );
      }
      out[key] = value;
      last = this.i;
    }
    return out;
  }

  private keyval(): [string, ShorthandValue] {
    const key = this.key();
    this.expect('=', true);
    return [key, this.values()];
  }

  private key(): string {
    const start = this.i;
    while (this.i < this.s.length && KEY_CHAR.test(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }

  private values(): ShorthandValue {
    if (this.eof()) return '';
    if (this.cur() === '[') return this.list();
    if (this.cur() === '{') return this.hash();
    return this.csv();
  }

  /** `a` → "a"; `a,b,c` → ["a","b","c"], stopping (backtracked to its comma) where the next key begins. */
  private csv(): ShorthandValue {
    const first = this.firstValue();
    this.skipSpace();
    if (this.eof() || this.cur() !== ',') return first;
    this.expect(',', true);
    const list: string[] = [first];
    // The next key ends the list: seen without an error, whose message would copy the whole
    // input (once per key, quadratic in a long value).
    const backtrack = () => {
      while (this.i >= 0 && this.s[this.i] !== ',') this.i--;
    };
    for (;;) {
      let v: string;
      try {
        v = this.secondValue();
      } catch (err) {
        if (!(err instanceof ShorthandSyntaxError) || this.eof()) throw err;
        backtrack();
        break;
      }
      this.skipSpace();
      if (this.eof()) {
        list.push(v);
        break;
      }
      if (this.cur() !== ',') {
        backtrack();
        break;
      }
      this.i++;
      this.skipSpace();
      list.push(v);
    }
    return list.length === 1 ? first : list;
  }

  private list(): ShorthandValue[] {
    this.enter();
    this.expect('[', true);
    const out: ShorthandValue[] = [];
    while (this.cur() !== ']') {
      out.push(this.explicitValue());
      this.skipSpace();
      if (this.cur() !== ']') {
        this.expect(',');
        this.skipSpace();
      }
    }
    this.expect(']');
    this.depth--;
    return out;
  }

  private hash(): { [key: string]: ShorthandValue } {
    this.enter();
    this.expect('{', true);
    const out = Object.create(null) as { [key: string]: ShorthandValue };
    while (this.cur() !== '}') {
      const key = this.key();
      this.expect('=', true);
      const v = this.explicitValue();
      this.skipSpace();
      if (this.cur() !== '}') {
        this.expect(',');
        this.skipSpace();
      }
      out[key] = v;
    }
    this.expect('}');
    this.depth--;
    return out;
  }

  /** One more level of nesting: refused past MAX_SHORTHAND_DEPTH (ebsim's bound; the AWS CLI's is Python's recursion limit). */
  private enter(): void {
    if (++this.depth > MAX_SHORTHAND_DEPTH) throw new ShorthandSyntaxError(`Nested more than ${MAX_OPTION_DEPTH} levels deep for input:\n${this.location(this.i)}`);
  }

  private explicitValue(): ShorthandValue {
    if (this.cur() === '[') return this.list();
    if (this.cur() === '{') return this.hash();
    return this.firstValue();
  }

  private firstValue(): string {
    const quoted = this.quoted();
    if (quoted !== undefined) return quoted;
    const m = this.match(FIRST);
    if (!m) return '';
    this.i += m[0].length;
    return m[0].replace(/\\,/g, ',').trimEnd();
  }

  private secondValue(): string {
    const quoted = this.quoted();
    if (quoted !== undefined) return quoted;
    const m = this.match(SECOND);
    if (!m) throw this.syntax('<second>', '<none>');
    this.i += m[0].length;
    return m[0].replace(/\\,/g, ',').trimEnd();
  }

  /** A quoted value without its quotes (`\'` or `\"` and `\\` unescaped), or undefined. */
  private quoted(): string | undefined {
    const q = this.cur();
    if (q !== "'" && q !== '"') return undefined;
    const m = this.match(q === "'" ? SINGLE_QUOTED : DOUBLE_QUOTED);
    if (!m) throw this.syntax(q === "'" ? '<singled quoted>' : '<double quoted>', '<none>');
    this.i += m[0].length;
    return m[0].slice(1, -1).split(`\\${q}`).join(q).split('\\\\').join('\\');
  }

  /** A sticky pattern matched at the cursor (no copy of the rest of the input per value). */
  private match(re: RegExp): RegExpExecArray | null {
    re.lastIndex = this.i;
    return re.exec(this.s);
  }

  private expect(ch: string, spaces = false): void {
    if (spaces) this.skipSpace();
    if (this.eof()) throw this.syntax(ch, 'EOF');
    if (this.cur() !== ch) throw this.syntax(ch, this.cur()!);
    this.i++;
    if (spaces) this.skipSpace();
  }

  private syntax(expected: string, actual: string): ShorthandSyntaxError {
    return new ShorthandSyntaxError(`Expected: '${expected}', received: '${actual}' for input:\n${this.location(this.i)}`);
  }

  /** The input with a caret under `at` (on the line it falls in, as the CLI draws it). */
  private location(at: number): string {
    const before = this.s.slice(0, at);
    const lineStart = before.lastIndexOf('\n') + 1;
    const nl = this.s.indexOf('\n', at);
    const [consumed, remaining] = nl < 0 ? [this.s, ''] : [this.s.slice(0, nl), this.s.slice(nl)];
    return `${consumed}\n${' '.repeat(at - lineStart)}^${remaining}`;
  }

  private skipSpace(): void {
    while (this.i < this.s.length && WHITESPACE.test(this.s[this.i]!)) this.i++;
  }
  private cur(): string | undefined {
    return this.s[this.i];
  }
  private eof(): boolean {
    return this.i >= this.s.length;
  }
}

/**
 * Fits a parsed value to a declared member, as the AWS CLI's model visitor does: a structure's
 * unknown keys are refused (UsageError) in botocore's words ("Unknown parameter in PATH"); a lone value where a
 * list is declared becomes a list of one; integers become numbers and "true"/"false" booleans
 * (anything else is left for the operation's own validation to refuse).
 */
export function shapeShorthand(value: ShorthandValue, m: Member, path: string): unknown {
  switch (m.kind) {
    case 'structure':
      return typeof value === 'object' && !Array.isArray(value) ? shapeStructure(value, m.members, path) : value;
    case 'list': {
      const items = Array.isArray(value) ? value : [value];
      return items.map((v, i) => shapeShorthand(v, m.member, `${path}[${i}]`));
    }
    case 'map':
      return value;
    case 'integer':
      return typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    case 'boolean':
      return typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : value;
    default:
      return value;
  }
}

/** A structure's members shaped; an undeclared key is a usage error, as botocore's parameter validation says it. */
export function shapeStructure(value: { [key: string]: ShorthandValue }, members: Members, path: string): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) {
    const m = members[k];
    if (!m || !Object.hasOwn(members, k)) {
      throw new UsageError(`Parameter validation failed:\nUnknown parameter in ${path}: "${k}", must be one of: ${Object.keys(members).join(', ')}`);
    }
    out[k] = shapeShorthand(v, m, `${path}.${k}`);
  }
  return out;
}

/**
 * A structure option given in shorthand, fitted to its members; a syntax error becomes a usage
 * error in the CLI's words: "Error parsing parameter '--flag': Expected: ..., received: ...".
 */
export function structureFromShorthand(flag: string, text: string, members: Members, path: string): Record<string, unknown> {
  let parsed: { [key: string]: ShorthandValue };
  try {
    parsed = parseShorthand(text);
  } catch (err) {
    if (err instanceof ShorthandSyntaxError) throw new UsageError(`Error parsing parameter '--${flag}': ${err.message}`);
    throw err;
  }
  return shapeStructure(parsed, members, path);
}
