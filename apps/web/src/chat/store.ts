import { useSyncExternalStore } from 'react';
import { translateIssue } from '../errors';
import { callLogged } from '../calls/history';
import { i18n } from '../i18n';
import { outbox } from '../notifications/offline';
import { cursorCovers } from '@parley/protocol';
import { parley, recheckSession, type RouterOutputs } from '../trpc';

export type Conversation = RouterOutputs['conversations']['byId'];
export type Message = RouterOutputs['messages']['send'];
export type PublicUser = Conversation['members'][number];
type Delivered = RouterOutputs['messages']['onEvent'] extends AsyncIterable<infer T> ? T : RouterOutputs['messages']['onEvent'];
type Tracked = Extract<Delivered, { id: string; data: unknown }>;
export type ChatEvent = Exclude<Delivered, Tracked> | Tracked['data'];

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

export interface Thread {
  items: Message[];
  pending: PendingMessage[];
  loaded: boolean;
  hasMore: boolean;
  loadingOlder: boolean;
  error: string | null;
  /**
   * The items are a window around an older message (a search hit, a quoted message): newer
   * messages exist past the last item, and live ones wait until the reader comes back down.
   */
  hasNewer?: boolean;
}

export interface Presence {
  online: boolean;
  lastSeenAt: string | null;
}

export interface ChatState {
  me: string;
  conversations: Record<string, Conversation>;
  listLoaded: boolean;
  listError: string | null;
  nextCursor: string | null;
  threads: Record<string, Thread>;
  /** conversationId → userId → typing until (ms). */
  typing: Record<string, Record<string, number>>;
  /** conversationId → userId → the highest seq that member has read (from live events). */
  reads: Record<string, Record<string, number>>;
  presence: Record<string, Presence>;
  /** Conversations that the user just left or lost. */
  removed: Record<string, true>;
  live: boolean;
  /** A message to show in its thread once that thread is on screen (a search hit). */
  jump?: { conversationId: string; seq: number } | null;
}

const emptyThread: Thread = { items: [], pending: [], loaded: false, hasMore: false, loadingOlder: false, error: null };
const TYPING_MS = 5_000;
const PERMANENT = new Set(['BAD_REQUEST', 'FORBIDDEN', 'NOT_FOUND', 'PAYLOAD_TOO_LARGE', 'UNAUTHORIZED']);

const codeOf = (err: unknown) => (err as { data?: { code?: string } } | null)?.data?.code;
const messageOf = (err: unknown) => {
  const code = codeOf(err);
  if (code === 'NOT_FOUND') return i18n.t('chat:pending.gone');
  if (code === 'FORBIDDEN') return i18n.t('chat:pending.forbidden');
  if (code === 'PAYLOAD_TOO_LARGE') return i18n.t('chat:pending.tooLong');
  if (code === 'BAD_REQUEST') {
    const issue = (err as { data?: { zodError?: { fieldErrors?: Record<string, string[]> } } }).data?.zodError?.fieldErrors?.body?.[0];
    return issue ? translateIssue(issue) : i18n.t('chat:pending.invalid');
  }
  return i18n.t('chat:pending.notSentDot');
};

export const activity = (c: Conversation) => {
  const t = Date.parse(c.updatedAt);
  const m = c.lastMessage ? Date.parse(c.lastMessage.createdAt) : 0;
  return Math.max(t || 0, m);
};

