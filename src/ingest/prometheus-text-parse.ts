import { isUtf8 } from 'node:buffer';
import { canonicalPairs, tupleKey } from '../store/canonical-key.js';

/**
 * The Prometheus text exposition format 0.0.4, parsed as the Pushgateway parses a push: the same
 * state machine as `expfmt.TextParser` of prometheus/common (the version Pushgateway 1.x vendors),
 * with its strictness (the last line must end in `\n`, TYPE before the samples, duplicate label
 * names refused, Go's float syntax) and its error messages (`text format parsing error in line N:
 * ...`), so a client gets from vigil the 400 it would get from a Pushgateway.
 *
 * Written by hand: the one npm parser of the format (`parse-prometheus-text-format`, a port of the
 * Python client's lenient parser) accepts what the Pushgateway refuses (a missing final newline,
 * TYPE after samples, duplicate labels, JavaScript number syntax), keeps values as strings and
 * gives no line-numbered errors. This one walks the bytes once, allocates strings only for names,
 * label values and help texts, and is tested line by line against the real Pushgateway.
 */

/** The TYPE of a family; `untyped` when no TYPE line precedes its first sample. */
export type TextMetricType = 'counter' | 'gauge' | 'untyped' | 'summary' | 'histogram' | 'gauge_histogram';

/** One metric (one label set) of a family, as the parser builds it. */
export interface TextMetric {
  /** Flat `[name, value, ...]` in the order written; without `le` / `quantile` on histograms / summaries. */
  labels: string[];
  /** Counter, gauge and untyped samples. */
  value: number;
  /** Summary and histogram `_count` / `_sum` (raw floats; absent when not sent). */
  count: number | undefined;
  sum: number | undefined;
  /** Summary `[quantile, value]` pairs in the order written. */
  quantiles: Array<[number, number]> | undefined;
  /** Histogram `[upper bound, cumulative count]` pairs in the order written. */
  buckets: Array<[number, number]> | undefined;
}

export interface TextFamily {
  readonly name: string;
  help: string | undefined;
  type: TextMetricType | undefined;
  readonly metrics: TextMetric[];
}

export interface TextParseResult {
  /** Families with at least one metric, in order of first appearance. */
  families: Map<string, TextFamily>;
  /** Whether any sample carried a timestamp (the Pushgateway refuses such pushes). */
  timestamps: boolean;
}

/** A body that is not valid text format; `message` is expfmt's wording. */
export class TextParseError extends Error {
  override readonly name = 'TextParseError';
  constructor(
    readonly line: number,
    readonly detail: string,
  ) {
    super(`text format parsing error in line ${line}: ${detail}`);
  }
}

const NL = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
/** "End of input" as a byte value. */
const EOF = -1;

const TYPES: Readonly<Record<string, TextMetricType>> = {
  COUNTER: 'counter',
  GAUGE: 'gauge',
  UNTYPED: 'untyped',
  SUMMARY: 'summary',
  HISTOGRAM: 'histogram',
  GAUGE_HISTOGRAM: 'gauge_histogram',
};

/** Parse a text-format body. Throws {@link TextParseError}. */
export function parsePrometheusText(body: Buffer): TextParseResult {
  const p = new Parser(body);
  p.run();
  for (const [name, mf] of p.families) if (mf.metrics.length === 0) p.families.delete(name);
  return { families: p.families, timestamps: p.timestamps };
}

function isBlank(b: number): boolean {
  return b === SPACE || b === TAB;
}

function isLabelNameStart(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x5f;
}

function isLabelNameContinuation(b: number): boolean {
  return isLabelNameStart(b) || (b >= 0x30 && b <= 0x39);
}

function isMetricNameStart(b: number): boolean {
  return isLabelNameStart(b) || b === 0x3a;
}

