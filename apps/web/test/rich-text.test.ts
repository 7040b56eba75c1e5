import { describe, expect, it } from 'vitest';
import { isEmojiOnly, parseRich, plainText, safeHref } from '../src/chat/richText';

describe('the formatting language', () => {
  it('reads bold, italic, strike, inline code and code blocks', () => {
    expect(parseRich('a **b** *c* _d_ ~~e~~ `f *g*`')).toEqual([
      'a ',
      { type: 'bold', children: ['b'] },
      ' ',
      { type: 'italic', children: ['c'] },
      ' ',
      { type: 'italic', children: ['d'] },
      ' ',
      { type: 'strike', children: ['e'] },
      ' ',
      { type: 'code', text: 'f *g*' },
    ]);
    expect(parseRich('before\n```js\nconst x = **1**;\n```\nafter')).toEqual([
      'before\n',
      { type: 'pre', text: 'const x = **1**;' },
      '\nafter',
    ]);
    expect(parseRich('**bold _and italic_**')).toEqual([
      { type: 'bold', children: ['bold ', { type: 'italic', children: ['and italic'] }] },
    ]);
  });

  it('leaves what is not a span as written', () => {
    for (const s of [
      '2 * 3 * 4',
      'snake_case_name',
      '__init__ and __main__',
      'window.__x=1 and window.__y',
      '** not bold**',
      '**',
      '*',
      '`',
      'a ~~ b',
      '_x',
      'x_',
    ]) {
      expect(plainText(parseRich(s)), s).toBe(s);
      expect(
        parseRich(s).every((n) => typeof n === 'string'),
        s,
      ).toBe(true);
    }
    expect(plainText(parseRich('*'.repeat(5000)))).toBe('*'.repeat(5000));
  });

  it('links http, https and mailto only, without the sentence punctuation', () => {
    expect(parseRich('see https://example.org/a?b=1. ok')).toEqual([
      'see ',
      { type: 'link', href: 'https://example.org/a?b=1', text: 'https://example.org/a?b=1' },
      '. ok',
    ]);
    expect(parseRich('(http://x.test/wiki/A_(b))')).toEqual([
      '(',
      { type: 'link', href: 'http://x.test/wiki/A_(b)', text: 'http://x.test/wiki/A_(b)' },
      ')',
    ]);
    expect(parseRich('mail mailto:ada@example.org')[1]).toEqual({
      type: 'link',
      href: 'mailto:ada@example.org',
      text: 'mailto:ada@example.org',
    });
    for (const s of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:x',
      'http://',
      'file:///etc/passwd',
      'xhttps://a.b',
    ]) {
      expect(
        parseRich(s).every((n) => typeof n === 'string'),
        s,
      ).toBe(true);
    }
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('https://a.test/<x>')).toBe('https://a.test/%3Cx%3E');
  });

  it('keeps HTML as text', () => {
    expect(parseRich('<img src=x onerror=alert(1)> **<b>**')).toEqual([
      '<img src=x onerror=alert(1)> ',
      { type: 'bold', children: ['<b>'] },
    ]);
  });

  it('knows a message of 1-3 emoji', () => {
    expect(isEmojiOnly('👍')).toBe(true);
    expect(isEmojiOnly(' 👨‍👩‍👧 🇩🇪 👍🏽 ')).toBe(true);
    expect(isEmojiOnly('👍👍👍👍')).toBe(false);
    expect(isEmojiOnly('ok 👍')).toBe(false);
    expect(isEmojiOnly('123')).toBe(false);
    expect(isEmojiOnly('')).toBe(false);
  });
});
