import { useSyncExternalStore } from 'react';
import { parley, type RouterOutputs } from '../trpc';

type Call = RouterOutputs['calls']['history'][number];

/**
 * The calls of each conversation, for its timeline (ended calls) and its "a call is on" banner
 * (a live group call). Loaded with `calls.history` when a chat opens, then kept current by the
 * call events and by the tracked `call.logged` event of the message stream (so a call that
 * ended while this device was away shows up when it resumes, like a message).
 */
export class CallHistory {
  private byConversation: Record<string, Call[]> = {};
  private loading = new Set<string>();
  private listeners = new Set<() => void>();

  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  };
  get = (conversationId: string): Call[] | undefined => this.byConversation[conversationId];

  /** A call's newest state (from any event); keeps each conversation's list in start order. */
  put(call: Call) {
    const list = this.byConversation[call.conversationId];
    if (!list) {
      // Not loaded yet: the load will bring it; remember it meanwhile so a live call shows.
      this.byConversation = { ...this.byConversation, [call.conversationId]: [call] };
    } else {
      const rest = list.filter((c) => c.id !== call.id);
      const next = [...rest, call].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      this.byConversation = { ...this.byConversation, [call.conversationId]: next };
    }
    for (const l of this.listeners) l();
  }

  async load(conversationId: string) {
    if (this.loading.has(conversationId)) return;
    this.loading.add(conversationId);
    try {
      const items = await parley.api.calls.history.query({ conversationId, limit: 50 });
      const known = this.byConversation[conversationId] ?? [];
      const merged = new Map(items.map((c) => [c.id, c]));
      // An event newer than the page (a call that ended meanwhile) wins.
      for (const c of known) if (!merged.has(c.id) || c.state === 'ended') merged.set(c.id, c);
      const list = [...merged.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      this.byConversation = { ...this.byConversation, [conversationId]: list };
      for (const l of this.listeners) l();
    } catch {
      /* the timeline simply shows no calls; the next open tries again */
    } finally {
      this.loading.delete(conversationId);
    }
  }
}

const EMPTY: Call[] = [];
let current: { me: string; history: CallHistory } | null = null;
export function callHistoryFor(me: string) {
  if (current?.me !== me) current = { me, history: new CallHistory() };
  return current.history;
}
/** Called by the chat store for `call.logged` events of the message stream. */
export function callLogged(me: string, call: Call) {
  callHistoryFor(me).put(call);
}

export function useCallHistory(history: CallHistory, conversationId: string): Call[] {
  return useSyncExternalStore(history.subscribe, () => history.get(conversationId) ?? EMPTY);
}
