import { describe, expect, it } from 'vitest';
import { Interner } from '../../src/store/interner.js';

describe('Interner', () => {
  it('keeps one entry per distinct short string', () => {
    const i = new Interner(8, 100);
    for (let n = 0; n < 1000; n++) i.intern(['GET', 'POST', 'method'][n % 3]!);
    expect(i.size).toBe(3);
    expect(i.intern('GET')).toBe('GET');
  });

  it('never keeps strings longer than its limit', () => {
    const i = new Interner(8, 100);
    expect(i.intern('/api/v1/items/12345')).toBe('/api/v1/items/12345');
    expect(i.size).toBe(0);
  });

  it('starts afresh when full instead of growing', () => {
    const i = new Interner(8, 10);
    for (let n = 0; n < 1000; n++) i.intern(`v${n}`);
    expect(i.size).toBeLessThanOrEqual(10);
    expect(i.size).toBeGreaterThan(0);
  });

  it('copies attributes to an array of the same length and values', () => {
    const i = new Interner();
    const attrs: string[] = [];
    for (const s of ['code', '200', 'method', 'GET']) attrs.push(s);
    const copy = i.internAll(attrs);
    expect(copy).toEqual(attrs);
    expect(copy).not.toBe(attrs);
    expect(copy.length).toBe(4);
  });
});