/** Inserts messages into an ascending, seq-unique list. */
function mergeMessages(list: Message[], incoming: Message[]): Message[] {
  if (incoming.length === 0) return list;
  const bySeq = new Map(list.map((m) => [m.seq, m]));
  for (const m of incoming) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * The messenger's live state: conversations, threads, typing, reads and presence, kept current by
 * the `messages.onEvent` subscription (resumed with the last event id) and optimistic sends.
 */
export class ChatStore {
  private state: ChatState;
  private listeners = new Set<() => void>();
  private lastEventId: string | null = null;
  private eventSub: { unsubscribe(): void } | null = null;
  private presenceSub: { unsubscribe(): void } | null = null;
  private restartTimers: Partial<Record<'events' | 'presence', ReturnType<typeof setTimeout>>> = {};
  private typingTimer: ReturnType<typeof setInterval> | undefined;
  private sendQueues = new Map<string, Promise<void>>();
  private fetchingConversation = new Set<string>();
  private stopped = false;
  /** The conversation on screen, read as messages arrive (while the page is visible). */
  focused: string | null = null;

  constructor(me: string) {
    this.state = {
      me,
      conversations: {},
      listLoaded: false,
      listError: null,
      nextCursor: null,
      threads: {},
      typing: {},
      reads: {},
      presence: {},
      removed: {},
      live: false,
    };
  }

  // ---- React binding ----
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  };
  getState = () => this.state;
  private set(patch: Partial<ChatState>) {
    this.state = { ...this.state, ...patch };
    this.listeners.forEach((l) => l());
  }
  private setThread(id: string, update: (t: Thread) => Thread) {
    const current = this.state.threads[id] ?? emptyThread;
    this.set({ threads: { ...this.state.threads, [id]: update(current) } });
  }
  private putConversation(c: Conversation) {
    const { [c.id]: _gone, ...removed } = this.state.removed;
    this.set({ conversations: { ...this.state.conversations, [c.id]: c }, removed, reads: this.mergeReads([c]) });
  }
  /**
   * The others' read positions the server holds (after a reload, the only source), never moving
   * back; and each one's last message, for stale typing.
   */
  private mergeReads(list: Conversation[]): ChatState['reads'] {
    let reads = this.state.reads;
    for (const c of list) {
      if (c.lastMessage) this.noteMessage(c.lastMessage);
      const known = reads[c.id] ?? {};
      let next: Record<string, number> | null = null;
      for (const r of c.memberReads ?? []) {
        if (r.userId === this.state.me || (known[r.userId] ?? 0) >= r.lastReadSeq) continue;
        (next ??= { ...known })[r.userId] = r.lastReadSeq;
      }
      if (next) reads = { ...reads, [c.id]: next };
    }
    return reads;
  }
  /** conversationId → userId → createdAt of their latest message seen here (to drop stale typing). */
  private lastMessageAt = new Map<string, Map<string, string>>();
  private noteMessage(m: Message) {
    let forConv = this.lastMessageAt.get(m.conversationId);
    if (!forConv) this.lastMessageAt.set(m.conversationId, (forConv = new Map()));
    const prev = forConv.get(m.senderId);
    if (!prev || Date.parse(prev) < Date.parse(m.createdAt)) forConv.set(m.senderId, m.createdAt);
  }

  // ---- lifecycle ----
  start() {
    this.stopped = false;
    this.subscribeEvents();
    this.subscribePresence();
    void this.loadConversations();
    this.typingTimer = setInterval(() => this.expireTyping(), 1_000);
    document.addEventListener('visibilitychange', this.onVisible);
    void this.restoreOutbox();
  }
  /** Messages written before a reload or while offline: sent again with their own clientId (never twice). */
  private async restoreOutbox() {
    for (const item of await outbox.of(this.state.me)) {
      if (this.stopped || this.state.threads[item.conversationId]?.pending.some((p) => p.clientId === item.clientId)) continue;
      const pending: PendingMessage = { ...item, status: 'sending' };
      this.setThread(item.conversationId, (t) => ({ ...t, pending: [...t.pending, pending] }));
      this.enqueue(pending);
    }
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.restartTimers.events);
    clearTimeout(this.restartTimers.presence);
    clearInterval(this.typingTimer);
    this.eventSub?.unsubscribe();
    this.presenceSub?.unsubscribe();
    document.removeEventListener('visibilitychange', this.onVisible);
  }
  private onVisible = () => {
    if (document.visibilityState === 'visible' && this.focused) this.markRead(this.focused);
  };

  /** Reconnects the subscriptions, e.g. after the socket was replaced. */
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
      if (which === 'events') this.subscribeEvents();
      else this.subscribePresence();
    }, 1_000);
  }

  private subscribeEvents() {
    this.eventSub?.unsubscribe();
    const input = this.lastEventId ? { lastEventId: this.lastEventId } : undefined;
    this.eventSub = parley.api.messages.onEvent.subscribe(input, {
      onStarted: () => {
        this.set({ live: true });
        // After a gap, catch the list up too (cheap, and covers events that predate our cursor).
        if (this.state.listLoaded) void this.loadConversations();
      },
      onData: (envelope) => {
        if (typeof envelope === 'object' && envelope !== null && 'id' in envelope && 'data' in envelope) {
          // The cursor is opaque: cursorCovers tells an event already seen.
          if (this.lastEventId !== null && cursorCovers(this.lastEventId, envelope.id)) return;
          this.lastEventId = envelope.id;
          if (envelope.data.type === 'resync') this.resync();
          else this.apply(envelope.data);
        } else this.apply(envelope as ChatEvent);
      },
      onError: (err) => {
        this.set({ live: false });
        this.restartAfter(err, 'events');
      },
      onComplete: () => {
        this.set({ live: false });
        this.scheduleRestart('events');
      },
    });
  }

  private subscribePresence() {
    this.presenceSub?.unsubscribe();
    this.presenceSub = parley.api.presence.onChange.subscribe(undefined, {
      onData: (e) => {
        if (e.type === 'snapshot') {
          const presence: Record<string, Presence> = {};
          for (const u of e.users) presence[u.userId] = { online: u.online, lastSeenAt: u.lastSeenAt };
          this.set({ presence });
        } else if (e.type === 'update') {
          this.set({ presence: { ...this.state.presence, [e.userId]: { online: e.online, lastSeenAt: e.lastSeenAt } } });
        }
      },
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
    for (const [id, thread] of Object.entries(this.state.threads)) if (thread.loaded) void this.loadLatest(id);
  }

  private apply(event: ChatEvent) {
    switch (event.type) {
      case 'message.new':
        this.onMessage(event.message);
        break;
      case 'message.updated':
        this.patchMessage(event.message);
        break;
      case 'message.read': {
        const { conversationId, userId, seq } = event;
        if (userId === this.state.me) {
          const c = this.state.conversations[conversationId];
          if (c && seq > c.lastReadSeq) {
            const lastSeq = c.lastMessage?.seq ?? seq;
            this.putConversation({ ...c, lastReadSeq: seq, unreadCount: Math.max(0, Math.min(c.unreadCount, lastSeq - seq)) });
          }
        } else {
          const forConv = this.state.reads[conversationId] ?? {};
          if ((forConv[userId] ?? 0) < seq)
            this.set({ reads: { ...this.state.reads, [conversationId]: { ...forConv, [userId]: seq } } });
        }
        break;
      }
      case 'typing': {
        if (event.userId === this.state.me) break;
        // Typing that reaches us after the message it preceded (a slower path) is over already.
        const lastAt = this.lastMessageAt.get(event.conversationId)?.get(event.userId);
        if (lastAt && event.at && Date.parse(event.at) <= Date.parse(lastAt)) break;
        const forConv = this.state.typing[event.conversationId] ?? {};
        this.set({
          typing: { ...this.state.typing, [event.conversationId]: { ...forConv, [event.userId]: Date.now() + TYPING_MS } },
        });
        break;
      }
      case 'call.logged':
        // A call ended (replayed after a gap like messages): the timeline's entry.
        callLogged(this.state.me, event.call);
        break;
      case 'conversation.updated': {
        const c = event.conversation;
        if (!c.members.some((m) => m.id === this.state.me)) {
          const { [c.id]: _gone, ...rest } = this.state.conversations;
          this.set({ conversations: rest, removed: { ...this.state.removed, [c.id]: true } });
        } else {
          this.putConversation(c);
          // Membership and titles are rare changes: confirm them with a fresh read.
          void this.fetchConversation(c.id);
        }
        break;
      }
    }
  }

  private onMessage(m: Message) {
    const { me } = this.state;
    this.noteMessage(m);
    // The thread, when we hold one.
    const thread = this.state.threads[m.conversationId];
    if (thread?.loaded && !thread.hasNewer) {
      const last = thread.items.at(-1);
      const gap = last !== undefined && m.seq > last.seq + 1;
      this.setThread(m.conversationId, (t) => ({
        ...t,
        items: mergeMessages(t.items, [m]),
        pending: t.pending.filter((p) => p.clientId !== m.clientId || m.senderId !== me),
      }));
      if (gap) void this.loadLatest(m.conversationId);
    }
    // Whoever sent it has stopped typing.
    const typing = this.state.typing[m.conversationId];
    if (typing?.[m.senderId]) {
      const { [m.senderId]: _t, ...rest } = typing;
      this.set({ typing: { ...this.state.typing, [m.conversationId]: rest } });
    }
    // The list.
    const c = this.state.conversations[m.conversationId];
    if (!c) {
      void this.fetchConversation(m.conversationId);
      return;
    }
    if (c.lastMessage && c.lastMessage.seq >= m.seq) return;
    const mine = m.senderId === me;
    const unread = mine ? c.unreadCount : c.unreadCount + 1;
    this.putConversation({
      ...c,
      lastMessage: m,
      updatedAt: m.createdAt > c.updatedAt ? m.createdAt : c.updatedAt,
      unreadCount: mine ? 0 : unread,
      lastReadSeq: mine ? Math.max(c.lastReadSeq, m.seq) : c.lastReadSeq,
    });
    if (!mine && this.focused === m.conversationId) this.markRead(m.conversationId);
  }

  private expireTyping() {
    const now = Date.now();
    let changed = false;
    const typing: ChatState['typing'] = {};
    for (const [conv, users] of Object.entries(this.state.typing)) {
      const kept: Record<string, number> = {};
      for (const [u, until] of Object.entries(users)) {
        if (until > now) kept[u] = until;
        else changed = true;
      }
      typing[conv] = kept;
    }
    if (changed) this.set({ typing });
  }

  // ---- loading ----
  async loadConversations() {
    try {
      const first = await parley.api.conversations.list.query({ limit: 50 });
      const conversations = { ...this.state.conversations };
      for (const c of first.items) {
        const known = conversations[c.id];
        if (!known || (known.lastMessage?.seq ?? 0) <= (c.lastMessage?.seq ?? 0)) conversations[c.id] = c;
      }
      this.set({ conversations, listLoaded: true, listError: null, nextCursor: first.nextCursor, reads: this.mergeReads(first.items) });
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
    const conversations = { ...this.state.conversations };
    for (const c of page.items) conversations[c.id] ??= c;
    this.set({ conversations, nextCursor: page.nextCursor, reads: this.mergeReads(page.items) });
  }

  async fetchConversation(id: string) {
    if (this.fetchingConversation.has(id)) return;
    this.fetchingConversation.add(id);
    try {
      this.putConversation(await parley.api.conversations.byId.query({ id }));
    } catch (err) {
      if (codeOf(err) === 'NOT_FOUND') this.set({ removed: { ...this.state.removed, [id]: true } });
    } finally {
      this.fetchingConversation.delete(id);
    }
  }

  adopt(c: Conversation) {
    this.putConversation(c);
  }
  forget(id: string) {
    const { [id]: _gone, ...rest } = this.state.conversations;
    this.set({ conversations: rest, removed: { ...this.state.removed, [id]: true } });
  }

  async openThread(id: string) {
    const t = this.state.threads[id];
    if (t?.loaded) {
      // Catch up anything that may have passed while we held it in the background.
      void this.loadLatest(id);
      return;
    }
    await this.loadLatest(id);
  }

  /** The newest page; from a window around an older message, back to the newest. */
  async loadLatest(id: string) {
    const generation = this.windows.get(id) ?? 0;
    try {
      const page = await parley.api.messages.list.query({ conversationId: id, limit: 50 });
      // A jump to an older message happened meanwhile: its window wins.
      if ((this.windows.get(id) ?? 0) !== generation) return;
      this.setThread(id, (t) => {
        if (t.hasNewer) return { ...t, items: page.items, hasMore: page.hasMore, hasNewer: false, loaded: true, error: null };
        const items = mergeMessages(t.items, page.items);
        for (const m of page.items) this.noteMessage(m);
        const confirmed = new Set(items.map((m) => m.clientId));
        return {
          ...t,
          items,
          pending: t.pending.filter((p) => !confirmed.has(p.clientId)),
          loaded: true,
          hasMore: t.loaded ? t.hasMore || (page.hasMore && t.items.length === 0) : page.hasMore,
          error: null,
        };
      });
      if (this.focused === id) this.markRead(id);
    } catch (err) {
      this.setThread(id, (t) => ({
        ...t,
        error: codeOf(err) === 'NOT_FOUND' ? i18n.t('chat:thread.notAvailable') : i18n.t('chat:thread.loadError'),
      }));
    }
  }

  async loadOlder(id: string) {
    const t = this.state.threads[id];
    if (!t || !t.loaded || !t.hasMore || t.loadingOlder) return;
    const first = t.items[0];
    if (!first) return;
    this.setThread(id, (x) => ({ ...x, loadingOlder: true }));
    try {
      const page = await parley.api.messages.list.query({ conversationId: id, beforeSeq: first.seq, limit: 50 });
      this.setThread(id, (x) => ({ ...x, items: mergeMessages(x.items, page.items), hasMore: page.hasMore, loadingOlder: false }));
    } catch {
      this.setThread(id, (x) => ({ ...x, loadingOlder: false, error: i18n.t('chat:thread.olderError') }));
    }
  }

  // ---- rich messages (edits, deletes, reactions, jumping to a message) ----
  /**
   * A message changed (edited, deleted, reacted to): the thread's copy, the quotes of the replies
   * to it and the list's preview follow.
   */
  patchMessage(m: Message) {
    const thread = this.state.threads[m.conversationId];
    if (thread?.loaded) {
      const excerpt = m.deletedAt ? null : m.body.slice(0, 200);
      const touches = thread.items.some((x) => x.id === m.id || x.replyTo?.id === m.id);
      if (touches)
        this.setThread(m.conversationId, (t) => ({
          ...t,
          items: t.items.map((x) =>
            x.id === m.id ? m : x.replyTo?.id === m.id ? { ...x, replyTo: { ...x.replyTo, excerpt } } : x,
          ),
        }));
    }
    const c = this.state.conversations[m.conversationId];
    if (c?.lastMessage?.id === m.id) this.putConversation({ ...c, lastMessage: m });
  }

  /**
   * Shows `seq` in its thread: at once when it is loaded, otherwise a window of history around it
   * (messages.list with beforeSeq and afterSeq). False when there is no such message.
   */
  async showMessage(conversationId: string, seq: number): Promise<boolean> {
    const t = this.state.threads[conversationId];
    if (t?.loaded && t.items.some((m) => m.seq === seq)) return true;
    this.windows.set(conversationId, (this.windows.get(conversationId) ?? 0) + 1);
    try {
      const [before, after] = await Promise.all([
        parley.api.messages.list.query({ conversationId, beforeSeq: seq + 1, limit: 30 }),
        parley.api.messages.list.query({ conversationId, afterSeq: seq, limit: 30 }),
      ]);
      if (!before.items.some((m) => m.seq === seq)) return false;
      this.setThread(conversationId, (x) => ({
        ...x,
        items: [...before.items, ...after.items],
        hasMore: before.hasMore,
        hasNewer: after.hasMore,
        loaded: true,
        error: null,
      }));
      return true;
    } catch {
      return false;
    }
  }

  /** Bumped by every jump to a window, so that a newest page asked for earlier does not replace it. */
  private windows = new Map<string, number>();

  requestJump(conversationId: string, seq: number) {
    this.set({ jump: { conversationId, seq } });
  }
  clearJump() {
    if (this.state.jump) this.set({ jump: null });
  }

  /** From a window around an older message: the next newer page. */
  async loadNewer(id: string) {
    const t = this.state.threads[id];
    const last = t?.items.at(-1);
    if (!t?.hasNewer || !last || t.loadingOlder) return;
    try {
      const page = await parley.api.messages.list.query({ conversationId: id, afterSeq: last.seq, limit: 50 });
      this.setThread(id, (x) => ({ ...x, items: mergeMessages(x.items, page.items), hasNewer: page.hasMore }));
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
    this.patchMessage(await (mine ? parley.api.messages.unreact.mutate(input) : parley.api.messages.react.mutate(input)));
  }

  // ---- actions ----
  private readInFlight = new Map<string, number>();
  markRead(id: string) {
    if (document.visibilityState !== 'visible') return;
    const c = this.state.conversations[id];
    const t = this.state.threads[id];
    const latest = Math.max(c?.lastMessage?.seq ?? 0, t?.items.at(-1)?.seq ?? 0);
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
    this.setThread(conversationId, (t) => ({ ...t, pending: [...t.pending, pending] }));
    void outbox.put({ clientId: pending.clientId, userId: this.state.me, conversationId, body, createdAt: pending.createdAt });
    // Writing from a window around an older message: back to the newest, where this one goes.
    if (this.state.threads[conversationId]?.hasNewer) void this.loadLatest(conversationId);
    this.lastTypingSent.delete(conversationId);
    this.enqueue(pending);
  }

  retry(conversationId: string, clientId: string) {
    const p = this.state.threads[conversationId]?.pending.find((x) => x.clientId === clientId);
    if (!p) return;
    const again: PendingMessage = { ...p, status: 'sending' };
    delete again.error;
    this.setThread(conversationId, (t) => ({ ...t, pending: t.pending.map((x) => (x.clientId === clientId ? again : x)) }));
    this.enqueue(again);
  }

  discard(conversationId: string, clientId: string) {
    void outbox.remove(clientId);
    this.setThread(conversationId, (t) => ({ ...t, pending: t.pending.filter((x) => x.clientId !== clientId) }));
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
      while (!navigator.onLine && !this.stopped) await new Promise((r) => window.addEventListener('online', r, { once: true }));
      if (!this.state.threads[p.conversationId]?.pending.some((x) => x.clientId === p.clientId)) return; // discarded or delivered
      try {
        const m = await parley.api.messages.send.mutate({
          conversationId: p.conversationId,
          clientId: p.clientId,
          body: p.body,
          ...(p.replyTo ? { replyToId: p.replyTo.id } : {}),
          ...(p.attachmentIds ? { attachmentIds: p.attachmentIds } : {}),
        });
        void outbox.remove(p.clientId);
        this.onMessage(m);
        this.setThread(p.conversationId, (t) => ({
          ...t,
          items: t.loaded && !t.hasNewer ? mergeMessages(t.items, [m]) : t.items,
          pending: t.pending.filter((x) => x.clientId !== p.clientId),
        }));
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
    this.setThread(p.conversationId, (t) => ({
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
