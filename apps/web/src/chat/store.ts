import { useSyncExternalStore } from 'react';
import {
  applyEvent,
  dropConversation,
  endTyping,
  followEvents,
  initialState,
  putConversation,
  putHistory,
  type ClientState,
  type EventFollower,
  type ParleyEvent,
  type PresenceEvent,
} from '@parley/client';
import { translateIssue } from '../errors';
import { callLogged } from '../calls/history';
import { i18n } from '../i18n';
import { outbox } from '../notifications/offline';
import { parley, recheckSession, type RouterOutputs } from '../trpc';

export type Conversation = RouterOutputs['conversations']['byId'];
export type Message = RouterOutputs['messages']['send'];
export type PublicUser = Conversation['members'][number];

export interface PendingMessage {
  clientId: string;
  conversationId: string;
  body: string;
  createdAt: string;
  status: 'sending' | 'failed';
  error?: string;
  /** The message this one answers (shown as its quote while sending). */
  replyTo?: Message['replyTo'];
  /** Uploaded files it carries (attachments/Attachments.tsx). */
  attachmentIds?: string[];
}

/** What the screen knows of a thread besides its messages (those are `threads`, ClientState's). */
export interface ThreadView {
  pending: PendingMessage[];
  loaded: boolean;
  hasMore: boolean;
  loadingOlder: boolean;
  error: string | null;
}

/**
 * ClientState (packages/client: conversations, threads, the `windows` around older messages,
 * receipts, typing, presence), moved on by `applyEvent`; plus what only a screen needs.
 */
export interface ChatState extends ClientState {
  listLoaded: boolean;
  listError: string | null;
  nextCursor: string | null;
  views: Record<string, ThreadView>;
  live: boolean;
  /** A message to show in its thread once that thread is on screen (a search hit). */
  jump?: { conversationId: string; seq: number } | null;
}

