/**
 * Device preferences kept in localStorage: the theme (system, light, dark), applied before the
 * first paint by importing this module (main.tsx). The language lives in ../i18n; sounds in the
 * notifications section.
 */
import { useSyncExternalStore } from 'react';

export type Theme = 'system' | 'light' | 'dark';
export const THEMES: Theme[] = ['system', 'light', 'dark'];
export interface Preferences {
  theme: Theme;
}
const KEY = 'parley.preferences';
const DEFAULTS: Preferences = { theme: 'system' };

function read(): Preferences {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Preferences>;
    return {
      theme: THEMES.includes(raw.theme as Theme) ? (raw.theme as Theme) : DEFAULTS.theme,
    };
  } catch {
    return DEFAULTS; // storage disabled or garbled: the defaults
  }
}

let current = read();
const listeners = new Set<() => void>();

function apply(p: Preferences) {
  const root = document.documentElement;
  if (p.theme === 'system') root.removeAttribute('data-theme');
  else root.dataset.theme = p.theme;
  // The browser bar follows the page.
  const dark =
    p.theme === 'dark' || (p.theme === 'system' && window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.querySelector('meta[name="theme-color"]')?.setAttribute('content', dark ? '#0f1218' : '#f6f7f9');
}
apply(current);

export function getPreferences() {
  return current;
}
export function setPreferences(patch: Partial<Preferences>) {
  current = { ...current, ...patch };
  try {
    localStorage.setItem(KEY, JSON.stringify(current));
  } catch {
    // storage disabled: the choice lasts for this page
  }
  apply(current);
  for (const l of listeners) l();
}
export function usePreferences(): Preferences {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    () => current,
  );
}
