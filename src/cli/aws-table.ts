// `--output table` as the AWS CLI draws it (awscli/formatter.py TableFormatter and awscli/table.py):
// a title bar named after the operation, one section per object, scalar keys sorted as column
// headers, nested objects and lists as indented sections below, every column scaled to the widest
// section, and sections of one row turned on their side when the table is wider than the terminal.
import { textWidth } from './text-width.js';
import { isScalar, pyStr, pyTruthy, sorted } from './python-values.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

class Section {
  headers: string[] = [];
  rows: string[][] = [];
  widths: number[] = [];
  constructor(
    public title = '',
    public indent = 0,
  ) {}

  private measure(cells: string[]): void {
    this.widths = this.widths.length ? this.widths.map((w, i) => Math.max(w, textWidth(cells[i] ?? ''))) : cells.map(textWidth);
  }

  addHeader(headers: string[]): void {
    this.measure(headers);
    this.headers = headers;
  }

  addRow(row: unknown[]): void {
    const cells = row.map(pyStr);
    this.rows.push(cells);
    this.measure(cells);
  }

  /** Each column's share of `total` columns, in proportion to its widest cell plus 4 of padding. */
  columnWidths(total: number): number[] {
    const unscaled = this.widths.map((w) => w + 4);
    if (!unscaled.length) return unscaled;
    const factor = total / unscaled.reduce((a, b) => a + b, 0);
    const scaled = unscaled.map((w) => roundHalfEven(factor * w));
    let off = scaled.reduce((a, b) => a + b, 0) - total;
    while (off !== 0) {
      const order = off > 0 ? scaled.map((_, i) => i) : scaled.map((_, i) => scaled.length - 1 - i);
      for (const i of order) {
        if (off > 0) {
          scaled[i]!--;
          off--;
        } else {
          scaled[i]!++;
          off++;
        }
        if (off === 0) break;
      }
    }
    return scaled;
  }

  totalWidth(): number {
    const columns = this.widths.reduce((a, w) => a + w + 4, 0) + 2 + 2 * this.indent;
    return Math.max(textWidth(this.title) + 2 + 2 * this.indent, columns);
  }
}

/** Python 3's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

class TableBuilder {
  sections: Section[] = [];
  private current: Section | undefined;

  private section(title: string, indent: number): void {
    this.current = new Section(title, indent);
    this.sections.push(this.current);
  }

  private get cur(): Section {
    // A list of lists at the top has no title: its rows go to an untitled section.
    if (!this.current) this.section('', 0);
    return this.current!;
  }

  build(title: string | undefined, value: unknown, indent = 0): boolean {
    if (!pyTruthy(value)) return false;
    if (title !== undefined) this.section(title, indent);
    if (Array.isArray(value)) {
      if (isObject(value[0])) this.fromList(value, indent, title ?? '');
      else {
        for (const item of value) {
          if (isScalar(item)) this.cur.addRow([item]);
          // An object here gives a row of its keys: Python iterates a dict's keys.
          else if (!Array.isArray(item)) this.cur.addRow(Object.keys(item as object));
          else if (item.every(isScalar)) this.cur.addRow(item);
          else this.build(undefined, item);
        }
      }
    }
    if (isObject(value)) this.fromObject(value, indent);
    return true;
  }

  private fromObject(value: Record<string, unknown>, indent: number): void {
    const [headers, more] = groupKeys(value);
    if (headers.length === 1) this.cur.addRow([headers[0], value[headers[0]!]]);
    else if (headers.length) {
      this.cur.addHeader(headers);
      this.cur.addRow(headers.map((h) => value[h]));
    }
    for (const k of more) this.build(k, value[k], indent + 1);
  }

  private fromList(items: unknown[], indent: number, title: string): void {
    const headerSet = new Set<string>();
    const moreSet = new Set<string>();
    for (const item of items) {
      const [h, m] = groupKeys(isObject(item) ? item : {});
      h.forEach((k) => headerSet.add(k));
      m.forEach((k) => moreSet.add(k));
    }
    const headers = sorted(headerSet);
    const more = sorted(moreSet);
    this.cur.addHeader(headers);
    items.forEach((item, n) => {
      const o = isObject(item) ? item : {};
      if (n > 0 && more.length) {
        this.section(title, indent);
        this.cur.addHeader(headers);
      }
      this.cur.addRow(headers.map((h) => (Object.hasOwn(o, h) ? o[h] : '')));
      for (const k of more) if (Object.hasOwn(o, k)) this.build(k, o[k], indent + 1);
    });
  }
}

function groupKeys(o: Record<string, unknown>): [string[], string[]] {
  const keys = sorted(Object.keys(o));
  return [keys.filter((k) => isScalar(o[k])), keys.filter((k) => !isScalar(o[k]))];
}

/** `|` + the text centred in `length` columns + `|`, as awscli's center_text. */
function center(text: string, length: number, left: string, right: string): string {
  const w = textWidth(text);
  const start = Math.floor(length / 2) - Math.floor(w / 2) - 1;
  const soFar = left.length + start + w;
  return left + ' '.repeat(Math.max(0, start)) + text + ' '.repeat(Math.max(0, length - right.length - soFar)) + right;
}