function isMetricNameContinuation(b: number): boolean {
  return isLabelNameContinuation(b) || b === 0x3a;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?(?:inf|infinity)$/i;

/**
 * Go's `strconv.ParseFloat` as expfmt uses it: decimal or `Inf`/`Infinity`/`NaN` in any case, no
 * hexadecimal (`p` is refused), no underscores, and a finite literal beyond float64's range is
 * an error rather than an infinity. Undefined when not a float.
 */
export function parseGoFloat(s: string): number | undefined {
  if (DECIMAL.test(s)) {
    const v = Number(s);
    return Number.isFinite(v) ? v : undefined;
  }
  if (INFINITY.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (s.length === 3 && s.toLowerCase() === 'nan') return NaN;
  return undefined;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isGoInt64(s: string): boolean {
  if (!/^[+-]?\d+$/.test(s)) return false;
  const v = BigInt(s);
  return v >= INT64_MIN && v <= INT64_MAX;
}

/** Go's `%q` of a string, close enough for error messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** Node's Buffer has a native latin1 slicer that skips `toString`'s argument handling. */
const fastLatin1 = (Buffer.prototype as unknown as { latin1Slice?: (s: number, e: number) => string })
  .latin1Slice;

/** Bytes [start, end) as a string, one char per byte (names and ASCII values). */
function latin1(buf: Buffer, start: number, end: number): string {
  if (start === end) return '';
  return fastLatin1 !== undefined ? fastLatin1.call(buf, start, end) : buf.toString('latin1', start, end);
}

/** Go's `%q` of a byte (a quoted character literal). */
function quoteByte(b: number): string {
  if (b === 0x27) return "'\\''";
  if (b === BACKSLASH) return "'\\\\'";
  if (b === NL) return "'\\n'";
  if (b === 0x0d) return "'\\r'";
  if (b === TAB) return "'\\t'";
  if (b < 0x20 || b === 0x7f) return `'\\x${b.toString(16).padStart(2, '0')}'`;
  return `'${String.fromCharCode(b)}'`;
}

/**
 * The state machine. Like expfmt it holds the byte just read in `cur`; reading past the end
 * anywhere except at the start of a line is "unexpected end of input stream", which is why a
 * body's last line must end with a newline.
 */
class Parser {
  readonly families = new Map<string, TextFamily>();
  timestamps = false;
  private pos = 0;
  private cur = 0;
  private line = 0;
  private mf!: TextFamily;
  private metric!: TextMetric;
  private isCount = false;
  private isSum = false;
  /** Summaries and histograms by family and label signature: their lines merge into one metric. */
  private readonly compound = new Map<string, TextMetric>();
  private quantile = NaN;
  private bucket = NaN;

  constructor(private readonly buf: Buffer) {}

  private fail(detail: string): never {
    throw new TextParseError(this.line, detail);
  }

  /** Read the next byte into `cur` and return it; the end of input is an error here. */
  private read(): number {
    if (this.pos >= this.buf.length) {
      this.cur = EOF;
      this.fail('unexpected end of input stream');
    }
    return (this.cur = this.buf[this.pos++]!);
  }

  /** Read past blanks; returns the first other byte (also in `cur`). */
  private skipBlankTab(): number {
    while (isBlank(this.read()));
    return this.cur;
  }

  private skipBlankTabIfCurrentBlankTab(): void {
    if (isBlank(this.cur)) this.skipBlankTab();
  }

  run(): void {
    for (;;) {
      this.line++;
      // Start of a line: the only place where the end of input is the normal end.
      do {
        if (this.pos >= this.buf.length) return;
        this.cur = this.buf[this.pos++]!;
      } while (isBlank(this.cur));
      if (this.cur === HASH) this.comment();
      else if (this.cur !== NL) this.sample();
    }
  }

  /** `cur` is the first byte of a token; reads up to a blank or newline (left in `cur`). */
  private tokenUntilWhitespace(): string {
    const buf = this.buf;
    const start = this.pos - 1;
    let b = this.cur;
    let ascii = true;
    let pos = this.pos;
    while (b !== SPACE && b !== TAB && b !== NL) {
      if (b >= 0x80) ascii = false;
      if (pos >= buf.length) {
        this.pos = pos;
        this.cur = EOF;
        this.fail('unexpected end of input stream');
      }
      b = buf[pos++]!;
    }
    this.pos = pos;
    this.cur = b;
    return ascii ? latin1(buf, start, pos - 1) : buf.toString('utf8', start, pos - 1);
  }

  /** `cur` is the first byte; reads up to the newline (left in `cur`), optionally unescaping `\\` and `\n`. */
  private tokenUntilNewline(escapes: boolean): string {
    let out = '';
    let start = this.pos - 1;
    for (;;) {
      if (this.cur === NL) return out + this.buf.toString('utf8', start, this.pos - 1);
      if (escapes && this.cur === BACKSLASH) {
        out += this.buf.toString('utf8', start, this.pos - 1);
        const e = this.read();
        if (e === BACKSLASH) out += '\\';
        else if (e === 0x6e) out += '\n';
        else this.fail(`invalid escape sequence '\\${String.fromCharCode(e)}'`);
        start = this.pos;
      }
      this.read();
    }
  }

  private metricName(): string {
    return isMetricNameStart(this.cur) ? this.name(true) : '';
  }

  private labelName(): string {
    return isLabelNameStart(this.cur) ? this.name(false) : '';
  }

  /** `cur` starts a name; reads its continuation bytes (the byte after it is left in `cur`). */
  private name(colons: boolean): string {
    const buf = this.buf;
    const start = this.pos - 1;
    let pos = this.pos;
    for (;;) {
      if (pos >= buf.length) {
        this.pos = pos;
        this.cur = EOF;
        this.fail('unexpected end of input stream');
      }
      const b = buf[pos++]!;
      if (!(colons ? isMetricNameContinuation(b) : isLabelNameContinuation(b))) {
        this.pos = pos;
        this.cur = b;
        return latin1(buf, start, pos - 1);
      }
    }
  }

  /** After the opening quote: reads the value and its closing quote (left in `cur`). */
  private labelValue(): string {
    const buf = this.buf;
    let out = '';
    let pos = this.pos;
    let start = pos;
    let ascii = true;
    for (;;) {
      if (pos >= buf.length) {
        this.pos = pos;
        this.cur = EOF;
        this.fail('unexpected end of input stream');
      }
      const b = buf[pos++]!;
      if (b === QUOTE) break;
      if (b === NL) {
        this.pos = pos;
        this.fail(
          `label value ${goQuote(out + buf.toString('utf8', start, pos - 1))} contains unescaped new-line`,
        );
      }
      if (b === BACKSLASH) {
        out += this.checkedUtf8(start, pos - 1, ascii);
        this.pos = pos;
        const e = this.read();
        pos = this.pos;
        if (e === QUOTE || e === BACKSLASH) out += String.fromCharCode(e);
        else if (e === 0x6e) out += '\n';
        else this.fail(`invalid escape sequence '\\${String.fromCharCode(e)}'`);
        start = pos;
        ascii = true;
      } else if (b >= 0x80) ascii = false;
    }
    this.pos = pos;
    this.cur = QUOTE;
    return out + this.checkedUtf8(start, pos - 1, ascii);
  }

  /** Label values must be valid UTF-8 (expfmt's `LabelValue.IsValid`). */
  private checkedUtf8(start: number, end: number, ascii: boolean): string {
    if (ascii) return latin1(this.buf, start, end);
    const s = this.buf.toString('utf8', start, end);
    if (!isUtf8(this.buf.subarray(start, end))) {
      // Go quotes the bytes that are not UTF-8 as \xNN.
      let quoted = '"';
      for (const b of this.buf.subarray(start, end))
        quoted +=
          b >= 0x20 && b < 0x7f ? goQuote(String.fromCharCode(b)).slice(1, -1) : `\\x${b.toString(16)}`;
      this.fail(`invalid label value ${quoted}"`);
    }
    return s;
  }

  /**
   * The family a name belongs to: itself, or the summary / histogram whose `_count`, `_sum`
   * (`_bucket`) sample it is, or a new untyped family.
   */
  private setOrCreateFamily(name: string): void {
    this.isCount = false;
    this.isSum = false;
    let mf = this.families.get(name);
    if (mf !== undefined) {
      this.mf = mf;
      return;
    }
    const count = name.length > 6 && name.endsWith('_count');
    const sum = name.length > 4 && name.endsWith('_sum');
    const bucket = name.length > 7 && name.endsWith('_bucket');
    if (count || sum) {
      mf = this.families.get(name.slice(0, name.length - (count ? 6 : 4)));
      if (mf !== undefined && (mf.type === 'summary' || mf.type === 'histogram')) {
        this.mf = mf;
        this.isCount = count;
        this.isSum = sum;
        return;
      }
    } else if (bucket) {
      mf = this.families.get(name.slice(0, name.length - 7));
      if (mf !== undefined && mf.type === 'histogram') {
        this.mf = mf;
        return;
      }
    }
    this.mf = { name, help: undefined, type: undefined, metrics: [] };
    this.families.set(name, this.mf);
  }

  /** `cur` is `#`. */
  private comment(): void {
    this.skipBlankTab();
    if (this.cur === NL) return;
    const keyword = this.tokenUntilWhitespace();
    if (this.cur === NL) return;
    if (keyword !== 'HELP' && keyword !== 'TYPE') {
      while (this.cur !== NL) this.read();
      return;
    }
    this.skipBlankTab();
    const name = this.metricName();
    if (this.cur === NL) return;
    if (!isBlank(this.cur)) this.fail('invalid metric name in comment');
    this.setOrCreateFamily(name);
    this.skipBlankTab();
    if (this.cur === NL) return;
    const mf = this.mf;
    if (keyword === 'HELP') {
      if (mf.help !== undefined) this.fail(`second HELP line for metric name ${goQuote(mf.name)}`);
      mf.help = this.tokenUntilNewline(true);
      return;
    }
    if (mf.type !== undefined)
      this.fail(`second TYPE line for metric name ${goQuote(mf.name)}, or TYPE reported after samples`);
    const word = this.tokenUntilNewline(false);
    const type = TYPES[word.toUpperCase()];
    if (type === undefined) this.fail(`unknown metric type ${goQuote(word)}`);
    mf.type = type;
  }

  /** `cur` is the first byte of a sample line. */
  private sample(): void {
    const name = this.metricName();
    if (name === '') this.fail('invalid metric name');
    this.setOrCreateFamily(name);
    const mf = this.mf;
    mf.type ??= 'untyped';
    this.metric = {
      labels: [],
      value: 0,
      count: undefined,
      sum: undefined,
      quantiles: undefined,
      buckets: undefined,
    };
    this.skipBlankTabIfCurrentBlankTab();
    const compound = mf.type === 'summary' || mf.type === 'histogram';
    if (compound) {
      this.quantile = NaN;
      this.bucket = NaN;
    }
    if (this.cur === LBRACE) this.labels();
    this.value();
    if (this.cur === NL) return;
    this.timestamp();
  }

  /** `cur` is `{`; leaves the first byte of the value in `cur`. */
  private labels(): void {
    const mf = this.mf;
    const labels = this.metric.labels;
    for (;;) {
      this.skipBlankTab();
      if (this.cur === RBRACE) break;
      const name = this.labelName();
      if (name === '') this.fail(`invalid label name for metric ${goQuote(mf.name)}`);
      if (name === '__name__') this.fail('label name "__name__" is reserved');
      const special =
        (mf.type === 'summary' && name === 'quantile') || (mf.type === 'histogram' && name === 'le');
      this.skipBlankTabIfCurrentBlankTab();
      if (this.cur !== EQUALS) this.fail(`expected '=' after label name, found ${quoteByte(this.cur)}`);
      if (!special) {
        for (let i = 0; i < labels.length; i += 2)
          if (labels[i] === name) this.fail(`duplicate label names for metric ${goQuote(mf.name)}`);
      }
      const open = this.skipBlankTab();
      if (open !== QUOTE) this.fail(`expected '"' at start of label value, found ${quoteByte(open)}`);
      const value = this.labelValue();
      if (!special) labels.push(name, value);
      if (mf.type === 'summary' || mf.type === 'histogram') {
        if (special) {
          const f = parseGoFloat(value);
          if (f === undefined)
            this.fail(`expected float as value for '${name}' label, got ${goQuote(value)}`);
          if (name === 'quantile') this.quantile = f;
          else this.bucket = f;
        }
      }
      const next = this.skipBlankTab();
      if (next === COMMA) continue;
      if (next === RBRACE) break;
      this.fail(`unexpected end of label value ${goQuote(value)}`);
    }
    this.skipBlankTab();
  }

  /** `cur` is the first byte of the value; leaves the byte after it in `cur`. */
  private value(): void {
    const mf = this.mf;
    let metric = this.metric;
    if (mf.type === 'summary' || mf.type === 'histogram') {
      const key = signatureKey(mf.name, metric.labels);
      const existing = this.compound.get(key);
      if (existing !== undefined) metric = this.metric = existing;
      else {
        this.compound.set(key, metric);
        mf.metrics.push(metric);
      }
    } else mf.metrics.push(metric);
    const token = this.tokenUntilWhitespace();
    const v = parseGoFloat(token);
    if (v === undefined) this.fail(`expected float as value, got ${goQuote(token)}`);
    switch (mf.type) {
      case 'counter':
      case 'gauge':
      case 'untyped':
        metric.value = v;
        break;
      case 'summary':
        if (this.isCount) metric.count = v;
        else if (this.isSum) metric.sum = v;
        else if (!Number.isNaN(this.quantile)) (metric.quantiles ??= []).push([this.quantile, v]);
        break;
      case 'histogram':
        if (this.isCount) metric.count = v;
        else if (this.isSum) metric.sum = v;
        else if (!Number.isNaN(this.bucket)) (metric.buckets ??= []).push([this.bucket, v]);
        break;
      default:
        // expfmt accepts the TYPE and then loses the sample (the Pushgateway's own /metrics breaks
        // on it); refusing it here is the useful reading.
        this.fail(`unexpected type for metric name ${goQuote(mf.name)}`);
    }
  }

  /** `cur` is the blank after the value. */
  private timestamp(): void {
    this.skipBlankTab();
    const token = this.tokenUntilWhitespace();
    if (!isGoInt64(token)) this.fail(`expected integer as timestamp, got ${goQuote(token)}`);
    this.timestamps = true;
    const rest = this.tokenUntilNewline(false);
    if (rest !== '') this.fail(`spurious string after timestamp: ${goQuote(rest)}`);
  }
}

/** The identity of a summary / histogram metric: its family and labels other than quantile / le. */
function signatureKey(name: string, labels: readonly string[]): string {
  return tupleKey([name, canonicalPairs(labels).key]);
}
