/**
 * The state a client keeps, and the one pure reducer that moves it on by an event:
 * `applyEvent(state, event)` for every event of `messages.onEvent` and `presence.onChange`.
 * No I/O, no clock: the same events in give the same state out (unit tests in test/state.test.ts).
 *
 * Order-independence of typing and messages: a message from X ends X's typing at once, and a
 * typing notice stamped (`at`) no later than X's last message in that conversation is ignored
 * (it was relayed before the message and arrived after it).
 */
import type { Conversation, Message, ParleyEvent, PresenceEvent } from '@parley/protocol';

export interface ClientState {
  me: string;
  conversations: Record<string, Conversation>;
  /** Conversations the user just left or lost. */
  removed: Record<string, true>;
  /** The messages held per conversation, ascending and unique by seq (only conversations whose thread was loaded). */
  threads: Record<string, Message[]>;
  /** conversationId → userId → highest seq that member has read. */
  reads: Record<string, Record<string, number>>;
  /** conversationId → userId → when (server time) they were last seen typing. */
  typing: Record<string, Record<string, string>>;
  /** conversationId → userId → createdAt of their last message seen (for stale typing). */
  lastMessageAt: Record<string, Record<string, string>>;
  presence: Record<string, { online: boolean; lastSeenAt: string | null }>;
}

export const initialState = (me: string): ClientState => ({
  me,
  conversations: {},
  removed: {},
  threads: {},
  reads: {},
  typing: {},
  lastMessageAt: {},
  presence: {},
});

/** Inserts messages into an ascending, seq-unique list (a newer copy of a seq replaces the older). */
export function mergeMessages(list: Message[], incoming: Message[]): Message[] {
  if (incoming.length === 0) return list;
  const bySeq = new Map(list.map((m) => [m.seq, m]));
  for (const m of incoming) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

const without = <T>(record: Record<string, T>, key: string): Record<string, T> => {
  if (!(key in record)) return record;
  const { [key]: _gone, ...rest } = record;
  return rest;
};

function onMessage(state: ClientState, m: Message, isNew: boolean): ClientState {
  const conv = m.conversationId;
  const thread = state.threads[conv];
  const threads = thread ? { ...state.threads, [conv]: mergeMessages(thread, [m]) } : state.threads;
  const typingHere = state.typing[conv] ?? {};
  const typing = m.senderId in typingHere ? { ...state.typing, [conv]: without(typingHere, m.senderId) } : state.typing;
  const seenAt = state.lastMessageAt[conv]?.[m.senderId];
  const lastMessageAt =
    seenAt && seenAt >= m.createdAt
      ? state.lastMessageAt
      : { ...state.lastMessageAt, [conv]: { ...state.lastMessageAt[conv], [m.senderId]: m.createdAt } };
  let conversations = state.conversations;
  const c = state.conversations[conv];
  if (c && isNew && (!c.lastMessage || c.lastMessage.seq < m.seq)) {
    const mine = m.senderId === state.me;
    conversations = {
      ...conversations,
      [conv]: {
        ...c,
        lastMessage: m,
        updatedAt: m.createdAt > c.updatedAt ? m.createdAt : c.updatedAt,
        unreadCount: mine ? 0 : c.unreadCount + 1,
        lastReadSeq: mine ? Math.max(c.lastReadSeq, m.seq) : c.lastReadSeq,
      },
    };
  } else if (c && !isNew && c.lastMessage?.seq === m.seq) {
    conversations = { ...conversations, [conv]: { ...c, lastMessage: m } };
  }
  return { ...state, threads, typing, lastMessageAt, conversations };
}

/** The state after one event. Unknown or irrelevant events leave it as it is (the same object). */
export function applyEvent(state: ClientState, event: ParleyEvent | PresenceEvent): ClientState {
  switch (event.type) {
    case 'message.new':
      return onMessage(state, event.message, true);
    case 'message.updated':
      return onMessage(state, event.message, false);
    case 'message.read': {
      const { conversationId, userId, seq } = event;
      if (userId === state.me) {
        const c = state.conversations[conversationId];
        if (!c || seq <= c.lastReadSeq) return state;
        const lastSeq = c.lastMessage?.seq ?? seq;
        const unreadCount = Math.max(0, Math.min(c.unreadCount, lastSeq - seq));
        return { ...state, conversations: { ...state.conversations, [conversationId]: { ...c, lastReadSeq: seq, unreadCount } } };
      }
      const here = state.reads[conversationId] ?? {};
      if ((here[userId] ?? 0) >= seq) return state;
      return { ...state, reads: { ...state.reads, [conversationId]: { ...here, [userId]: seq } } };
    }
    case 'typing': {
      const { conversationId, userId, at } = event;
      if (userId === state.me) return state;
      const last = state.lastMessageAt[conversationId]?.[userId];
      if (last && at <= last) return state;
      const here = state.typing[conversationId] ?? {};
      if ((here[userId] ?? '') >= at) return state;
      return { ...state, typing: { ...state.typing, [conversationId]: { ...here, [userId]: at } } };
    }
    case 'conversation.updated': {
      const c = event.conversation;
      if (!c.members.some((m) => m.id === state.me)) {
        return {
          ...state,
          conversations: without(state.conversations, c.id),
          threads: without(state.threads, c.id),
          removed: { ...state.removed, [c.id]: true },
        };
      }
      const known = state.conversations[c.id];
      // A snapshot older than what we hold keeps our newer last message.
      const lastMessage = known?.lastMessage && (!c.lastMessage || known.lastMessage.seq > c.lastMessage.seq) ? known.lastMessage : c.lastMessage;
      const reads = { ...state.reads, [c.id]: { ...state.reads[c.id] } };
      for (const r of c.memberReads) if (r.userId !== state.me) reads[c.id]![r.userId] = Math.max(reads[c.id]![r.userId] ?? 0, r.lastReadSeq);
      return {
        ...state,
        conversations: { ...state.conversations, [c.id]: { ...c, lastMessage } },
        removed: without(state.removed, c.id),
        reads,
      };
    }
    case 'call.logged':
      return state;
    case 'snapshot': {
      const presence: ClientState['presence'] = {};
      for (const u of event.users) presence[u.userId] = { online: u.online, lastSeenAt: u.lastSeenAt };
      return { ...state, presence };
    }
    case 'update':
      return { ...state, presence: { ...state.presence, [event.userId]: { online: event.online, lastSeenAt: event.lastSeenAt } } };
  }
}

/** Who is typing in a conversation at `nowMs` (a notice lasts `ttlMs`), the user excluded. */
export function typingIn(state: ClientState, conversationId: string, nowMs: number, ttlMs = 5_000): string[] {
  return Object.entries(state.typing[conversationId] ?? {})
    .filter(([, at]) => Date.parse(at) + ttlMs > nowMs)
    .map(([userId]) => userId);
}
