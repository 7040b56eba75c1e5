import { useSyncExternalStore } from 'react';

/** This device's alert preferences (sounds are per device; message text is per account, on the server). */
export interface AlertPrefs {
  messageSound: boolean;
  ringtone: boolean;
  /** The user said "not now" to the in-app notification prompt. */
  promptDismissed: boolean;
}

const KEY = 'parley.alerts';
const DEFAULTS: AlertPrefs = { messageSound: true, ringtone: true, promptDismissed: false };
const listeners = new Set<() => void>();

function read(): AlertPrefs {
  try {
    return { ...DEFAULTS, ...(JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<AlertPrefs>) };
  } catch {
    return DEFAULTS;
  }
}

let current = read();

export const getAlertPrefs = () => current;

export function setAlertPrefs(patch: Partial<AlertPrefs>) {
  current = { ...current, ...patch };
  try {
    localStorage.setItem(KEY, JSON.stringify(current));
  } catch {
    // storage off: kept for this page only
  }
  for (const l of listeners) l();
}

export function useAlertPrefs(): AlertPrefs {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    () => current,
  );
}
