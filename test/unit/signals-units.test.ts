import { describe, expect, it } from 'vitest';
import { convertUnit, unitFactor } from '../../src/signals/units.js';

describe('convertUnit', () => {
  it.each([
    [1.5, 's', 'ms', 1500],
    [1500, 'ms', 's', 1.5],
    [3, 'ms', 's', 0.003],
    [250, 'us', 'ms', 0.25],
    [2_500_000, 'ns', 'ms', 2.5],
    [7, 'ns', 'us', 0.007],
    [1, 'h', 's', 3600],
    [90, 'min', 'h', 1.5],
    [1, 'd', 'min', 1440],
    [0.1, 's', 'ms', 100],
    [0.3, 's', 'ms', 300],
  ])('time: %s %s = %s %s', (value, from, to, expected) => {
    expect(convertUnit(value, from, to)).toBe(expected);
  });

  it.each([
    [1, 'KiBy', 'By', 1024],
    [1, 'MiBy', 'KiBy', 1024],
    [3, 'GiBy', 'MiBy', 3072],
    [1536, 'KiBy', 'MiBy', 1.5],
    [1, 'kBy', 'By', 1000],
    [2_500_000, 'By', 'MBy', 2.5],
    [1, 'GBy', 'kBy', 1e6],
    [1, 'MiBy', 'MBy', 1.048576],
    [1, 'TiBy', 'GiBy', 1024],
  ])('bytes: %s %s = %s %s', (value, from, to, expected) => {
    expect(convertUnit(value, from, to)).toBe(expected);
  });

  it('converts ratios between 1 and %', () => {
    expect(convertUnit(0.25, '1', '%')).toBe(25);
    expect(convertUnit(99.5, '%', '1')).toBe(0.995);
  });

  it('is the identity for equal units, known or not, and when either unit is not stated', () => {
    expect(convertUnit(7, 'ms', 'ms')).toBe(7);
    expect(convertUnit(7, '{request}', '{request}')).toBe(7);
    expect(convertUnit(7, '', 'ms')).toBe(7);
    expect(convertUnit(7, 's', '')).toBe(7);
  });

  it('is undefined for incompatible or unknown units', () => {
    expect(convertUnit(1, 's', 'By')).toBeUndefined();
    expect(convertUnit(1, 'ms', '%')).toBeUndefined();
    expect(convertUnit(1, '{request}', '1')).toBeUndefined();
    expect(convertUnit(1, 's', 'seconds')).toBeUndefined();
    expect(convertUnit(1, 'm', 's')).toBeUndefined(); // UCUM m is the metre
    expect(convertUnit(1, 'KBy', 'By')).toBeUndefined(); // UCUM kilo is k, kibi is Ki
    expect(convertUnit(1, 'constructor', 's')).toBeUndefined();
  });

  it('converts per-time units', () => {
    expect(convertUnit(1, 'MiBy/s', 'KiBy/s')).toBe(1024);
    expect(convertUnit(2, '{request}/s', '{request}/min')).toBe(120);
    expect(convertUnit(1, 'By/s', 'By')).toBeUndefined();
    expect(convertUnit(1, 'By/s', 's/s')).toBeUndefined();
  });
});

describe('unitFactor', () => {
  it('is the factor to multiply by, for precomputing once per signal', () => {
    expect(unitFactor('s', 'ms')).toBe(1000);
    expect(unitFactor('ms', 's')).toBe(0.001);
    expect(unitFactor('us', 'ms')).toBe(0.001);
    expect(unitFactor('GiBy', 'By')).toBe(1024 ** 3);
    expect(unitFactor('1', '%')).toBe(100);
    expect(unitFactor('%', '1')).toBe(0.01);
    expect(unitFactor('{x}', '{x}')).toBe(1);
    expect(unitFactor('', 'By')).toBe(1);
    expect(unitFactor('By', 's')).toBeUndefined();
    expect(unitFactor('By/s', 'MBy/min')).toBe(60 / 1e6);
  });

  it('agrees with convertUnit to within one rounding', () => {
    const units = ['ns', 'us', 'ms', 's', 'min', 'h', 'd'];
    for (const from of units) {
      for (const to of units) {
        const f = unitFactor(from, to)!;
        const exact = convertUnit(123.456, from, to)!;
        expect(Math.abs(123.456 * f - exact)).toBeLessThanOrEqual(Math.abs(exact) * 4e-16);
      }
    }
  });
});