function alignLeft(text: string, length: number, left: string, right: string): string {
  const w = textWidth(text);
  const padding = length - (w + 2 + left.length + right.length) >= 0 ? 2 : 0;
  return left + ' '.repeat(padding) + text + ' '.repeat(Math.max(0, length - (left.length + padding + w) - right.length)) + right;
}

function lineBreak(widths: number[]): string {
  return widths.map((w, i) => (i === 0 ? `+${'-'.repeat(w - 2)}+` : `${'-'.repeat(w - 1)}+`)).join('');
}

function renderSection(s: Section, maxWidth: number, out: string[]): void {
  const edge = '|'.repeat(s.indent);
  const write = (line: string) => out.push(edge + line + edge);
  const width = maxWidth - 2 * s.indent;
  if (s.title) {
    write(center(s.title, width, '|', '|'));
    if (!s.headers.length && !s.rows.length) write(`+${'-'.repeat(width - 2)}+`);
  }
  const widths = s.columnWidths(width);
  if (s.headers.length) {
    write(lineBreak(widths));
    write(s.headers.map((h, i) => center(h, widths[i]!, i === 0 ? '|' : '', '|')).join(''));
  }
  if (s.rows.length && widths.length) {
    write(lineBreak(widths));
    for (const row of s.rows) write(row.map((cell, i) => alignLeft(cell, widths[i]!, i === 0 ? '|' : '', '|')).join(''));
    write(lineBreak(widths));
  }
}

/**
 * The table for `value` (a response after --query) under `title` (the operation's name), in
 * `terminalWidth` columns (the AWS CLI uses the terminal's, or 80 when not a terminal). Empty
 * string for a value Python finds false (None, [], {}…): the AWS CLI prints nothing then.
 */
export function awsTable(value: unknown, title: string, terminalWidth = 80): string {
  const b = new TableBuilder();
  if (!b.build(title, value) || !b.sections.length) return '';
  const widest = () => Math.max(...b.sections.map((s) => s.totalWidth()));
  let maxWidth = widest();
  if (maxWidth > terminalWidth) {
    // Too wide for the terminal: sections of one row are turned into key/value rows.
    b.sections = b.sections.map((s) => {
      if (s.rows.length !== 1 || !s.headers.length) return s;
      const v = new Section(s.title, s.indent);
      s.headers.forEach((h, i) => v.addRow([h, s.rows[0]![i]]));
      return v;
    });
    maxWidth = widest();
  }
  const out = ['-'.repeat(maxWidth)];
  for (const s of b.sections) renderSection(s, maxWidth, out);
  return out.join('\n');
}
