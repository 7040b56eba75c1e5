import { useSyncExternalStore } from 'react';
import { parley } from '../trpc';

/**
 * The service worker (built as /sw.js, see vite-sw-plugin.ts) and this browser's Web Push
 * subscription. Registered in production builds only: the dev server has no /sw.js.
 */
let registration: Promise<ServiceWorkerRegistration | null> | null = null;

export function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  registration ??= (async () => {
    if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return null;
    try {
      await navigator.serviceWorker.register('/sw.js', { scope: '/' });
      return await navigator.serviceWorker.ready;
    } catch {
      return null; // e.g. a private window that refuses workers: the app works without one
    }
  })();
  return registration;
}

export type PermissionState = NotificationPermission | 'unsupported';
const listeners = new Set<() => void>();
const notifyAll = () => {
  for (const l of listeners) l();
};

export const notificationPermission = (): PermissionState =>
  typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;

export function useNotificationPermission(): PermissionState {
  return useSyncExternalStore((l) => {
    listeners.add(l);
    return () => void listeners.delete(l);
  }, notificationPermission);
}

const base64urlToBytes = (s: string) => {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
};

/**
 * Registers this browser's push subscription with the server (again: it belongs to the current
 * session, and the same endpoint after another sign-in changes hands). Needs permission already.
 */
export async function syncPushSubscription(): Promise<boolean> {
  if (notificationPermission() !== 'granted') return false;
  const reg = await registerServiceWorker();
  if (!reg || !('pushManager' in reg)) return false;
  try {
    const { publicKey } = await parley.api.notifications.vapidPublicKey.query();
    const key = base64urlToBytes(publicKey);
    let sub = await reg.pushManager.getSubscription();
    // A subscription made with another server key (keys rotated) cannot receive our pushes.
    const existing = sub?.options.applicationServerKey;
    if (sub && existing && !sameBytes(new Uint8Array(existing), key)) {
      await sub.unsubscribe();
      sub = null;
    }
    sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    const json = sub.toJSON();
    if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) return false;
    await parley.api.notifications.subscribe.mutate({
      endpoint: json.endpoint,
      keys: { p256dh: json.keys.p256dh, auth: json.keys.auth },
    });
    return true;
  } catch {
    // Headless browsers and some privacy modes refuse push: in-tab notifications still work.
    return false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Asks for permission (call from a click only) and subscribes. */
export async function enableNotifications(): Promise<PermissionState> {
  if (notificationPermission() === 'unsupported') return 'unsupported';
  const result = await Notification.requestPermission();
  notifyAll();
  if (result === 'granted') await syncPushSubscription();
  return result;
}

/** On sign-out: this browser stops getting pushes for the account (the server drops it too). */
export async function dropPushSubscription() {
  const reg = await registerServiceWorker();
  const sub = await reg?.pushManager?.getSubscription().catch(() => null);
  if (!sub) return;
  await parley.api.notifications.unsubscribe.mutate({ endpoint: sub.endpoint }).catch(() => undefined);
  await sub.unsubscribe().catch(() => undefined);
}
