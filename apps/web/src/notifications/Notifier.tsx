import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CallStore } from '../calls/callStore';
import type { ChatStore, Conversation, Message } from '../chat/store';
import { i18n } from '../i18n';
import { navigate } from '../router';
import { onConnectionChange, parley } from '../trpc';
import { setFaviconBadge } from './favicon';
import { getAlertPrefs, setAlertPrefs, useAlertPrefs } from './prefs';
import {
  enableNotifications,
  notificationPermission,
  registerServiceWorker,
  syncPushSubscription,
  useNotificationPermission,
} from './push';
import { playMessageSound, startRinging, stopRinging } from './sounds';
import './notifications.css';

/** "Show message text in notifications", as the server keeps it (read once per page, updated by the settings). */
let showMessageText = true;
export function setShowMessageText(value: boolean) {
  showMessageText = value;
}

const isMuted = (c: Conversation) => c.mutedUntil !== null && Date.parse(c.mutedUntil) > Date.now();
const hidden = () => document.visibilityState !== 'visible';

/** A system notification from the tab, through the service worker when there is one (it has the click handler). */
async function showSystem(payload: Record<string, unknown>) {
  if (notificationPermission() !== 'granted') return;
  const reg = await registerServiceWorker();
  const worker = reg?.active;
  if (worker) {
    worker.postMessage({ type: 'parley:show', payload });
    return;
  }
  if (payload.type === 'message') {
    const n = new Notification(String(payload.title), {
      body: String(payload.body),
      tag: `conversation:${String(payload.conversationId)}`,
    });
    n.onclick = () => {
      window.focus();
      navigate(`/c/${String(payload.conversationId)}`);
      n.close();
    };
  }
}

function messageAlert(me: string, c: Conversation, m: Message) {
  const sender = c.members.find((u) => u.id === m.senderId)?.displayName ?? i18n.t('common:someone');
  const title = c.kind === 'group' && c.title ? c.title : sender;
  const content = m.body || i18n.t('notifications:attachment');
  const text = c.kind === 'group' ? `${sender}: ${content}` : content;
  return {
    type: 'message',
    conversationId: c.id,
    messageId: m.id,
    seq: m.seq,
    title,
    body: showMessageText ? text : i18n.t('notifications:newMessageFrom', { name: sender }),
    senderName: sender,
    me,
  };
}

/**
 * Everything that tells the user something happened while they look elsewhere: the visibility
 * report that stops pushes while a tab is in front, the sound and system notification for new
 * messages when the tab is hidden, the ringtone for incoming calls, the unread badge on the
 * favicon, and where a notification click leads. Renders only the permission prompt.
 */
