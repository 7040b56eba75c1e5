/**
 * The state a client keeps, and the one pure reducer that moves it on by an event:
 * `applyEvent(state, event)` for every event of `messages.onEvent` and `presence.onChange`.
 * No I/O, no clock: the same events in give the same state out (unit tests in test/state.test.ts).
 *
 * Order-independence of typing and messages: a message from X ends X's typing at once, and a
 * typing notice stamped (`at`) no later than X's last message in that conversation is ignored
 * (it was relayed before the message and arrived after it).
 */
import type { Conversation, GroupChange, Message, ParleyEvent, PresenceEvent } from '@parley/protocol';

export interface ClientState {
  me: string;
  conversations: Record<string, Conversation>;
  /** Conversations the user just left or lost. */
  removed: Record<string, true>;
  /** The messages held per conversation, ascending and unique by seq (only conversations whose thread was loaded). */
  threads: Record<string, Message[]>;
  /**
   * Threads that hold a window around an older message (a search hit, a quote): newer messages
   * exist past its end, so a new message is not appended to it (it would hide the gap).
   */
  windows: Record<string, true>;
  /** A group's timeline entries among the held messages (created, renamed, added, left), in timeline order. */
  changes: Record<string, GroupChange[]>;
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
  windows: {},
  changes: {},
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

/** Inserts timeline entries into a list in timeline order (after message `afterSeq`), unique by id. */
export function mergeChanges(list: GroupChange[], incoming: GroupChange[]): GroupChange[] {
  if (incoming.length === 0) return list;
  const byId = new Map(list.map((c) => [c.id, c]));
  for (const c of incoming) byId.set(c.id, c);
  return [...byId.values()].sort(
    (a, b) => a.afterSeq - b.afterSeq || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
  );
}

const without = <T>(record: Record<string, T>, key: string): Record<string, T> => {
  if (!(key in record)) return record;
  const { [key]: _gone, ...rest } = record;
  return rest;
};

/** Notes `m` as its sender's latest message in its conversation (for stale typing). */
function noteMessage(lastMessageAt: ClientState['lastMessageAt'], m: Message): ClientState['lastMessageAt'] {
  const seenAt = lastMessageAt[m.conversationId]?.[m.senderId];
  if (seenAt && seenAt >= m.createdAt) return lastMessageAt;
  return { ...lastMessageAt, [m.conversationId]: { ...lastMessageAt[m.conversationId], [m.senderId]: m.createdAt } };
}

function onNewMessage(state: ClientState, m: Message): ClientState {
  const conv = m.conversationId;
  const thread = state.threads[conv];
  const threads =
    thread && !state.windows[conv] ? { ...state.threads, [conv]: mergeMessages(thread, [m]) } : state.threads;
  const typingHere = state.typing[conv] ?? {};
  const typing = m.senderId in typingHere ? { ...state.typing, [conv]: without(typingHere, m.senderId) } : state.typing;
  const lastMessageAt = noteMessage(state.lastMessageAt, m);
  let conversations = state.conversations;
  const c = state.conversations[conv];
  if (c && (!c.lastMessage || c.lastMessage.seq < m.seq)) {
    const mine = m.senderId === state.me;
    conversations = {
      ...conversations,
      [conv]: {
        ...c,
        lastMessage: m,
        // biome-ignore lint/complexity/useMathMinMax: ISO timestamps, compared as strings (Math.max would give NaN)
        updatedAt: m.createdAt > c.updatedAt ? m.createdAt : c.updatedAt,
        unreadCount: mine ? 0 : c.unreadCount + 1,
        lastReadSeq: mine ? Math.max(c.lastReadSeq, m.seq) : c.lastReadSeq,
      },
    };
  }
  return { ...state, threads, typing, lastMessageAt, conversations };
}

/** The quote a reply shows of `m`, as the server builds it (SQL `left`: code points; null once deleted). */
const excerptOf = (m: Message) => (m.deletedAt ? null : [...m.body].slice(0, EXCERPT_LENGTH).join(''));
const EXCERPT_LENGTH = 200;

/**
 * An edit, a delete or a reaction: the held copy and the quotes of the replies to it follow. A
 * message the thread does not hold is not added (it may lie outside the loaded pages).
 */
function onChangedMessage(state: ClientState, m: Message): ClientState {
  const conv = m.conversationId;
  const thread = state.threads[conv];
  let threads = state.threads;
  if (thread?.some((x) => x.id === m.id || x.replyTo?.id === m.id)) {
    const excerpt = excerptOf(m);
    threads = {
      ...threads,
      [conv]: thread.map((x) =>
        x.id === m.id ? m : x.replyTo?.id === m.id ? { ...x, replyTo: { ...x.replyTo, excerpt } } : x,
      ),
    };
  }
  const c = state.conversations[conv];
  const conversations =
    c?.lastMessage?.id === m.id ? { ...state.conversations, [conv]: { ...c, lastMessage: m } } : state.conversations;
  if (threads === state.threads && conversations === state.conversations) return state;
  return { ...state, threads, conversations };
}

/**
 * A conversation as a query or a `conversation.updated` event gives it: replaces the held one
 * (keeping a newer last message than the snapshot's), and brings the others' read positions,
 * which never move back (after a reload, the only source of "Seen").
 */
export function putConversation(state: ClientState, c: Conversation): ClientState {
  if (!c.members.some((m) => m.id === state.me)) return dropConversation(state, c.id);
  const known = state.conversations[c.id];
  // A snapshot older than what we hold keeps our newer last message (and the count that goes with it).
  const newer = known?.lastMessage && (!c.lastMessage || known.lastMessage.seq > c.lastMessage.seq) ? known : null;
  const conversation = newer
    ? {
        ...c,
        lastMessage: newer.lastMessage,
        unreadCount: newer.unreadCount,
        updatedAt: newer.updatedAt,
        lastReadSeq: Math.max(newer.lastReadSeq, c.lastReadSeq),
      }
    : c;
  const lastMessage = conversation.lastMessage;
  let reads = state.reads;
  for (const r of c.memberReads) {
    if (r.userId === state.me || (reads[c.id]?.[r.userId] ?? 0) >= r.lastReadSeq) continue;
    reads = { ...reads, [c.id]: { ...reads[c.id], [r.userId]: r.lastReadSeq } };
  }
  return {
    ...state,
    conversations: { ...state.conversations, [c.id]: conversation },
    removed: without(state.removed, c.id),
    reads,
    lastMessageAt: lastMessage ? noteMessage(state.lastMessageAt, lastMessage) : state.lastMessageAt,
  };
}

/** The user left or lost the conversation (or it is gone): it leaves the list, marked removed. */
export function dropConversation(state: ClientState, id: string): ClientState {
  return {
    ...state,
    conversations: without(state.conversations, id),
    threads: without(state.threads, id),
    changes: without(state.changes, id),
    windows: without(state.windows, id),
    removed: { ...state.removed, [id]: true },
  };
}

/**
 * Messages a query loaded (a page of history), merged into the thread, which this makes held;
 * `replace` puts them in its place. `window: true` marks the thread as a window around an older
 * message (newer ones exist past it), `window: false` as reaching the newest again.
 */
export function putHistory(
  state: ClientState,
  conversationId: string,
  items: Message[],
  opts: { replace?: boolean; window?: boolean; changes?: GroupChange[] } = {},
): ClientState {
  const thread = opts.replace ? items : mergeMessages(state.threads[conversationId] ?? [], items);
  const given = opts.changes ?? [];
  const changes = opts.replace ? given : mergeChanges(state.changes[conversationId] ?? [], given);
  let lastMessageAt = state.lastMessageAt;
  for (const m of items) lastMessageAt = noteMessage(lastMessageAt, m);
  const windows =
    opts.window === true
      ? { ...state.windows, [conversationId]: true as const }
      : opts.window === false
        ? without(state.windows, conversationId)
        : state.windows;
  return {
    ...state,
    threads: { ...state.threads, [conversationId]: thread },
    changes: { ...state.changes, [conversationId]: changes },
    windows,
    lastMessageAt,
  };
}

/** A typing notice ran out (the client's timer): gone, unless a newer one (`at`) replaced it. */
export function endTyping(state: ClientState, conversationId: string, userId: string, at: string): ClientState {
  const here = state.typing[conversationId];
  if (here?.[userId] !== at) return state;
  return { ...state, typing: { ...state.typing, [conversationId]: without(here, userId) } };
}

/** The state after one event. Unknown or irrelevant events leave it as it is (the same object). */
export function applyEvent(state: ClientState, event: ParleyEvent | PresenceEvent): ClientState {
  switch (event.type) {
    case 'message.new':
      return onNewMessage(state, event.message);
    case 'message.updated':
      return onChangedMessage(state, event.message);
    case 'message.read': {
      const { conversationId, userId, seq } = event;
      if (userId === state.me) {
        const c = state.conversations[conversationId];
        if (!c || seq <= c.lastReadSeq) return state;
        const lastSeq = c.lastMessage?.seq ?? seq;
        const unreadCount = Math.max(0, Math.min(c.unreadCount, lastSeq - seq));
        return {
          ...state,
          conversations: { ...state.conversations, [conversationId]: { ...c, lastReadSeq: seq, unreadCount } },
        };
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
    case 'conversation.updated':
      return putConversation(state, event.conversation);
    case 'call.logged':
      return state;
    case 'group.changed': {
      // Like a new message: into a held thread that reaches the newest (a window ends earlier).
      const id = event.change.conversationId;
      if (!state.threads[id] || state.windows[id]) return state;
      return { ...state, changes: { ...state.changes, [id]: mergeChanges(state.changes[id] ?? [], [event.change]) } };
    }
    case 'snapshot': {
      const presence: ClientState['presence'] = {};
      for (const u of event.users) presence[u.userId] = { online: u.online, lastSeenAt: u.lastSeenAt };
      return { ...state, presence };
    }
    case 'update':
      return {
        ...state,
        presence: { ...state.presence, [event.userId]: { online: event.online, lastSeenAt: event.lastSeenAt } },
      };
  }
}

/** Who is typing in a conversation at `nowMs` (a notice lasts `ttlMs`), the user excluded. */
export function typingIn(state: ClientState, conversationId: string, nowMs: number, ttlMs = 5_000): string[] {
  return Object.entries(state.typing[conversationId] ?? {})
    .filter(([, at]) => Date.parse(at) + ttlMs > nowMs)
    .map(([userId]) => userId);
}
