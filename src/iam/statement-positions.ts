// Where each statement of a policy document is in its text, for the simulator's MatchedStatements
// (IAM's Position: Line and Column). The document has been parsed already; this only scans it.
// Lines and columns count from 1; the start is the statement's "{", the end its "}".

export interface Position {
  Line: number;
  Column: number;
}

const WS = new Set([' ', '\t', '\n', '\r']);

/** The span of each statement, in Statement order; [] when the text is not shaped as expected. */
export function statementPositions(text: string): { start: Position; end: Position }[] {
  try {
    return spans(text).map(([a, b]) => ({ start: position(text, a), end: position(text, b) }));
  } catch {
    return [];
  }
}

function spans(text: string): [number, number][] {
  let i = skipWs(text, 0);
  if (text[i] !== '{') return [];
  i = skipWs(text, i + 1);
  while (text[i] !== '}') {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    if (text[i] !== ':') throw new Error('expected :');
    i = skipWs(text, i + 1);
    const end = skipValue(text, i);
    if (key === 'Statement') return text[i] === '[' ? elements(text, i) : [[i, end - 1]];
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return [];
}

function elements(text: string, open: number): [number, number][] {
  const out: [number, number][] = [];
  let i = skipWs(text, open + 1);
  while (text[i] !== ']') {
    const end = skipValue(text, i);
    out.push([i, end - 1]);
    i = skipWs(text, end);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return out;
}

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text[i]!)) i++;
  if (i >= text.length) throw new Error('unexpected end');
  return i;
}

function skipString(text: string, i: number): number {
  if (text[i] !== '"') throw new Error('expected a string');
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  throw new Error('unterminated string');
}

/** The index just past the value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return skipString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') j = skipString(text, j) - 1;
      else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    throw new Error('unbalanced');
  }
  let j = i;
  while (j < text.length && !WS.has(text[j]!) && text[j] !== ',' && text[j] !== '}' && text[j] !== ']') j++;
  return j;
}

function position(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let j = 0; j < offset; j++) {
    if (text[j] === '\n') {
      line++;
      lineStart = j + 1;
    }
  }
  return { Line: line, Column: offset - lineStart + 1 };
}