export function Notifier({ store, calls }: { store: ChatStore; calls: CallStore }) {
  // Tell the server, over this page's socket, whether the page is in front.
  useEffect(() => {
    const report = () =>
      void parley.api.notifications.setVisibility
        .mutate({ visible: !hidden() }, { context: { viaSocket: true } })
        .catch(() => undefined);
    report();
    const off = onConnectionChange((state) => state === 'open' && report());
    document.addEventListener('visibilitychange', report);
    return () => {
      off();
      document.removeEventListener('visibilitychange', report);
    };
  }, []);

  // Messages that failed for want of a connection go again when it is back (same clientId).
  useEffect(() => {
    const retryFailed = () => {
      for (const view of Object.values(store.getState().views)) {
        for (const p of view.pending) if (p.status === 'failed') store.retry(p.conversationId, p.clientId);
      }
    };
    const off = onConnectionChange((state) => state === 'open' && retryFailed());
    window.addEventListener('online', retryFailed);
    return () => {
      off();
      window.removeEventListener('online', retryFailed);
    };
  }, [store]);

  // The worker, this session's push subscription, the setting, and where clicks lead.
  useEffect(() => {
    void registerServiceWorker().then(() => syncPushSubscription());
    void parley.api.notifications.settings.query().then(
      (s) => setShowMessageText(s.showMessageText),
      () => undefined,
    );
    const onMessage = (e: MessageEvent<{ type?: string; url?: string }>) => {
      if (e.data?.type === 'parley:navigate' && typeof e.data.url === 'string') openUrl(e.data.url);
    };
    navigator.serviceWorker?.addEventListener('message', onMessage);
    return () => navigator.serviceWorker?.removeEventListener('message', onMessage);
  }, []);

  // New messages from others: a sound, and a system notification when the tab is hidden.
  useEffect(() => {
    const seen = new Map<string, number>();
    let primed = false;
    const check = () => {
      const s = store.getState();
      if (!s.listLoaded) return;
      for (const c of Object.values(s.conversations)) {
        const m = c.lastMessage;
        const before = seen.get(c.id);
        if (m) seen.set(c.id, Math.max(before ?? 0, m.seq));
        if (!primed || !m || (before !== undefined && m.seq <= before) || m.senderId === s.me || isMuted(c)) continue;
        // In front of this very conversation: it is on screen already.
        if (!hidden() && store.focused === c.id) continue;
        if (getAlertPrefs().messageSound) playMessageSound();
        if (hidden()) void showSystem(messageAlert(s.me, c, m));
      }
      primed = true;
    };
    check();
    return store.subscribe(check);
  }, [store]);

  // Incoming calls ring until answered, declined or missed.
  useEffect(() => {
    let ringingFor: string | null = null;
    const check = () => {
      const { phase, call, peerName } = calls.getState();
      const incoming = phase === 'incoming' && call ? call : null;
      if (incoming && ringingFor !== incoming.id) {
        ringingFor = incoming.id;
        if (getAlertPrefs().ringtone) startRinging();
        if (hidden()) {
          void showSystem({
            type: 'call',
            callId: incoming.id,
            conversationId: incoming.conversationId,
            media: incoming.media,
            callerName: peerName,
          });
        }
        answerIfAsked(calls);
      } else if (!incoming && ringingFor) {
        void showSystem({ type: 'call.ended', callId: ringingFor });
        ringingFor = null;
        stopRinging();
      }
    };
    check();
    const off = calls.subscribe(check);
    return () => {
      off();
      stopRinging();
    };
  }, [calls]);

  // The unread count on the favicon (the title has it already).
  useEffect(() => {
    const total = () =>
      Object.values(store.getState().conversations).reduce((n, c) => n + (isMuted(c) ? 0 : c.unreadCount), 0);
    let last = -1;
    const update = () => {
      const n = total();
      if (n !== last) {
        last = n;
        setFaviconBadge(n);
      }
    };
    update();
    const off = store.subscribe(update);
    return () => {
      off();
      setFaviconBadge(0);
    };
  }, [store]);

  return <NotifyPrompt />;
}

/** A click on a notification: the conversation, and a call to answer when asked. */
function openUrl(url: string) {
  const parsed = new URL(url, window.location.origin);
  if (parsed.origin !== window.location.origin) return;
  navigate(parsed.pathname);
  if (parsed.search) window.history.replaceState(null, '', parsed.pathname + parsed.search);
  window.dispatchEvent(new Event('parley:answer-check'));
}

let answerCheckInstalled = false;
/** "Answer" on a call notification opens the app with ?answer=<callId>: answer it once it rings here. */
function answerIfAsked(calls: CallStore) {
  const wanted = new URLSearchParams(window.location.search).get('answer');
  const { phase, call } = calls.getState();
  if (wanted && phase === 'incoming' && call?.id === wanted) {
    window.history.replaceState(null, '', window.location.pathname);
    void calls.accept();
  }
  if (!answerCheckInstalled) {
    answerCheckInstalled = true;
    window.addEventListener('parley:answer-check', () => answerIfAsked(calls));
  }
}

/** Asks for notification permission only when the user clicks "Turn on", never by itself. */
function NotifyPrompt() {
  const { t } = useTranslation('notifications');
  const permission = useNotificationPermission();
  const prefs = useAlertPrefs();
  const [busy, setBusy] = useState(false);
  if (permission !== 'default' || prefs.promptDismissed) return null;
  return (
    <div className="notify-prompt" role="region" aria-label={t('prompt.label')}>
      <p>{t('prompt.text')}</p>
      <button
        type="button"
        className="primary small-btn"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void enableNotifications().finally(() => setBusy(false));
        }}
      >
        {t('prompt.enable')}
      </button>
      <button type="button" className="ghost small-btn" onClick={() => setAlertPrefs({ promptDismissed: true })}>
        {t('prompt.later')}
      </button>
    </div>
  );
}
