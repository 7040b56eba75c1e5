/** The languages the UI is translated into; the first is the fallback. */
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'de', name: 'Deutsch' },
] as const;
export type Language = (typeof LANGUAGES)[number]['code'];
export const FALLBACK: Language = 'en';
export const STORAGE_KEY = 'parley.language';

export const isLanguage = (x: unknown): x is Language => LANGUAGES.some((l) => l.code === x);

/**
 * The stored choice, else the first of the browser's languages we have ("de-AT" → de), else
 * English. Never the browser's locale for anything we have not translated.
 */
export function detectLanguage(stored: string | null | undefined, browser: readonly string[]): Language {
  if (isLanguage(stored)) return stored;
  for (const tag of browser) {
    const base = tag.toLowerCase().split('-')[0];
    if (isLanguage(base)) return base;
  }
  return FALLBACK;
}