const emptyView: ThreadView = { pending: [], loaded: false, hasMore: false, loadingOlder: false, error: null };
const TYPING_MS = 5_000;
const PERMANENT = new Set(['BAD_REQUEST', 'FORBIDDEN', 'NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'UNAUTHORIZED']);

const codeOf = (err: unknown) => (err as { data?: { code?: string } } | null)?.data?.code;
const messageOf = (err: unknown) => {
  const code = codeOf(err);
  if (code === 'NOT_FOUND') return i18n.t('chat:pending.gone');
  if (code === 'FORBIDDEN') return i18n.t('chat:pending.forbidden');
  if (code === 'PAYLOAD_TOO_LARGE') return i18n.t('chat:pending.tooLong');
  if (code === 'BAD_REQUEST') {
    const issue = (err as { data?: { zodError?: { fieldErrors?: Record<string, string[]> } } }).data?.zodError
      ?.fieldErrors?.body?.[0];
    return issue ? translateIssue(issue) : i18n.t('chat:pending.invalid');
  }
  return i18n.t('chat:pending.notSentDot');
};

export const activity = (c: Conversation) => {
  const t = Date.parse(c.updatedAt);
  const m = c.lastMessage ? Date.parse(c.lastMessage.createdAt) : 0;
  return Math.max(t || 0, m);
};

/**
 * The messenger's live state: the `messages.onEvent` stream (followEvents, resumed with its
 * cursor) and presence go through `applyEvent`; this adds the loading, optimistic sends and the
 * outbox, and the side effects an event asks for (fetch a conversation, catch up a gap, read).
 */
export class ChatStore {
  private state: ChatState;
  private listeners = new Set<() => void>();
  private follower: EventFollower | null = null;
  private presenceSub: { unsubscribe(): void } | null = null;
  private restartTimers: Partial<Record<'events' | 'presence', ReturnType<typeof setTimeout>>> = {};
  /** conversationId/userId → the timer that ends their typing notice. */
  private typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private sendQueues = new Map<string, Promise<void>>();
  private fetchingConversation = new Set<string>();
  private stopped = false;
  /** The conversation on screen, read as messages arrive (while the page is visible). */
  focused: string | null = null;

  constructor(me: string) {
    this.state = { ...initialState(me), listLoaded: false, listError: null, nextCursor: null, views: {}, live: false };
  }

  // ---- React binding ----
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  };
  getState = () => this.state;
  private set(patch: Partial<ChatState>) {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }
  /** Moves the ClientState part on (by applyEvent or one of its helpers). */
  private move(next: (s: ClientState) => ClientState) {
    const moved = next(this.state);
    if (moved !== this.state) this.set(moved);
  }
  private setView(id: string, update: (v: ThreadView) => ThreadView) {
    const current = this.state.views[id] ?? emptyView;
    this.set({ views: { ...this.state.views, [id]: update(current) } });
  }
  private putConversation(c: Conversation) {
    this.move((s) => putConversation(s, c));
  }

  // ---- lifecycle ----
  start() {
    this.stopped = false;
    this.followEvents(null);
    this.subscribePresence();
    void this.loadConversations();
    document.addEventListener('visibilitychange', this.onVisible);
    void this.restoreOutbox();
  }
  /** Messages written before a reload or while offline: sent again with their own clientId (never twice). */
  private async restoreOutbox() {
    for (const item of await outbox.of(this.state.me)) {
      if (this.stopped || this.state.views[item.conversationId]?.pending.some((p) => p.clientId === item.clientId))
        continue;
      const pending: PendingMessage = { ...item, status: 'sending' };
      this.setView(item.conversationId, (t) => ({ ...t, pending: [...t.pending, pending] }));
      this.enqueue(pending);
    }
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.restartTimers.events);
    clearTimeout(this.restartTimers.presence);
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    this.typingTimers.clear();
    this.follower?.stop();
    this.presenceSub?.unsubscribe();
    document.removeEventListener('visibilitychange', this.onVisible);
  }
  private onVisible = () => {
    if (document.visibilityState === 'visible' && this.focused) this.markRead(this.focused);
  };

  /** After an error: try again, unless the session is over (then the app signs out). */
  private restartAfter(err: unknown, which: 'events' | 'presence') {
    if (codeOf(err) !== 'UNAUTHORIZED') return this.scheduleRestart(which);
    void recheckSession().then((renewed) => renewed && this.scheduleRestart(which));
  }

  private scheduleRestart(which: 'events' | 'presence') {
    if (this.stopped) return;
    clearTimeout(this.restartTimers[which]);
    this.restartTimers[which] = setTimeout(() => {
      if (this.stopped) return;
      if (which === 'events') this.followEvents(this.follower?.lastEventId ?? null);
      else this.subscribePresence();
    }, 1_000);
  }

  /**
   * followEvents resumes by itself after drops and errors; only a lapsed session stops it, and
   * it starts again here (from the same cursor) once the session is renewed.
   */
  private followEvents(lastEventId: string | null) {
    this.follower?.stop();
    this.follower = followEvents(parley.api, {
      lastEventId,
      onStarted: () => {
        this.set({ live: true });
        // After a gap, catch the list up too (cheap, and covers events that predate our cursor).
        if (this.state.listLoaded) void this.loadConversations();
      },
      onEvent: (event) => this.apply(event),
      onResync: () => this.resync(),
      onError: (err) => {
        this.set({ live: false });
        if (codeOf(err) === 'UNAUTHORIZED') this.restartAfter(err, 'events');
      },
      onComplete: () => this.set({ live: false }),
    });
  }

  private subscribePresence() {
    this.presenceSub?.unsubscribe();
    this.presenceSub = parley.api.presence.onChange.subscribe(undefined, {
      onData: (e: PresenceEvent) => this.move((s) => applyEvent(s, e)),
      onError: (err) => {
        this.restartAfter(err, 'presence');
      },
      onComplete: () => this.scheduleRestart('presence'),
    });
  }

  // ---- events ----
  /** The server could not resume our cursor: reload the list and the threads we hold, then go on live. */
  private resync() {
    void this.loadConversations();
    for (const [id, view] of Object.entries(this.state.views)) if (view.loaded) void this.loadLatest(id);
  }

  /** One event through the reducer, then what it asks of the store. */
  private apply(event: ParleyEvent) {
    const before = this.state;
    this.move((s) => applyEvent(s, event));
    switch (event.type) {
      case 'message.new':
        this.afterMessage(before, event.message);
        break;
      case 'typing': {
        const at = this.state.typing[event.conversationId]?.[event.userId];
        if (at === event.at) this.expireTyping(event.conversationId, event.userId, at);
        break;
      }
      case 'call.logged':
        // A call ended (replayed after a gap like messages): the timeline's entry.
        callLogged(this.state.me, event.call);
        break;
      case 'conversation.updated':
        // Membership and titles are rare changes: confirm them with a fresh read.
        if (this.state.conversations[event.conversation.id]) void this.fetchConversation(event.conversation.id);
        break;
    }
  }

  /** A typing notice lasts TYPING_MS on this device's clock (the server's `at` only orders it). */
  private expireTyping(conversationId: string, userId: string, at: string) {
    const key = `${conversationId}/${userId}`;
    clearTimeout(this.typingTimers.get(key));
    this.typingTimers.set(
      key,
      setTimeout(() => {
        this.typingTimers.delete(key);
        this.move((s) => endTyping(s, conversationId, userId, at));
      }, TYPING_MS),
    );
  }

  /** After a message reached the state (live, or as the answer to our send). */
  private afterMessage(before: ChatState, m: Message) {
    const { me } = this.state;
    const id = m.conversationId;
    const held = before.threads[id];
    if (held && !before.windows[id]) {
      if (m.senderId === me)
        this.setView(id, (v) => ({ ...v, pending: v.pending.filter((p) => p.clientId !== m.clientId) }));
      // Events we missed lie between: catch up.
      const last = held.at(-1);
      if (last !== undefined && m.seq > last.seq + 1) void this.loadLatest(id);
    }
    if (!this.state.conversations[id]) void this.fetchConversation(id);
    else if (m.senderId !== me && this.focused === id && (before.conversations[id]?.lastMessage?.seq ?? 0) < m.seq)
      this.markRead(id);
  }

  // ---- loading ----
  async loadConversations() {
    try {
      const first = await parley.api.conversations.list.query({ limit: 50 });
      this.move((s) => first.items.reduce(putConversation, s));
      this.set({ listLoaded: true, listError: null, nextCursor: first.nextCursor });
    } catch (err) {
      this.set({ listError: codeOf(err) ? i18n.t('chat:list.loadError') : i18n.t('chat:list.unreachable') });
      if (this.stopped) return;
      if (codeOf(err) === 'UNAUTHORIZED') {
        if (await recheckSession()) void this.loadConversations();
      } else setTimeout(() => void this.loadConversations(), 3_000);
    }
  }

  async loadMoreConversations() {
    const cursor = this.state.nextCursor;
    if (!cursor) return;
    const page = await parley.api.conversations.list.query({ limit: 50, cursor });
    // Older pages never replace what events brought meanwhile.
    this.move((s) => page.items.filter((c) => !s.conversations[c.id]).reduce(putConversation, s));
    this.set({ nextCursor: page.nextCursor });
  }

  async fetchConversation(id: string) {
    if (this.fetchingConversation.has(id)) return;
    this.fetchingConversation.add(id);
    try {
      this.putConversation(await parley.api.conversations.byId.query({ id }));
    } catch (err) {
      if (codeOf(err) === 'NOT_FOUND') this.move((s) => dropConversation(s, id));
    } finally {
      this.fetchingConversation.delete(id);
    }
  }

  adopt(c: Conversation) {
    this.putConversation(c);
  }
  forget(id: string) {
    this.move((s) => dropConversation(s, id));
  }

  async openThread(id: string) {
    if (this.state.views[id]?.loaded) {
      // Catch up anything that may have passed while we held it in the background.
      void this.loadLatest(id);
      return;
    }
    await this.loadLatest(id);
  }

  /** The newest page; from a window around an older message, back to the newest. */
  async loadLatest(id: string) {
    const generation = this.windowGenerations.get(id) ?? 0;
    try {
      const page = await parley.api.messages.list.query({ conversationId: id, limit: 50 });
      // A jump to an older message happened meanwhile: its window wins.
      if ((this.windowGenerations.get(id) ?? 0) !== generation) return;
      const view = this.state.views[id] ?? emptyView;
      const fromWindow = this.state.windows[id] === true;
      const heldBefore = this.state.threads[id]?.length ?? 0;
      const changes = page.groupChanges;
      this.move((s) =>
        putHistory(s, id, page.items, fromWindow ? { replace: true, window: false, changes } : { changes }),
      );
      const confirmed = new Set(this.state.threads[id]!.map((m) => m.clientId));
      this.setView(id, (v) => ({
        ...v,
        pending: v.pending.filter((p) => !confirmed.has(p.clientId)),
        loaded: true,
        hasMore: fromWindow || !view.loaded ? page.hasMore : view.hasMore || (page.hasMore && heldBefore === 0),
        error: null,
      }));
      if (this.focused === id) this.markRead(id);
    } catch (err) {
      this.setView(id, (v) => ({
        ...v,
        error: codeOf(err) === 'NOT_FOUND' ? i18n.t('chat:thread.notAvailable') : i18n.t('chat:thread.loadError'),
      }));
    }
  }

  async loadOlder(id: string) {
    const v = this.state.views[id];
    const first = this.state.threads[id]?.[0];
    if (!v?.loaded || !v.hasMore || v.loadingOlder || !first) return;
    this.setView(id, (x) => ({ ...x, loadingOlder: true }));
    try {
      const page = await parley.api.messages.list.query({ conversationId: id, beforeSeq: first.seq, limit: 50 });
      this.move((s) => putHistory(s, id, page.items, { changes: page.groupChanges }));
      this.setView(id, (x) => ({ ...x, hasMore: page.hasMore, loadingOlder: false }));
    } catch {
      this.setView(id, (x) => ({ ...x, loadingOlder: false, error: i18n.t('chat:thread.olderError') }));
    }
  }

  // ---- rich messages (edits, deletes, reactions, jumping to a message) ----
  /**
   * A message changed (edited, deleted, reacted to): the answer to our own change, applied as the
   * event that will follow it (the thread's copy, the quotes of replies and the list's preview).
   */
  patchMessage(m: Message) {
    this.move((s) => applyEvent(s, { type: 'message.updated', message: m }));
  }

  /**
   * Shows `seq` in its thread: at once when it is loaded, otherwise a window of history around it
   * (messages.list with beforeSeq and afterSeq). False when there is no such message.
   */
  async showMessage(conversationId: string, seq: number): Promise<boolean> {
    if (this.state.views[conversationId]?.loaded && this.state.threads[conversationId]?.some((m) => m.seq === seq))
      return true;
    this.windowGenerations.set(conversationId, (this.windowGenerations.get(conversationId) ?? 0) + 1);
    try {
      const [before, after] = await Promise.all([
        parley.api.messages.list.query({ conversationId, beforeSeq: seq + 1, limit: 30 }),
        parley.api.messages.list.query({ conversationId, afterSeq: seq, limit: 30 }),
      ]);
      if (!before.items.some((m) => m.seq === seq)) return false;
      const changes = [...before.groupChanges, ...after.groupChanges];
      this.move((s) =>
        putHistory(s, conversationId, [...before.items, ...after.items], {
          replace: true,
          window: after.hasMore,
          changes,
        }),
      );
      this.setView(conversationId, (x) => ({ ...x, hasMore: before.hasMore, loaded: true, error: null }));
      return true;
    } catch {
      return false;
    }
  }

  /** Bumped by every jump to a window, so that a newest page asked for earlier does not replace it. */
  private windowGenerations = new Map<string, number>();

  requestJump(conversationId: string, seq: number) {
    this.set({ jump: { conversationId, seq } });
  }
  clearJump() {
    if (this.state.jump) this.set({ jump: null });
  }

  /** From a window around an older message: the next newer page. */
  async loadNewer(id: string) {
    const last = this.state.threads[id]?.at(-1);
    if (!this.state.windows[id] || !last || this.state.views[id]?.loadingOlder) return;
    try {
      const page = await parley.api.messages.list.query({ conversationId: id, afterSeq: last.seq, limit: 50 });
      this.move((s) => putHistory(s, id, page.items, { window: page.hasMore, changes: page.groupChanges }));
    } catch {
      // The reader scrolls down again, or jumps to the latest.
    }
  }

  async edit(m: Message, body: string) {
    this.patchMessage(await parley.api.messages.edit.mutate({ messageId: m.id, body }));
  }

  async remove(m: Message) {
    await parley.api.messages.delete.mutate({ messageId: m.id });
    // The event brings the tombstone too; showing it now answers the click at once.
    this.patchMessage({ ...m, body: '', deletedAt: new Date().toISOString(), reactions: [], replyTo: null });
  }

  async toggleReaction(m: Message, emoji: string) {
    const mine = m.reactions.some((r) => r.emoji === emoji && r.userIds.includes(this.state.me));
    const input = { messageId: m.id, emoji };
    this.patchMessage(
      await (mine ? parley.api.messages.unreact.mutate(input) : parley.api.messages.react.mutate(input)),
    );
  }

  // ---- actions ----
  private readInFlight = new Map<string, number>();
  markRead(id: string) {
    if (document.visibilityState !== 'visible') return;
    const c = this.state.conversations[id];
    const t = this.state.threads[id];
    const latest = Math.max(c?.lastMessage?.seq ?? 0, t?.at(-1)?.seq ?? 0);
    if (!c || latest <= c.lastReadSeq || (this.readInFlight.get(id) ?? 0) >= latest) return;
    this.readInFlight.set(id, latest);
    this.putConversation({ ...c, lastReadSeq: latest, unreadCount: 0 });
    parley.api.messages.markRead
      .mutate({ conversationId: id, seq: latest })
      .catch(() => undefined)
      .finally(() => {
        if (this.readInFlight.get(id) === latest) this.readInFlight.delete(id);
      });
  }

  private lastTypingSent = new Map<string, number>();
  typing(id: string) {
    const now = Date.now();
    if (now - (this.lastTypingSent.get(id) ?? 0) < 3_000) return;
    this.lastTypingSent.set(id, now);
    parley.api.messages.typing.mutate({ conversationId: id }).catch(() => undefined);
  }

  send(conversationId: string, body: string, replyTo?: Message['replyTo'], attachmentIds?: string[]) {
    const pending: PendingMessage = {
      clientId: crypto.randomUUID(),
      conversationId,
      body,
      ...(replyTo ? { replyTo } : {}),
      ...(attachmentIds?.length ? { attachmentIds } : {}),
      createdAt: new Date().toISOString(),
      status: 'sending',
    };
    this.setView(conversationId, (t) => ({ ...t, pending: [...t.pending, pending] }));
    void outbox.put({
      clientId: pending.clientId,
      userId: this.state.me,
      conversationId,
      body,
      createdAt: pending.createdAt,
    });
    // Writing from a window around an older message: back to the newest, where this one goes.
    if (this.state.windows[conversationId]) void this.loadLatest(conversationId);
    this.lastTypingSent.delete(conversationId);
    this.enqueue(pending);
  }

  retry(conversationId: string, clientId: string) {
    const p = this.state.views[conversationId]?.pending.find((x) => x.clientId === clientId);
    if (!p) return;
    const again: PendingMessage = { ...p, status: 'sending' };
    delete again.error;
    this.setView(conversationId, (t) => ({
      ...t,
      pending: t.pending.map((x) => (x.clientId === clientId ? again : x)),
    }));
    this.enqueue(again);
  }

  discard(conversationId: string, clientId: string) {
    void outbox.remove(clientId);
    this.setView(conversationId, (t) => ({ ...t, pending: t.pending.filter((x) => x.clientId !== clientId) }));
  }

  /** One send at a time per conversation, so that messages keep the order they were written in. */
  private enqueue(p: PendingMessage) {
    const prev = this.sendQueues.get(p.conversationId) ?? Promise.resolve();
    const next = prev.then(() => this.deliver(p));
    this.sendQueues.set(p.conversationId, next);
    void next.finally(() => {
      if (this.sendQueues.get(p.conversationId) === next) this.sendQueues.delete(p.conversationId);
    });
  }

  /** Sends until acknowledged; the same clientId on every attempt, so a retry never duplicates. */
  private async deliver(p: PendingMessage) {
    const MAX_ATTEMPTS = 8;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && !this.stopped; attempt++) {
      // Offline, attempts only fail: wait for the network instead (the outbox keeps it meanwhile).
      while (!navigator.onLine && !this.stopped)
        await new Promise((r) => window.addEventListener('online', r, { once: true }));
      if (!this.state.views[p.conversationId]?.pending.some((x) => x.clientId === p.clientId)) return; // discarded or delivered
      try {
        const m = await parley.api.messages.send.mutate({
          conversationId: p.conversationId,
          clientId: p.clientId,
          body: p.body,
          ...(p.replyTo ? { replyToId: p.replyTo.id } : {}),
          ...(p.attachmentIds ? { attachmentIds: p.attachmentIds } : {}),
        });
        void outbox.remove(p.clientId);
        // The answer is the message the event will bring: applied as that event now.
        this.apply({ type: 'message.new', message: m });
        this.setView(p.conversationId, (t) => ({ ...t, pending: t.pending.filter((x) => x.clientId !== p.clientId) }));
        return;
      } catch (err) {
        const code = codeOf(err);
        if (code && PERMANENT.has(code)) {
          this.markFailed(p, messageOf(err));
          return;
        }
        const retryAfter = (err as { data?: { retryAfterMs?: number | null } }).data?.retryAfterMs ?? 0;
        const delay = Math.max(retryAfter, Math.min(500 * 2 ** attempt, 8_000));
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.markFailed(p, i18n.t('chat:pending.checkConnection'));
  }

  private markFailed(p: PendingMessage, error: string) {
    this.setView(p.conversationId, (t) => ({
      ...t,
      pending: t.pending.map((x) => (x.clientId === p.clientId ? { ...x, status: 'failed', error } : x)),
    }));
  }
}

let current: ChatStore | null = null;
export function chatStoreFor(me: string) {
  if (current?.getState().me !== me) {
    current?.stop();
    current = new ChatStore(me);
  }
  return current;
}

export function useChat<T>(store: ChatStore, select: (s: ChatState) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}
