import { describe, expect, it } from 'vitest';
import {
  parseGoFloat,
  parsePrometheusText,
  TextParseError,
  type TextFamily,
} from '../../src/ingest/prometheus-text-parse.js';

const parse = (text: string) => parsePrometheusText(Buffer.from(text, 'utf8'));
const family = (text: string, name: string): TextFamily => {
  const f = parse(text).families.get(name);
  if (f === undefined) throw new Error(`no family ${name}`);
  return f;
};
const errorOf = (text: string | Buffer): string => {
  try {
    parsePrometheusText(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  } catch (err) {
    if (err instanceof TextParseError) return err.message;
    throw err;
  }
  throw new Error('parsed without error');
};

describe('parsePrometheusText > samples', () => {
  it('reads the Pushgateway README example: types, help, labels, values', () => {
    const { families, timestamps } = parse(
      '# TYPE some_metric counter\nsome_metric{label="val1"} 42\n# TYPE another_metric gauge\n' +
        '# HELP another_metric Just an example.\nanother_metric 2398.283\n',
    );
    expect(timestamps).toBe(false);
    expect([...families.keys()]).toEqual(['some_metric', 'another_metric']);
    const some = families.get('some_metric')!;
    expect(some.type).toBe('counter');
    expect(some.help).toBeUndefined();
    expect(some.metrics).toEqual([expect.objectContaining({ labels: ['label', 'val1'], value: 42 })]);
    const another = families.get('another_metric')!;
    expect(another).toMatchObject({ type: 'gauge', help: 'Just an example.' });
    expect(another.metrics[0]!.value).toBe(2398.283);
  });

  it('makes a family without a TYPE line untyped and keeps label order as written', () => {
    const f = family('m{b="2",a="1"} 7\n', 'm');
    expect(f.type).toBe('untyped');
    expect(f.metrics[0]!.labels).toEqual(['b', '2', 'a', '1']);
  });

  it('unescapes label values (\\\\, \\", \\n) and help text (\\\\, \\n)', () => {
    const f = family('# HELP m a\\\\b\\nc\nm{a="q\\"\\\\\\n"} 1\n', 'm');
    expect(f.help).toBe('a\\b\nc');
    expect(f.metrics[0]!.labels).toEqual(['a', 'q"\\\n']);
  });

  it('keeps UTF-8 in label values and help', () => {
    const f = family('# HELP m größe\nm{city="Zürich"} 1\n', 'm');
    expect(f.help).toBe('größe');
    expect(f.metrics[0]!.labels[1]).toBe('Zürich');
  });

  it('allows blanks and tabs where expfmt does (leading, around labels, before the value)', () => {
    const f = family(' \tm { a = "1" , } \t 5\n', 'm');
    expect(f.metrics[0]).toMatchObject({ labels: ['a', '1'], value: 5 });
  });

  it('accepts an empty body and blank or comment-only lines, and drops families without samples', () => {
    expect(parse('').families.size).toBe(0);
    expect(parse('\n \n# just a comment\n#\n').families.size).toBe(0);
    expect([...parse('# TYPE lonely gauge\n# HELP lonely x\nm 1\n').families.keys()]).toEqual(['m']);
  });

  it('notes timestamps (a push with them is refused later) but parses them', () => {
    expect(parse('m 1 1700000000000\n').timestamps).toBe(true);
    expect(parse('m 1 -5\n').timestamps).toBe(true);
  });

  it('merges the lines of a histogram into one metric per label set', () => {
    const f = family(
      '# TYPE h histogram\nh_bucket{le="0.5",a="x"} 1\nh_bucket{a="x",le="+Inf"} 3\nh_sum{a="x"} 2.5\nh_count{a="x"} 3\n' +
        'h_bucket{a="y",le="+Inf"} 0\n',
      'h',
    );
    expect(f.metrics).toHaveLength(2);
    expect(f.metrics[0]).toMatchObject({
      labels: ['a', 'x'],
      buckets: [
        [0.5, 1],
        [Infinity, 3],
      ],
      sum: 2.5,
      count: 3,
    });
    expect(f.metrics[1]!.labels).toEqual(['a', 'y']);
  });

  it('merges the lines of a summary; quantile is not a label', () => {
    const f = family(
      '# TYPE s summary\ns{quantile="0.5"} 1\ns{quantile="0.99"} 9\ns_sum 30\ns_count 7\n',
      's',
    );
    expect(f.metrics).toHaveLength(1);
    expect(f.metrics[0]).toMatchObject({
      labels: [],
      quantiles: [
        [0.5, 1],
        [0.99, 9],
      ],
      sum: 30,
      count: 7,
    });
  });

  it('treats _count/_sum as their own family unless a summary or histogram precedes them', () => {
    const { families } = parse('x_count 1\n# TYPE x summary\nx_sum 2\n# TYPE y gauge\ny_count 3\n');
    expect([...families.keys()].sort()).toEqual(['x', 'x_count', 'y_count']);
    expect(families.get('x')!.metrics[0]!.sum).toBe(2);
  });

  it('reads TYPE case-insensitively and HELP after samples', () => {
    const f = family('# TYPE m GAUGE\nm 1\n# HELP m later\n', 'm');
    expect(f).toMatchObject({ type: 'gauge', help: 'later' });
  });
});

describe('parsePrometheusText > errors as the Pushgateway reports them', () => {
  const cases: Array<[string, string]> = [
    ['m 1', 'text format parsing error in line 1: unexpected end of input stream'],
    ['m 1 \n', 'text format parsing error in line 1: expected integer as timestamp, got ""'],
    ['m 1 123 \n', 'text format parsing error in line 1: spurious string after timestamp: " "'],
    ['m 1\r\n', 'text format parsing error in line 1: expected float as value, got "1\\r"'],
    ['m{a="1",a="2"} 1\n', 'text format parsing error in line 1: duplicate label names for metric "m"'],
    ['m 0x10\n', 'text format parsing error in line 1: expected float as value, got "0x10"'],
    ['m 1_0\n', 'text format parsing error in line 1: expected float as value, got "1_0"'],
    ['m 1e400\n', 'text format parsing error in line 1: expected float as value, got "1e400"'],
    [
      'm 1\n# TYPE m gauge\n',
      'text format parsing error in line 2: second TYPE line for metric name "m", or TYPE reported after samples',
    ],
    [
      '# HELP m x\n# HELP m y\nm 1\n',
      'text format parsing error in line 2: second HELP line for metric name "m"',
    ],
    ['# HELP m a\\qb\nm 1\n', "text format parsing error in line 1: invalid escape sequence '\\q'"],
    ['# TYPE m foo\nm 1\n', 'text format parsing error in line 1: unknown metric type "foo"'],
    ['# TYPE m counter \nm 1\n', 'text format parsing error in line 1: unknown metric type "counter "'],
    ['m{__name__="x"} 1\n', 'text format parsing error in line 1: label name "__name__" is reserved'],
    ['m{a=1} 1\n', "text format parsing error in line 1: expected '\"' at start of label value, found '1'"],
    ['m{a="1" b="2"} 1\n', 'text format parsing error in line 1: unexpected end of label value "1"'],
    ['m{a} 1\n', "text format parsing error in line 1: expected '=' after label name, found '}'"],
    ['m{,} 1\n', 'text format parsing error in line 1: invalid label name for metric "m"'],
    ['m{a="1\n"} 1\n', 'text format parsing error in line 1: label value "1" contains unescaped new-line'],
    ['{a="1"} 1\n', 'text format parsing error in line 1: invalid metric name'],
    ['# HELP 1m x\n', 'text format parsing error in line 1: invalid metric name in comment'],
    [
      '# TYPE s summary\ns{quantile="x"} 1\n',
      'text format parsing error in line 2: expected float as value for \'quantile\' label, got "x"',
    ],
    [
      '# TYPE h histogram\nh_bucket{le="x"} 1\n',
      'text format parsing error in line 2: expected float as value for \'le\' label, got "x"',
    ],
    ['m 1 5x\n', 'text format parsing error in line 1: expected integer as timestamp, got "5x"'],
    [
      'm 1 9223372036854775808\n',
      'text format parsing error in line 1: expected integer as timestamp, got "9223372036854775808"',
    ],
    ['ok 1\n\nm{a="\\q"} 1\n', "text format parsing error in line 3: invalid escape sequence '\\q'"],
    [
      '# TYPE g gauge_histogram\ng 1\n',
      'text format parsing error in line 2: unexpected type for metric name "g"',
    ],
    ['# foo', 'text format parsing error in line 1: unexpected end of input stream'],
  ];
  it.each(cases)('%j → %s', (text, message) => {
    expect(errorOf(text)).toBe(message);
  });

  it('refuses a label value that is not UTF-8, quoting the bytes as Go does', () => {
    expect(errorOf(Buffer.from([...Buffer.from('m{a="'), 0xff, ...Buffer.from('"} 1\n')]))).toBe(
      'text format parsing error in line 1: invalid label value "\\xff"',
    );
  });

  it('accepts a body whose last line is only blanks', () => {
    expect(parse('m 1\n  ').families.get('m')!.metrics).toHaveLength(1);
  });
});

describe('parseGoFloat', () => {
  it.each([
    ['1', 1],
    ['-2.5', -2.5],
    ['.5', 0.5],
    ['5.', 5],
    ['+.5', 0.5],
    ['1e5', 1e5],
    ['1.e5', 1e5],
    ['1E-3', 1e-3],
    ['Inf', Infinity],
    ['+inf', Infinity],
    ['-Infinity', -Infinity],
    ['INF', Infinity],
    ['1e-400', 0],
  ])('%s → %d', (s, v) => {
    expect(parseGoFloat(s)).toBe(v);
  });

  it('reads NaN in any case, without a sign', () => {
    expect(parseGoFloat('NaN')).toBeNaN();
    expect(parseGoFloat('nan')).toBeNaN();
    expect(parseGoFloat('+nan')).toBeUndefined();
    expect(parseGoFloat('-NaN')).toBeUndefined();
  });

  it.each(['', '0x10', '1_000', '1e400', '-1e400', 'infin', '.e5', '1.5.5', ' 1', '1p3', '--1'])(
    'refuses %j',
    (s) => {
      expect(parseGoFloat(s)).toBeUndefined();
    },
  );
});
