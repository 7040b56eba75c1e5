/**
 * The one i18n instance (i18next). Every namespace is a pair of files,
 * locales/en/<ns>.json and locales/de/<ns>.json, found here by import.meta.glob: adding a
 * feature's strings never means editing a shared registry. Dates, numbers and plurals use the
 * same language (see ../format.ts): the UI never mixes English words with the browser's locale.
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { detectLanguage, FALLBACK, isLanguage, STORAGE_KEY, type Language } from './languages';

export { LANGUAGES, type Language } from './languages';

type Tree = { [key: string]: string | Tree };
const files = import.meta.glob<Tree>('../locales/*/*.json', { eager: true, import: 'default' });

/** { en: { chat: {...}, common: {...} }, de: {...} } from the file names. */
export const resources: Record<string, Record<string, Tree>> = {};
for (const [path, tree] of Object.entries(files)) {
  const m = /\/locales\/([^/]+)\/([^/]+)\.json$/.exec(path);
  if (!m) continue;
  const namespaces = resources[m[1]!] ?? {};
  namespaces[m[2]!] = tree;
  resources[m[1]!] = namespaces;
}

function readStored(): string | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: detect every time
  }
}
const browserLanguages = () => (typeof navigator === 'undefined' ? [] : (navigator.languages ?? [navigator.language]));

export const i18n = i18next.createInstance();
void i18n.use(initReactI18next).init({
  resources,
  lng: detectLanguage(readStored(), browserLanguages()),
  fallbackLng: FALLBACK,
  supportedLngs: Object.keys(resources),
  defaultNS: 'common',
  ns: Object.keys(resources[FALLBACK] ?? {}),
  // React escapes what it renders; escaping here too would show "&amp;".
  interpolation: { escapeValue: false },
  returnNull: false,
  // Resources are bundled: initialise synchronously so the first render is translated.
  initAsync: false,
  // A missing key shows as the key; say so loudly (the browser tests fail on these warnings).
  saveMissing: true,
  missingKeyHandler: (lngs, ns, key) => console.warn(`i18n: missing "${ns}:${key}" for ${lngs.join(',')}`),
});

function reflect(lng: string) {
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
}
reflect(i18n.language);
i18n.on('languageChanged', reflect);

/** The language everything is formatted in. */
export const currentLanguage = (): Language => (isLanguage(i18n.language) ? i18n.language : FALLBACK);

/** Switches the UI (and every date and number) and remembers the choice on this device. */
export function setLanguage(lng: Language) {
  try {
    localStorage.setItem(STORAGE_KEY, lng);
  } catch {
    // storage disabled: the choice lasts until the page is closed
  }
  void i18n.changeLanguage(lng);
}
