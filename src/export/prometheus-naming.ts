import { familyType, type FamilyNamer } from '../store/store.js';
import type { MetricDescriptor } from '../store/types.js';

/**
 * OpenTelemetry → Prometheus names, as the collector's otlptranslator does them with suffixes
 * enabled (SPEC §7): split the name into tokens on anything outside `[a-zA-Z0-9:]`, append the
 * UCUM unit in words unless the name already says it, `_total` for monotonic sums, `_ratio` for
 * unit-`1` gauges, `_` before a leading digit. Pure functions; the store calls
 * {@link prometheusFamily} once per new stream, so none of this is on a hot path.
 */

/** UCUM units → Prometheus words (otlptranslator's unitMap). */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  // time
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  // bytes
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  // SI
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  // misc
  Cel: 'celsius',
  Hz: 'hertz',
  '%': 'percent',
};

/** The denominator of `x/y` units (otlptranslator's perUnitMap). */
const PER_UNIT_WORDS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

/** `{request}` and other annotations carry no unit; `1` is handled by the `_ratio` rule. */
function unitTokens(unit: string): string[] {
  const clean = unit.replace(/\{[^}]*\}/g, '').trim();
  if (clean === '' || clean === '1') return [];
  const slash = clean.indexOf('/');
  const main = slash < 0 ? clean : clean.slice(0, slash);
  const per = slash < 0 ? '' : clean.slice(slash + 1);
  const tokens: string[] = [];
  const mainWord = UNIT_WORDS[main] ?? main;
  if (mainWord !== '') tokens.push(...splitTokens(mainWord));
  if (per !== '') {
    const perWord = PER_UNIT_WORDS[per] ?? per;
    const perTokens = splitTokens(perWord);
    if (perTokens.length > 0) tokens.push('per', ...perTokens);
  }
  return tokens;
}

function splitTokens(s: string): string[] {
  return s.split(/[^a-zA-Z0-9:]+/).filter((t) => t !== '');
}

/** The Prometheus metric name of an OTel metric. */
export function metricName(desc: Pick<MetricDescriptor, 'name' | 'unit' | 'kind' | 'monotonic'>): string {
  const tokens = splitTokens(desc.name);
  for (const t of unitTokens(desc.unit)) if (!tokens.includes(t)) tokens.push(t);
  if (desc.kind === 'sum' && desc.monotonic) {
    if (tokens[tokens.length - 1] === 'total') tokens.pop();
    tokens.push('total');
  }
  if (desc.kind === 'gauge' && desc.unit === '1' && !tokens.includes('ratio')) tokens.push('ratio');
  let name = tokens.join('_');
  if (name === '') return '';
  if (/^[0-9]/.test(name)) name = '_' + name;
  return name;
}

const LABEL_INVALID = /[^a-zA-Z0-9_]/g;

/** The Prometheus label name of an attribute key (otlptranslator's NormalizeLabel). */
export function labelName(key: string): string {
  if (key === '') return '';
  let name = key.replace(LABEL_INVALID, '_');
  if (/^[0-9]/.test(name)) name = 'key_' + name;
  else if (name.startsWith('_') && !name.startsWith('__')) name = 'key' + name;
  return name;
}

/**
 * The store's family naming: one exposition family per Prometheus name. Data pushed with a
 * Prometheus name (the text push) keeps its name and type as they are.
 */
export const prometheusFamily: FamilyNamer = (desc) =>
  desc.prometheus ?? { name: metricName(desc), type: familyType(desc) };
