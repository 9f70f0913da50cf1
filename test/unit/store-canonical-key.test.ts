import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJoinedKey, pairsKey, pairsOfKey, tupleKey } from '../../src/store/canonical-key.js';
import { fuzzAssert } from '../helpers/fuzz.js';

/** Text made mostly of the characters keys are built with, so collisions would be found. */
const text = fc.string({
  unit: fc.constantFrom('\u0000', '\u0001', '\u0002', '\u0003', '\u0004', '[', '"', '\\', 'a', 'b'),
  maxLength: 6,
});
const pairList = fc.array(fc.tuple(text, text), { maxLength: 4 }).map((ps) => ps.flat());

describe('canonical keys', () => {
  it('give two pair lists one key only when they are equal', () => {
    fuzzAssert(
      'pairs-key injective',
      fc.property(pairList, pairList, (a, b) => {
        expect(pairsKey(a) === pairsKey(b)).toBe(JSON.stringify(a) === JSON.stringify(b));
      }),
      { runs: 3000, seed: 7101 },
    );
  });

  it('give two tuples of one arity one key only when they are equal, also with keys as parts', () => {
    const part = fc.oneof(text, pairList.map(pairsKey));
    fuzzAssert(
      'tuple-key injective',
      fc.property(fc.integer({ min: 2, max: 4 }), fc.array(part, { minLength: 8, maxLength: 8 }), (n, p) => {
        const a = p.slice(0, n);
        const b = p.slice(4, 4 + n);
        expect(tupleKey(a) === tupleKey(b)).toBe(JSON.stringify(a) === JSON.stringify(b));
      }),
      { runs: 3000, seed: 7102 },
    );
  });

  it('tell a list apart from the list its text would spell when joined', () => {
    // Random pairs rarely collide by chance; these are built to: `b` is what the joined text of
    // `a` reads as, which differs from `a` exactly when a text of `a` holds a separator.
    const spelled = (a: string[]) => {
      const joined = a.map((t, i) => t + (i % 2 === 0 ? '\u0001' : '\u0002')).join('');
      const b = joined.replaceAll('\u0002', '\u0001').split('\u0001').slice(0, -1);
      return b.length % 2 === 0 ? b : undefined;
    };
    fuzzAssert(
      'pairs-key spelled',
      fc.property(pairList, (a) => {
        const b = spelled(a);
        if (b !== undefined)
          expect(pairsKey(a) === pairsKey(b)).toBe(JSON.stringify(a) === JSON.stringify(b));
      }),
      { runs: 3000, seed: 7104 },
    );
    fuzzAssert(
      'tuple-key spelled',
      fc.property(fc.array(text, { minLength: 2, maxLength: 4 }), (a) => {
        const b = a.join('\u0004').split('\u0004');
        if (b.length === a.length) return; // same arity only: one map holds one arity
        const c = b.slice(0, a.length - 1).concat(b.slice(a.length - 1).join('\u0004'));
        expect(tupleKey(a) === tupleKey(c)).toBe(JSON.stringify(a) === JSON.stringify(c));
      }),
      { runs: 3000, seed: 7105 },
    );
  });

  it('give the pairs back from a joined key, and join every list of plain text', () => {
    fuzzAssert(
      'pairs-key round trip',
      fc.property(pairList, (a) => {
        const key = pairsKey(a);
        const plain = a.every((t) => [...t].every((c) => c.charCodeAt(0) > 4));
        expect(isJoinedKey(key)).toBe(plain);
        if (plain) expect(pairsOfKey(key)).toEqual(a);
        expect(key.includes('\u0004')).toBe(false); // so keys can be parts of a tuple key
      }),
      { runs: 3000, seed: 7103 },
    );
  });

  it('keep the joined form for ordinary text', () => {
    expect(pairsKey(['a', 'x', 'b', 'y'])).toBe('a\u0001x\u0002b\u0001y\u0002');
    expect(pairsKey([])).toBe('');
    expect(tupleKey(['ns', 'svc', ''])).toBe('ns\u0004svc\u0004');
    // The first of these was the key of the second.
    expect(pairsKey(['a', 'x\u0002b\u0001y'])).not.toBe(pairsKey(['a', 'x', 'b', 'y']));
    expect(tupleKey(['a\u0004b', 'c'])).not.toBe(tupleKey(['a', 'b\u0004c']));
  });
});
