/**
 * Every date, time, number and list on screen, in the UI's language (never the browser's default
 * locale: an English UI says "2 minutes ago", a German one "vor 2 Minuten").
 */
import { currentLanguage, i18n } from './i18n';
import { truncate } from './text';

const cache = new Map<string, Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.NumberFormat | Intl.ListFormat>();
function cached<T extends Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.NumberFormat | Intl.ListFormat>(
  kind: string,
  make: (lng: string) => T,
): T {
  const key = `${currentLanguage()}|${kind}`;
  let f = cache.get(key) as T | undefined;
  if (!f) {
    f = make(currentLanguage());
    cache.set(key, f);
  }
  return f;
}
const dtf = (kind: string, opts: Intl.DateTimeFormatOptions) => cached(kind, (l) => new Intl.DateTimeFormat(l, opts));

const time = () => dtf('time', { hour: 'numeric', minute: '2-digit' });
const day = () => dtf('day', { weekday: 'long', month: 'long', day: 'numeric' });
const dayYear = () => dtf('dayYear', { month: 'long', day: 'numeric', year: 'numeric' });
const shortDay = () => dtf('shortDay', { month: 'short', day: 'numeric' });
const weekday = () => dtf('weekday', { weekday: 'short' });
const full = () => dtf('full', { dateStyle: 'medium', timeStyle: 'short' });
const rtf = () => cached('rtf', (l) => new Intl.RelativeTimeFormat(l, { numeric: 'auto' }));

const startOfDay = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
const DAY = 86_400_000;
const daysAgo = (d: Date, now: Date) => Math.round((startOfDay(now) - startOfDay(d)) / DAY);

export const formatTime = (iso: string) => time().format(new Date(iso));
export const formatFull = (iso: string) => full().format(new Date(iso));
export const dayKey = (iso: string) => startOfDay(new Date(iso));

/** "Today", "Yesterday", "Monday, March 3", or a date with the year. */
export function formatDay(iso: string, now = new Date()) {
  const d = new Date(iso);
  const diff = daysAgo(d, now);
  if (diff === 0) return i18n.t('common:time.today');
  if (diff === 1) return i18n.t('common:time.yesterday');
  return d.getFullYear() === now.getFullYear() ? day().format(d) : dayYear().format(d);
}

/** Compact stamp for a list: time today, weekday this week, else a short date. */
export function formatListStamp(iso: string, now = new Date()) {
  const d = new Date(iso);
  const diff = daysAgo(d, now);
  if (diff <= 0) return time().format(d);
  if (diff < 7) return weekday().format(d);
  return shortDay().format(d);
}

/** "just now", "5 minutes ago", "yesterday", then a short date. */
export function formatRelative(iso: string, now = Date.now()) {
  const secs = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(secs);
  if (abs < 45) return i18n.t('common:time.justNow');
  if (abs < 3600) return rtf().format(Math.round(secs / 60), 'minute');
  if (abs < 86_400) return rtf().format(Math.round(secs / 3600), 'hour');
  if (abs < 30 * 86_400) return rtf().format(Math.round(secs / 86_400), 'day');
  return shortDay().format(new Date(iso));
}

export const formatNumber = (n: number) => cached('num', (l) => new Intl.NumberFormat(l)).format(n);

/** "Ann, Bob and Cy" / "Ann, Bob und Cy". */
export const formatList = (items: string[]) =>
  cached('list', (l) => new Intl.ListFormat(l, { style: 'long', type: 'conjunction' })).format(items);

/** A wait in words: "30 seconds", "2 minutes". */
export function formatWait(ms: number) {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return s < 60
    ? i18n.t('common:time.seconds', { count: s })
    : i18n.t('common:time.minutes', { count: Math.ceil(s / 60) });
}

/** A readable device name from a user agent string. */
export function describeUserAgent(ua: string | null | undefined) {
  if (!ua) return i18n.t('common:device.unknown');
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrome\//.test(ua)
          ? /HeadlessChrome/.test(ua)
            ? 'Headless Chrome'
            : 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : /node|undici/i.test(ua)
              ? i18n.t('common:device.script')
              : null;
  const os = /iPhone|iPad/.test(ua)
    ? 'iOS'
    : /Android/.test(ua)
      ? 'Android'
      : /Mac OS X/.test(ua)
        ? 'macOS'
        : /Windows/.test(ua)
          ? 'Windows'
          : /CrOS/.test(ua)
            ? 'ChromeOS'
            : /Linux/.test(ua)
              ? 'Linux'
              : null;
  if (browser && os) return i18n.t('common:device.on', { browser, os });
  return browser ?? os ?? truncate(ua, 60);
}
