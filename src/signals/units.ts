/**
 * Converting a signal's values from its metric's unit to the unit the signal asks for, by the
 * UCUM case-sensitive codes OpenTelemetry uses: time `ns us ms s min h d` (`m` is the metre in
 * UCUM, not the minute), bytes `By kBy MBy GBy TBy KiBy MiBy GiBy TiBy`, dimensionless `1` and `%`.
 * One `/` is understood (`By/s` → `MiBy/s`, `{request}/s` → `{request}/min`).
 *
 * An empty unit on either side means "not stated" and converts as identity (a metric without a
 * unit is taken to be in the unit the signal asks for); two equal units, known or not
 * (`{request}`), are identity; anything else unknown or across dimensions is incompatible
 * (undefined), which the config loader should report.
 */

/** Units of one dimension, each as a multiple of the dimension's smallest unit (exact integers). */
const UNITS = new Map<string, { dimension: string; size: number }>();
function define(dimension: string, sizes: Record<string, number>): void {
  for (const [code, size] of Object.entries(sizes)) UNITS.set(code, { dimension, size });
}
define('time', { ns: 1, us: 1e3, ms: 1e6, s: 1e9, min: 6e10, h: 3.6e12, d: 8.64e13 });
define('bytes', {
  By: 1,
  kBy: 1e3,
  MBy: 1e6,
  GBy: 1e9,
  TBy: 1e12,
  KiBy: 1024,
  MiBy: 1024 ** 2,
  GiBy: 1024 ** 3,
  TiBy: 1024 ** 4,
});
define('ratio', { '%': 1, '1': 100 });

/**
 * The factor f with `value in toUnit = value in fromUnit × f`, or undefined when the units are
 * incompatible. Compute it once per signal. (`convertUnit` is exact to the last bit where the
 * factor is a power of ten; multiplying by a fractional factor such as 0.001 may differ by one
 * unit in the last place.)
 */
export function unitFactor(fromUnit: string, toUnit: string): number | undefined {
  if (fromUnit === toUnit || fromUnit === '' || toUnit === '') return 1;
  const fromSlash = fromUnit.indexOf('/');
  const toSlash = toUnit.indexOf('/');
  if (fromSlash >= 0 || toSlash >= 0) {
    if (fromSlash < 0 || toSlash < 0) return undefined;
    const num = sizes(fromUnit.slice(0, fromSlash), toUnit.slice(0, toSlash));
    const den = sizes(fromUnit.slice(fromSlash + 1), toUnit.slice(toSlash + 1));
    if (num === undefined || den === undefined) return undefined;
    // One division of integer products rounds once (By/s → MBy/min is 6e10 / 1e15 = 6e-5).
    return (num[0] * den[1]) / (num[1] * den[0]);
  }
  const pair = sizes(fromUnit, toUnit);
  return pair === undefined ? undefined : pair[0] / pair[1];
}

/** `value` converted from `fromUnit` to `toUnit`; undefined when the units are incompatible. */
export function convertUnit(value: number, fromUnit: string, toUnit: string): number | undefined {
  const from = UNITS.get(fromUnit);
  const to = UNITS.get(toUnit);
  if (from !== undefined && to !== undefined && from.dimension === to.dimension) {
    // Multiplying or dividing by an exact integer rounds once: 1500 ms → 1.5 s exactly, where
    // 1500 × 0.001 would carry 0.001's representation error.
    return from.size >= to.size ? value * (from.size / to.size) : value / (to.size / from.size);
  }
  const factor = unitFactor(fromUnit, toUnit);
  return factor === undefined ? undefined : value * factor;
}

/** Sizes of two units of one dimension in its smallest unit; [1, 1] for equal units of any kind. */
function sizes(fromUnit: string, toUnit: string): [number, number] | undefined {
  if (fromUnit === toUnit) return [1, 1];
  const from = UNITS.get(fromUnit);
  const to = UNITS.get(toUnit);
  if (from === undefined || to === undefined || from.dimension !== to.dimension) return undefined;
  return [from.size, to.size];
}
