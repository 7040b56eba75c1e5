/**
 * The text helpers cut by grapheme: an emoji, a flag, a skin tone or a combining accent is never
 * split (the avatar of "Coast trip 🏖️" once showed "C\uFFFD").
 */
import { describe, expect, it } from 'vitest';
import { excerpt, firstGrapheme, fitLength, graphemes, initials, truncate } from '../src/text';

const broken = (s: string) => /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\uFFFD/.test(s);

describe('graphemes', () => {
  it('counts what a reader sees as one character', () => {
    expect(graphemes('🏖️')).toHaveLength(1);
    expect(graphemes('👍🏽a')).toEqual(['👍🏽', 'a']);
    expect(graphemes('🇩🇪🇫🇷')).toEqual(['🇩🇪', '🇫🇷']);
    expect(graphemes('e\u0301x')).toEqual(['e\u0301', 'x']);
    expect(graphemes('👨‍👩‍👧')).toHaveLength(1);
    expect(firstGrapheme('')).toBe('');
    expect(firstGrapheme('🏖️ Beach')).toBe('🏖️');
  });
});

describe('initials', () => {
  it('takes first graphemes of the first and last lettered words', () => {
    expect(initials('Coast trip 🏖️')).toBe('CT');
    expect(initials('Alice Archer')).toBe('AA');
    expect(initials('  bob  ')).toBe('B');
    expect(initials('🏖️ Beach')).toBe('B');
    expect(initials('Émile Zola')).toBe('ÉZ');
    expect(initials('e\u0301mile')).toBe('E\u0301');
  });
  it('uses an emoji whole when the name has nothing else', () => {
    expect(initials('🏖️')).toBe('🏖️');
    expect(initials('👨‍👩‍👧 🇩🇪')).toBe('👨‍👩‍👧🇩🇪');
    expect(initials('')).toBe('?');
  });
  it('upper-cases in the given locale', () => {
    expect(initials('istanbul ikinci', 'tr')).toBe('İİ');
    expect(initials('istanbul ikinci', 'en')).toBe('II');
  });
});

describe('truncate and excerpt', () => {
  it('never cuts inside a grapheme', () => {
    const s = '👍🏽'.repeat(10);
    for (let n = 1; n <= 12; n++) {
      const out = truncate(s, n);
      expect(broken(out), out).toBe(false);
      expect(graphemes(out).length).toBeLessThanOrEqual(n);
    }
    expect(truncate(s, 4)).toBe('👍🏽👍🏽👍🏽…');
  });
  it('leaves short text alone and marks a cut', () => {
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('hello world', 6)).toBe('hello…');
    expect(truncate('abc', 0)).toBe('');
    // 4 graphemes in 8 code units: not cut although longer than 4 code units.
    expect(truncate('🇩🇪🇫🇷🇮🇹🇪🇸', 4)).toBe('🇩🇪🇫🇷🇮🇹🇪🇸');
  });
  it('folds whitespace into one line', () => {
    expect(excerpt('  one\n\ntwo\tthree  ')).toBe('one two three');
    expect(excerpt('Coast trip 🏖️🏖️🏖️', 13)).toBe('Coast trip 🏖️…');
    expect(excerpt('Coast trip 🏖️🏖️🏖️', 12)).toBe('Coast trip…');
    expect(broken(excerpt('ab🏖️cd', 3))).toBe(false);
  });
});

describe('fitLength', () => {
  it('fits code units (the server counts those) without cutting a grapheme', () => {
    expect(fitLength('abc', 4)).toBe('abc');
    expect(fitLength('abcdef', 4)).toBe('abcd');
    // "🏖️" is 3 code units: 4 units hold one beach and one letter, 5 units still not two beaches.
    expect(fitLength('🏖️a🏖️', 4)).toBe('🏖️a');
    expect(fitLength('🏖️🏖️', 5)).toBe('🏖️');
    const long = `${'x'.repeat(3999)}👍🏽`;
    expect(fitLength(long, 4000)).toBe('x'.repeat(3999));
    expect(broken(fitLength(long, 4000))).toBe(false);
  });
});
