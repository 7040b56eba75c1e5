/**
 * Dates, relative times, numbers, lists and plurals follow the UI's language, not the machine's:
 * the same instant reads differently in English and German, and switching the language switches
 * every formatter. Every namespace has the same keys in every language.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { detectLanguage } from '../src/i18n/languages';
import { i18n, resources } from '../src/i18n';
import {
  formatDay,
  formatList,
  formatListStamp,
  formatNumber,
  formatRelative,
  formatTime,
  formatWait,
} from '../src/format';

afterAll(() => i18n.changeLanguage('en'));

const at = (iso: string) => new Date(iso);

describe('one locale for everything', () => {
  const now = at('2026-03-04T12:00:00');
  it('English', async () => {
    await i18n.changeLanguage('en');
    expect(formatRelative(new Date(now.getTime() - 2 * 60_000).toISOString(), now.getTime())).toBe('2 minutes ago');
    expect(formatRelative(new Date(now.getTime() - 10_000).toISOString(), now.getTime())).toBe('just now');
    expect(formatRelative(new Date(now.getTime() - 86_400_000).toISOString(), now.getTime())).toBe('yesterday');
    expect(formatDay(now.toISOString(), now)).toBe('Today');
    expect(formatDay(at('2026-03-03T09:00:00').toISOString(), now)).toBe('Yesterday');
    expect(formatDay(at('2026-03-01T09:00:00').toISOString(), now)).toBe('Sunday, March 1');
    expect(formatDay(at('2025-12-24T09:00:00').toISOString(), now)).toBe('December 24, 2025');
    expect(formatTime(at('2026-03-04T15:07:00').toISOString())).toMatch(/^3:07\sPM$/);
    expect(formatListStamp(at('2026-02-01T09:00:00').toISOString(), now)).toBe('Feb 1');
    expect(formatNumber(1234567.5)).toBe('1,234,567.5');
    expect(formatList(['Ann', 'Bob', 'Cy'])).toBe('Ann, Bob, and Cy');
    expect(formatWait(1_000)).toBe('1 second');
    expect(formatWait(30_000)).toBe('30 seconds');
    expect(formatWait(119_000)).toBe('2 minutes');
  });
  it('German', async () => {
    await i18n.changeLanguage('de');
    expect(formatRelative(new Date(now.getTime() - 2 * 60_000).toISOString(), now.getTime())).toBe('vor 2 Minuten');
    expect(formatRelative(new Date(now.getTime() - 10_000).toISOString(), now.getTime())).toBe('gerade eben');
    expect(formatRelative(new Date(now.getTime() - 86_400_000).toISOString(), now.getTime())).toBe('gestern');
    expect(formatDay(now.toISOString(), now)).toBe('Heute');
    expect(formatDay(at('2026-03-01T09:00:00').toISOString(), now)).toBe('Sonntag, 1. März');
    expect(formatDay(at('2025-12-24T09:00:00').toISOString(), now)).toBe('24. Dezember 2025');
    expect(formatTime(at('2026-03-04T15:07:00').toISOString())).toBe('15:07');
    expect(formatListStamp(at('2026-02-01T09:00:00').toISOString(), now)).toBe('1. Feb.');
    expect(formatNumber(1234567.5)).toBe('1.234.567,5');
    expect(formatList(['Ann', 'Bob', 'Cy'])).toBe('Ann, Bob und Cy');
    expect(formatWait(1_000)).toBe('1 Sekunde');
    expect(formatWait(30_000)).toBe('30 Sekunden');
    // Numbers inside sentences go through the same locale.
    expect(i18n.t('common:time.seconds', { count: 1500 })).toBe('1.500 Sekunden');
  });
});

describe('the language', () => {
  it('comes from the stored choice, else the browser, else English', () => {
    expect(detectLanguage('de', ['en-US'])).toBe('de');
    expect(detectLanguage(null, ['fr-FR', 'de-AT', 'en'])).toBe('de');
    expect(detectLanguage('xx', ['EN-gb'])).toBe('en');
    expect(detectLanguage(null, ['fr', 'ja'])).toBe('en');
    expect(detectLanguage(undefined, [])).toBe('en');
  });
});

/** Every key of a tree, dotted ("time.seconds_one"). */
function keys(tree: unknown, prefix = ''): string[] {
  if (typeof tree !== 'object' || tree === null) return [prefix];
  return Object.entries(tree).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}
/** Interpolated names in a string ("{{name}}", "{{count, number}}" → name, count). */
const slots = (s: unknown) => [...String(s).matchAll(/\{\{\s*([\w.]+)/g)].map((m) => m[1]).sort();

describe('translations', () => {
  const langs = Object.keys(resources);
  it('exist in English and German', () => {
    expect(langs.sort()).toEqual(['de', 'en']);
    expect(Object.keys(resources.en!)).toContain('common');
  });
  for (const ns of Object.keys(resources.en ?? {})) {
    it(`namespace "${ns}" has the same keys and placeholders in every language`, () => {
      const en = resources.en![ns];
      const enKeys = keys(en).sort();
      for (const lng of langs) {
        const other = resources[lng]![ns];
        expect(other, `${lng}/${ns}.json`).toBeDefined();
        // German and English share the plural categories one/other, so the keys match exactly.
        expect(keys(other).sort(), `${lng}/${ns}.json`).toEqual(enKeys);
        for (const k of enKeys) {
          const get = (t: unknown) => k.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)?.[p], t);
          expect(slots(get(other)), `${lng}/${ns}.json ${k}`).toEqual(slots(get(en)));
          expect(String(get(other)).trim(), `${lng}/${ns}.json ${k} is empty`).not.toBe('');
        }
      }
    });
  }
});
