import { ExprError } from './expr-ast.js';

/** Tokenizer of rule expressions: hand-written, one pass, no regex backtracking on user text. */

export type TokenKind = 'number' | 'ident' | 'keyword' | 'op' | '(' | ')' | ',' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Source text (keywords lower-cased: `AND` and `and` are the same operator, as in PromQL). */
  readonly text: string;
  /** 1-based column of the token's first character. */
  readonly column: number;
  /** Numbers only. */
  readonly value: number;
}

/** Reserved words; PromQL treats its binary keywords case-insensitively, so vigil does too. */
export const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not']);

/** True when `name` cannot be used as a signal name because the expression language reserves it. */
export function isReservedWord(name: string): boolean {
  return KEYWORDS.has(name.toLowerCase());
}

const TWO_CHAR_OPS = new Set(['>=', '<=', '==', '!=']);
const ONE_CHAR_OPS = new Set(['+', '-', '*', '/', '>', '<']);

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentStart = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isIdentPart = (c: string): boolean => isIdentStart(c) || isDigit(c);
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (isSpace(c)) {
      i++;
      continue;
    }
    const column = i + 1;
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      const end = scanNumber(text, i);
      // A number glued to letters or dots (`5m`, `1e`, `1.2.3`) is one bad token, not two good ones.
      let stop = end;
      while (stop < text.length && (isIdentPart(text[stop]!) || text[stop] === '.')) stop++;
      if (stop !== end) {
        const bad = text.slice(i, stop);
        const hint = /^[\d.]+(ms|s|m|h|d|w|y)$/.test(bad)
          ? ' (durations are not supported in expressions)'
          : '';
        throw new ExprError(`invalid number '${bad}'${hint}`, column);
      }
      const raw = text.slice(i, end);
      tokens.push({ kind: 'number', text: raw, column, value: Number(raw) });
      i = end;
      continue;
    }
    if (isIdentStart(c)) {
      let end = i + 1;
      while (end < text.length && isIdentPart(text[end]!)) end++;
      const word = text.slice(i, end);
      const lower = word.toLowerCase();
      if (KEYWORDS.has(lower)) tokens.push({ kind: 'keyword', text: lower, column, value: NaN });
      else tokens.push({ kind: 'ident', text: word, column, value: NaN });
      i = end;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) {
      tokens.push({ kind: 'op', text: two, column, value: NaN });
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.has(c)) {
      tokens.push({ kind: 'op', text: c, column, value: NaN });
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c, text: c, column, value: NaN });
      i++;
      continue;
    }
    throw new ExprError(`unexpected character ${describeChar(text, i)}${charHint(c)}`, column);
  }
  tokens.push({ kind: 'eof', text: '', column: text.length + 1, value: NaN });
  return tokens;
}

/** End of the number starting at `i`: digits, optional fraction, optional exponent. */
function scanNumber(text: string, i: number): number {
  let j = i;
  while (j < text.length && isDigit(text[j]!)) j++;
  if (text[j] === '.') {
    j++;
    while (j < text.length && isDigit(text[j]!)) j++;
  }
  if (text[j] === 'e' || text[j] === 'E') {
    let k = j + 1;
    if (text[k] === '+' || text[k] === '-') k++;
    if (isDigit(text[k] ?? '')) {
      while (k < text.length && isDigit(text[k]!)) k++;
      j = k;
    }
  }
  return j;
}

function describeChar(text: string, i: number): string {
  const cp = text.codePointAt(i)!;
  // Control and invisible characters are shown as code points so the message stays readable.
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0))
    return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return `'${String.fromCodePoint(cp)}'`;
}

function charHint(c: string): string {
  if (c === '=') return " (use '==' to compare)";
  if (c === '!') return " (use 'not' or '!=')";
  if (c === '&' || c === '|') return " (use 'and' / 'or')";
  return '';
}
