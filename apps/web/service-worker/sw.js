/* Parley's service worker: the offline app shell, Web Push notifications and their clicks.
 * Built by vite-sw-plugin.ts, which puts PRECACHE (every file of the build) and VERSION above this. */
/* global PRECACHE, VERSION */
/// <reference lib="webworker" />

const SHELL = `parley-shell-${VERSION}`;
const RUNTIME = 'parley-runtime';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL);
      await cache.addAll(['/', ...PRECACHE]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys())
        if (name.startsWith('parley-shell-') && name !== SHELL) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

/** Only the app's own files are cached; the API, downloads and everything else go to the network. */
const SHELL_FILES = new Set(PRECACHE);
const isShellFile = (url) => SHELL_FILES.has(url.pathname) || url.pathname.startsWith('/assets/');

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    // Pages: the network first (a new deploy shows at once), the cached shell when offline.
    event.respondWith(
      fetch(request).catch(async () => (await caches.match('/', { cacheName: SHELL })) ?? Response.error()),
    );
    return;
  }
  if (!isShellFile(url)) return;
  // Built files have content hashes: a cached copy is always right.
  event.respondWith(
    (async () => {
      // This build's copy first; hashed files of a build the page may still run come from RUNTIME.
      const cached =
        (await caches.match(request, { cacheName: SHELL })) ?? (await caches.match(request, { cacheName: RUNTIME }));
      if (cached) return cached;
      const response = await fetch(request);
      if (response.ok && response.type === 'basic' && url.pathname.startsWith('/assets/')) {
        const copy = response.clone();
        void caches.open(RUNTIME).then((c) => c.put(request, copy));
      }
      return response;
    })(),
  );
});

// ---- notifications ----

const german = (self.navigator.language || '').toLowerCase().startsWith('de');
const text = german
  ? {
      calling: (n) => `${n} ruft an`,
      video: 'Videoanruf',
      audio: 'Sprachanruf',
      answer: 'Annehmen',
      decline: 'Ablehnen',
    }
  : {
      calling: (n) => `${n} is calling`,
      video: 'Video call',
      audio: 'Voice call',
      answer: 'Answer',
      decline: 'Decline',
    };

async function windows() {
  return self.clients.matchAll({ type: 'window', includeUncontrolled: true });
}

/**
 * Shows what a push (or the hidden tab, by postMessage) announces. Every push shows something:
 * the server sends none while a Parley page is visible, and Chrome (userVisibleOnly) answers a
 * silent push with a generic notification of its own.
 */
async function show(data) {
  if (data.type === 'message') {
    await self.registration.showNotification(data.title, {
      body: data.body,
      // One notification per conversation: the newest replaces the older.
      tag: `conversation:${data.conversationId}`,
      renotify: true,
      icon: '/icons/icon-192.png',
      badge: '/icons/badge-72.png',
      timestamp: Date.now(),
      data: { kind: 'message', url: `/c/${data.conversationId}`, conversationId: data.conversationId },
    });
  } else if (data.type === 'call') {
    if (data.expiresAt && Date.parse(data.expiresAt) < Date.now()) return; // stopped ringing meanwhile
    const options = {
      body: data.media === 'video' ? text.video : text.audio,
      tag: `call:${data.callId}`,
      renotify: true,
      requireInteraction: true,
      icon: '/icons/icon-192.png',
      badge: '/icons/badge-72.png',
      vibrate: [300, 200, 300, 200, 300],
      data: {
        kind: 'call',
        url: `/c/${data.conversationId}`,
        callId: data.callId,
        conversationId: data.conversationId,
      },
    };
    // Actions where the browser has them (Chrome, Edge; not Safari or Firefox).
    if ('actions' in Notification.prototype) {
      options.actions = [
        { action: 'answer', title: text.answer },
        { action: 'decline', title: text.decline },
      ];
    }
    await self.registration.showNotification(text.calling(data.callerName), options);
  } else if (data.type === 'call.ended') {
    for (const n of await self.registration.getNotifications({ tag: `call:${data.callId}` })) n.close();
  }
}

self.addEventListener('push', (event) => {
  let data = null;
  try {
    data = event.data ? event.data.json() : null;
  } catch {
    data = null;
  }
  if (data) event.waitUntil(show(data));
});

/** A mutation with the session cookies; once more after a refresh if the access token expired. */
async function mutate(path, input) {
  const call = () =>
    fetch(`/trpc/${path}`, {
      method: 'POST',
      credentials: 'include',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
  let res = await call();
  if (res.status === 401) {
    await fetch('/trpc/auth.refresh', { method: 'POST', credentials: 'include' });
    res = await call();
  }
  return res.ok;
}

/** Focuses a Parley window and sends it to `url`, or opens one there. */
async function open(url) {
  const all = await windows();
  const target = all.find((w) => w.focused) ?? all[0];
  if (target) {
    target.postMessage({ type: 'parley:navigate', url });
    // Allowed from a notification click; refused without one (e.g. a test's simulated click).
    return target.focus().catch(() => target);
  }
  return self.clients.openWindow(url);
}

async function clicked(notification, action) {
  notification.close();
  const data = notification.data || {};
  if (data.kind === 'call' && action === 'decline') {
    await mutate('calls.decline', { callId: data.callId });
    return;
  }
  const url = data.kind === 'call' && action === 'answer' ? `${data.url}?answer=${data.callId}` : data.url || '/';
  await open(url);
}

self.addEventListener('notificationclick', (event) => {
  event.waitUntil(clicked(event.notification, event.action));
});

// The open tab asks for system notifications through the worker (a page's `new Notification` has no
// actions and is not allowed on Android), and tests click one the same way the system would.
self.addEventListener('message', (event) => {
  const msg = event.data || {};
  if (msg.type === 'parley:show' && msg.payload) event.waitUntil(show(msg.payload));
  else if (msg.type === 'parley:click') {
    event.waitUntil(
      (async () => {
        const [n] = await self.registration.getNotifications({ tag: msg.tag });
        if (n) await clicked(n, msg.action || '');
      })(),
    );
  }
});
