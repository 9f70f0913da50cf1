/**
 * A Pushgateway client (a cron job, a batch exporter) usually pushes the same series every time
 * with new values. The shape of such a push is its body with the value of each sample blanked
 * out: when a push has exactly the shape of the group's last one, parsing, planning and checking
 * it again would give the same series in the same order, so only its values need reading.
 *
 * The test is exact and cheap: every byte outside the value tokens must equal the recorded body
 * (one memcmp per line), and every value token must be a plain decimal (anything else, e.g.
 * `NaN` or `+Inf`, goes the full way). A shape is only recorded when the full parse agrees with
 * it: each sample line's value token parses to the value the parser read for that sample, and
 * the sample lines name the samples' families in order. Pure: the group holds the shape.
 */

export interface PushShape {
  /** A copy of the recorded body. */
  readonly body: Buffer;
  /** `[start, end)` of each sample's value token in `body`, in sample order. */
  readonly tokens: Int32Array;
}

/** What recording needs of each planned sample: its family and the value the parser read. */
export interface ShapeSample {
  readonly family: string;
  readonly value: number;
}

const NL = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const LBRACE = 0x7b;
const ZERO = 0x30;
const NINE = 0x39;

/** Go's decimal float syntax (what `parseGoFloat` accepts besides Inf and NaN). */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The shape of a body whose samples (counters, gauges, untyped: one line each) the full path has
 * just accepted, or undefined when the body does not map onto them line by line.
 */
export function recordShape(body: Buffer, samples: readonly ShapeSample[]): PushShape | undefined {
  const tokens = new Int32Array(samples.length * 2);
  let n = 0;
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(NL, start);
    if (end < 0) end = body.length;
    const first = body[start]!;
    if (first !== HASH && first !== SPACE && first !== TAB && end > start) {
      const sample = samples[n];
      if (sample === undefined) return undefined;
      let t = end;
      while (t > start && body[t - 1] !== SPACE && body[t - 1] !== TAB) t--;
      if (t === start || t === end) return undefined;
      const value = tokenValue(body, t, end);
      if (value === undefined || value !== sample.value) return undefined;
      if (metricName(body, start) !== sample.family) return undefined;
      tokens[2 * n] = t;
      tokens[2 * n + 1] = end;
      n++;
    }
    start = end + 1;
  }
  if (n !== samples.length) return undefined;
  return { body: Buffer.from(body), tokens };
}

/**
 * Whether `body` has the shape; if so its values are in `values` (sample order). `values` must
 * hold at least one slot per sample.
 */
export function matchShape(shape: PushShape, body: Buffer, values: Float64Array): boolean {
  const { body: ref, tokens } = shape;
  let refPos = 0;
  let pos = 0;
  const n = tokens.length >> 1;
  for (let i = 0; i < n; i++) {
    const fixedEnd = tokens[2 * i]!;
    const len = fixedEnd - refPos;
    if (pos + len > body.length || ref.compare(body, pos, pos + len, refPos, fixedEnd) !== 0) return false;
    pos += len;
    // The token runs to the end of its line, as in the recorded body.
    let end = body.indexOf(NL, pos);
    if (end < 0) end = body.length;
    const v = tokenValue(body, pos, end);
    if (v === undefined) return false;
    values[i] = v;
    pos = end;
    refPos = tokens[2 * i + 1]!;
  }
  const tail = ref.length - refPos;
  return body.length - pos === tail && ref.compare(body, pos, body.length, refPos, ref.length) === 0;
}

/** The value of a plain decimal token, or undefined (not decimal, or beyond float64's range). */
function tokenValue(body: Buffer, start: number, end: number): number | undefined {
  // Small unsigned integers (most counters) without making a string.
  if (end - start <= 15) {
    let v = 0;
    let i = start;
    for (; i < end; i++) {
      const b = body[i]!;
      if (b < ZERO || b > NINE) break;
      v = v * 10 + (b - ZERO);
    }
    if (i === end && end > start) return v;
  }
  const text = body.toString('latin1', start, end);
  if (!DECIMAL.test(text)) return undefined;
  const v = Number(text);
  return Number.isFinite(v) ? v : undefined;
}

/** The metric name a sample line starts with (up to `{` or a blank). */
function metricName(body: Buffer, start: number): string {
  let i = start;
  while (i < body.length) {
    const b = body[i]!;
    if (b === LBRACE || b === SPACE || b === TAB || b === NL) break;
    i++;
  }
  return body.toString('utf8', start, i);
}
